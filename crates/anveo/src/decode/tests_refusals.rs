//! Every refusal of every action, with its code and its text
//! (integration tests match on these texts).

use didgate_core::ErrorCode;

use super::tests::{command, decoded, error};

/// `(action, params, code, message)` for every refusal of every action.
type Refusal = (
    &'static str,
    &'static [(&'static str, &'static str)],
    ErrorCode,
    &'static str,
);

const MISSING: ErrorCode = ErrorCode::MissingParameter;
const INVALID: ErrorCode = ErrorCode::InvalidParameter;

const CATALOG_REFUSALS: &[Refusal] = &[
    (
        "ANVEO.COUNTRIES.LIST",
        &[("DID_TYPE", "LOCAL")],
        INVALID,
        "parameter DID_TYPE must be one of GEOGRAPHIC, NATIONAL, TOLLFREE, MOBILE",
    ),
    (
        "ANVEO.STATES.LIST",
        &[],
        MISSING,
        "missing parameter COUNTRY_ID",
    ),
    (
        "ANVEO.STATES.LIST",
        &[("COUNTRY_ID", " ")],
        MISSING,
        "missing parameter COUNTRY_ID",
    ),
    (
        "ANVEO.STATES.LIST",
        &[("COUNTRY_ID", "USA")],
        INVALID,
        "parameter COUNTRY_ID must be a two-letter ISO country code",
    ),
    (
        "ANVEO.AREAS.LIST",
        &[("DID_TYPE", "LOCAL")],
        MISSING,
        "give COUNTRY_ID or STATE_ID",
    ),
    (
        "ANVEO.AREAS.LIST",
        &[("COUNTRY_ID", "1")],
        INVALID,
        "parameter COUNTRY_ID must be a two-letter ISO country code",
    ),
    (
        "ANVEO.AREAS.LIST",
        &[("STATE_ID", "US-NY"), ("DID_TYPE", "x")],
        INVALID,
        "parameter DID_TYPE must be one of GEOGRAPHIC, NATIONAL, TOLLFREE, MOBILE",
    ),
    (
        "DID.SEARCH",
        &[],
        MISSING,
        "give AREA_ID, or COUNTRY_ID with AREA_CODE",
    ),
    (
        "DID.SEARCH",
        &[("COUNTRY_ID", "US")],
        MISSING,
        "give AREA_ID, or COUNTRY_ID with AREA_CODE",
    ),
    (
        "DID.SEARCH",
        &[("AREA_ID", "a"), ("AREA_CODE", "212")],
        INVALID,
        "parameter AREA_ID cannot be combined with COUNTRY_ID and AREA_CODE: give one or the other",
    ),
    (
        "DID.SEARCH",
        &[("AREA_ID", "a b")],
        INVALID,
        "parameter AREA_ID must be 1 to 64 visible characters",
    ),
    (
        "DID.SEARCH",
        &[("COUNTRY_ID", "US"), ("AREA_CODE", "21a")],
        INVALID,
        "parameter AREA_CODE must be 1 to 10 digits",
    ),
    (
        "DID.SEARCH",
        &[("AREA_ID", "a"), ("LIMIT", "0")],
        INVALID,
        "parameter LIMIT must be a whole number from 1 to 100",
    ),
    (
        "DID.SEARCH",
        &[("AREA_ID", "a"), ("LIMIT", "4294967296")],
        INVALID,
        "parameter LIMIT must be a whole number from 1 to 100",
    ),
    (
        "DID.SEARCH",
        &[("AREA_ID", "a"), ("CONTAINS", "12-3")],
        INVALID,
        "parameter CONTAINS must be digits, letters or * only",
    ),
];

const ORDER_REFUSALS: &[Refusal] = &[
    (
        "DID.RESERVE",
        &[],
        MISSING,
        "give AREA_ID with QUANTITY, or E164",
    ),
    (
        "DID.RESERVE",
        &[("AREA_ID", "a")],
        MISSING,
        "missing parameter QUANTITY",
    ),
    (
        "DID.RESERVE",
        &[("E164", "12121111111"), ("QUANTITY", "2")],
        INVALID,
        "parameter QUANTITY only applies with AREA_ID",
    ),
    (
        "DID.RESERVE",
        &[("E164", "12121111111"), ("AREA_ID", "a")],
        INVALID,
        "parameter E164 cannot be combined with AREA_ID: give one or the other",
    ),
    (
        "DID.RESERVE",
        &[("AREA_ID", "a"), ("QUANTITY", "101")],
        INVALID,
        "parameter QUANTITY must be a whole number from 1 to 100",
    ),
    (
        "DID.RESERVE",
        &[("E164", "1212x")],
        INVALID,
        "parameter E164 1212x: must be 7 to 15 digits",
    ),
    (
        "DID.RESERVE",
        &[("E164", "12125550001,12125550001")],
        INVALID,
        "parameter E164 lists 12125550001 twice",
    ),
    (
        "DID.RESERVE",
        &[("E164", "12121111111"), ("RESERVATION_ID", "rsv_x")],
        INVALID,
        "parameter RESERVATION_ID must be a reservation id as DID.RESERVE returned it",
    ),
    (
        "DID.RESERVE",
        &[("E164", "12121111111"), ("MINUTES", "61")],
        INVALID,
        "parameter MINUTES must be a whole number from 1 to 60",
    ),
    (
        "DID.RESERVE",
        &[("E164", "12121111111"), ("ACCOUNT_NUMBER", "123")],
        INVALID,
        "parameter ACCOUNT_NUMBER must be 10 digits",
    ),
    (
        "DID.RESERVE.CANCEL",
        &[],
        MISSING,
        "missing parameter RESERVATION_ID",
    ),
    (
        "DID.RESERVE.CANCEL",
        &[("RESERVATION_ID", "CURRENT")],
        INVALID,
        "parameter RESERVATION_ID must be a reservation id as DID.RESERVE returned it",
    ),
    ("DID.ORDER", &[], MISSING, "missing parameter DID_TYPE"),
    (
        "DID.ORDER",
        &[("AREA_ID", "a")],
        MISSING,
        "missing parameter DID_TYPE",
    ),
    (
        "DID.ORDER",
        &[("DID_TYPE", "GEOGRAPHIC")],
        MISSING,
        "missing parameter AREA_ID",
    ),
    (
        "DID.ORDER",
        &[("RESERVATION_ID", "rsv_0123456789abcdef"), ("AREA_ID", "a")],
        INVALID,
        "parameter RESERVATION_ID cannot be combined with E164 or AREA_ID: give one way to choose the numbers",
    ),
    (
        "DID.ORDER",
        &[("E164", "12121111111"), ("AREA_ID", "a")],
        INVALID,
        "parameter RESERVATION_ID cannot be combined with E164 or AREA_ID: give one way to choose the numbers",
    ),
    (
        "DID.ORDER",
        &[("E164", "12121111111"), ("QUANTITY", "1")],
        INVALID,
        "parameter QUANTITY and PARTIAL_ALLOWED only apply to orders from an AREA_ID",
    ),
    (
        "DID.ORDER",
        &[
            ("RESERVATION_ID", "rsv_0123456789abcdef"),
            ("PARTIAL_ALLOWED", "TRUE"),
        ],
        INVALID,
        "parameter QUANTITY and PARTIAL_ALLOWED only apply to orders from an AREA_ID",
    ),
    (
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", "a"),
            ("PARTIAL_ALLOWED", "1"),
        ],
        INVALID,
        "parameter PARTIAL_ALLOWED must be TRUE or FALSE",
    ),
    (
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", "a"),
            ("QUANTITY", "-1"),
        ],
        INVALID,
        "parameter QUANTITY must be a whole number from 1 to 100",
    ),
    (
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", "a"),
            ("RATE_PLAN_ID", "S U"),
        ],
        INVALID,
        "parameter RATE_PLAN_ID must be 1 to 32 letters, digits, '-' or '_'",
    ),
    (
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", "a"),
            ("TITLE", "a\u{7}b"),
        ],
        INVALID,
        "parameter TITLE must not contain control characters",
    ),
];

const NUMBER_REFUSALS: &[Refusal] = &[
    (
        "DID.LIST",
        &[("LIMIT", "10001")],
        INVALID,
        "parameter LIMIT must be a whole number from 1 to 10000",
    ),
    (
        "DID.LIST",
        &[("LIMIT", "1.5")],
        INVALID,
        "parameter LIMIT must be a whole number from 1 to 10000",
    ),
    (
        "DID.LIST",
        &[("OFFSET", "-1")],
        INVALID,
        "parameter OFFSET must be a whole number from 0 to 4294967295",
    ),
    (
        "DID.LIST",
        &[("FILTER.STATUS", "Available")],
        INVALID,
        "parameter FILTER.STATUS must be Active or Canceled",
    ),
    (
        "DID.LIST",
        &[("FILTER.E164", "12?")],
        INVALID,
        "parameter FILTER.E164 must be digits, with * for any run of digits",
    ),
    (
        "DID.LIST",
        &[("FILTER.CALL_FORWARD_TYPE", "EMAIL")],
        INVALID,
        "parameter FILTER.CALL_FORWARD_TYPE must be one of PHONE, SIP_URI, CALLFLOW, SIP_REGISTERED, TRUNK",
    ),
    (
        "DID.UPDATE",
        &[("TITLE", "x")],
        MISSING,
        "give at least one FILTER.* parameter",
    ),
    (
        "DID.UPDATE",
        &[("FILTER.E164", "1"), ("COLOR", "x")],
        MISSING,
        "give at least one of CALL_FORWARD_TYPE, CALL_FORWARD_TO, SMS_URL, SMS_EMAIL, SMS_PHONE, TITLE",
    ),
    (
        "DID.UPDATE",
        &[("FILTER.E164", "1"), ("CALL_FORWARD_TYPE", "FAX")],
        INVALID,
        "parameter CALL_FORWARD_TYPE must be one of PHONE, SIP_URI, CALLFLOW, SIP_REGISTERED, TRUNK",
    ),
    (
        "DID.UPDATE",
        &[("FILTER.E164", "1"), ("CALL_FORWARD_TYPE", "PHONE")],
        INVALID,
        "parameter CALL_FORWARD_TO a PHONE target must be 7 to 15 digits",
    ),
    (
        "DID.UPDATE",
        &[
            ("FILTER.E164", "1"),
            ("CALL_FORWARD_TYPE", "SIP_URI"),
            ("CALL_FORWARD_TO", "sip.example.com"),
        ],
        INVALID,
        "parameter CALL_FORWARD_TO a SIP_URI target must be user@host[:port], at most two separated by a comma",
    ),
    (
        "DID.UPDATE",
        &[("FILTER.E164", "1"), ("SMS_URL", "ftp://x")],
        INVALID,
        "parameter SMS_URL must be an http:// or https:// URL",
    ),
    (
        "DID.UPDATE",
        &[("FILTER.E164", "1"), ("SMS_EMAIL", "nobody")],
        INVALID,
        "parameter SMS_EMAIL must be an e-mail address",
    ),
    (
        "DID.UPDATE",
        &[("FILTER.E164", "1"), ("SMS_PHONE", "12-34")],
        INVALID,
        "parameter SMS_PHONE must be 7 to 15 digits",
    ),
    ("DID.CANCEL", &[], MISSING, "missing parameter E164"),
    (
        "DID.CANCEL",
        &[("E164", "0123456789")],
        INVALID,
        "parameter E164 must start with a country code, not 0",
    ),
    (
        "DID.RESTORE",
        &[("E164", "12")],
        INVALID,
        "parameter E164 must be 7 to 15 digits",
    ),
    (
        "DID.MOVE",
        &[("E164", "12121111111")],
        MISSING,
        "missing parameter TO_ACCOUNT_NUMBER",
    ),
    (
        "DID.MOVE",
        &[("TO_ACCOUNT_NUMBER", "1234567890")],
        MISSING,
        "missing parameter E164",
    ),
    (
        "DID.MOVE",
        &[("E164", "12121111111"), ("TO_ACCOUNT_NUMBER", "x")],
        INVALID,
        "parameter TO_ACCOUNT_NUMBER must be 10 digits",
    ),
];

const ACCOUNT_REFUSALS: &[Refusal] = &[
    ("SUBACCOUNT.CREATE", &[], MISSING, "missing parameter NAME"),
    (
        "SUBACCOUNT.CREATE",
        &[("NAME", "   ")],
        MISSING,
        "missing parameter NAME",
    ),
    (
        "SUBACCOUNT.CREATE",
        &[("NAME", "a\u{1}b")],
        INVALID,
        "parameter NAME must be at most 255 characters without control characters",
    ),
    (
        "SUBACCOUNT.DELETE",
        &[],
        MISSING,
        "missing parameter ACCOUNT_NUMBER",
    ),
    (
        "SUBACCOUNT.DELETE",
        &[("ACCOUNT_NUMBER", "12345678901")],
        INVALID,
        "parameter ACCOUNT_NUMBER must be 10 digits",
    ),
];

#[test]
fn every_refusal_has_its_code_and_text() {
    for (action, params, code, message) in CATALOG_REFUSALS
        .iter()
        .chain(ORDER_REFUSALS)
        .chain(NUMBER_REFUSALS)
        .chain(ACCOUNT_REFUSALS)
    {
        assert_eq!(
            error(action, params),
            (*code, message.to_string()),
            "{action} {params:?}"
        );
        // A refused request still names its action for the log.
        assert!(decoded(action, params).action.is_some());
    }
}

#[test]
fn long_texts_are_refused_by_length() {
    let long = "é".repeat(256);
    let (_, msg) = error(
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", "a"),
            ("TITLE", &long),
        ],
    );
    assert_eq!(msg, "parameter TITLE must be at most 255 characters");
    let (_, msg) = error("SUBACCOUNT.CREATE", &[("NAME", &long)]);
    assert_eq!(
        msg,
        "parameter NAME must be at most 255 characters without control characters"
    );
    let max = "é".repeat(255);
    command("SUBACCOUNT.CREATE", &[("NAME", &max)]);
}
