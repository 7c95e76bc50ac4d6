//! Guards `DID.SEARCH` over HTTP against a real server (PROTOCOL.md
//! sections 3 and 4): choosing the area by `AREA_ID` or by `COUNTRY_ID` with
//! `AREA_CODE`, the optional `DID_TYPE`, the `CONTAINS` rule (digits, phone
//! keypad letters in any case, `*` for exactly one digit, matched anywhere in
//! the national number and never in the country calling code), `LIMIT`
//! (default 20, at most 100), the error codes of every malformed or unknown
//! input, the default-plan prices of the results, and that a search never
//! shows a number that is reserved, owned or aging.

mod common;

use std::collections::HashMap;

use common::{NY_AREA, Reply, TestServer, import_numbers, listed_stock};

/// Brooklyn: 17185550100 to 17185550109, only the SU plan (129 + 199).
const BROOKLYN: &str = "us-ny-718";
/// San Francisco: 14155550100 to 14155550109, SU (149 + 249) and PM.
const SAN_FRANCISCO: &str = "us-ca-415";
/// London: 442079460100 to 442079460109, SU (199 + 0).
const LONDON: &str = "gb-ldn-20";
/// Paris: 33142680100 to 33142680109, SU (179 + 0).
const PARIS: &str = "fr-par-1";
/// GB mobile: 447700900100 to 447700900109, SU (399 + 100) and SMS.
const GB_MOBILE: &str = "gb-mob-7700";

/// Ten consecutive numbers from `first`, in ascending order: the demo
/// inventory of every area except the New York seed area.
fn ten_from(first: u64) -> Vec<String> {
    (first..first + 10).map(|n| n.to_string()).collect()
}

/// The twenty numbers of the seed's New York area.
fn new_york() -> Vec<String> {
    (12121111111u64..=12121111130)
        .map(|n| n.to_string())
        .collect()
}

/// `DID.SEARCH` of `area` with extra parameters, asserting success.
async fn search(s: &TestServer, area: &str, extra: &[(&str, &str)]) -> Reply {
    let mut params = vec![("AREA_ID", area)];
    params.extend_from_slice(extra);
    s.call("DID.SEARCH", &params).await.ok()
}

/// The E.164 numbers `DID.SEARCH` finds in `area` for `pattern`.
async fn matches(s: &TestServer, area: &str, pattern: &str) -> Vec<String> {
    let r = search(s, area, &[("CONTAINS", pattern)]).await;
    assert!(r.body.contains("<DIDS>"), "{}", r.body);
    r.e164s()
}

/// Adds `count` numbers from `first` to the New York seed area, so that an
/// area holds more than the largest `LIMIT`.
async fn add_new_york_numbers(s: &TestServer, first: u64, count: u64) {
    let mut csv = String::from("e164,area_id\n");
    for n in first..first + count {
        csv.push_str(&format!("{n},{NY_AREA}\n"));
    }
    import_numbers(s, csv).await;
}

/// Asserts that every `DID` of a search reply is an unsold number offered at
/// the given default-plan prices.
#[track_caller]
fn assert_offered(dids: &[HashMap<String, String>], plan: &str, monthly: &str, setup: &str) {
    for d in dids {
        assert_eq!(d["STATUS"], "Available", "{d:?}");
        assert_eq!(d["RATE_PLAN_ID"], plan, "{d:?}");
        assert_eq!(d["MONTHLY100"], monthly, "{d:?}");
        assert_eq!(d["SETUP100"], setup, "{d:?}");
        assert_eq!(
            d["ACCOUNT_NUMBER"], "",
            "an unsold number has no owner: {d:?}"
        );
    }
}

// ------------------------------------------------------------ results

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_returns_available_numbers_with_default_plan_prices() {
    let s = TestServer::start().await;
    // The seed area offers SU and PM; results carry SU, the default plan.
    let r = search(&s, NY_AREA, &[]).await;
    assert_eq!(r.result(), "SUCCESS");
    assert_eq!(r.e164s(), new_york(), "every number, in ascending order");
    let dids = r.elements("DID");
    assert_offered(&dids, "SU", "149", "249");
    for d in &dids {
        assert_eq!(d["DID_TYPE"], "GEOGRAPHIC");
        assert_eq!(d["COUNTRY_NAME"], "UNITED STATES");
        assert_eq!(d["AREA_NAME"], "New York");
        assert_eq!(d["AREA_CODE"], "212");
    }
    // GB mobile offers SU and SMS; SU again, with its own prices.
    let r = search(&s, GB_MOBILE, &[]).await;
    assert_eq!(r.e164s(), ten_from(447700900100));
    let dids = r.elements("DID");
    assert_offered(&dids, "SU", "399", "100");
    assert!(dids.iter().all(|d| d["DID_TYPE"] == "MOBILE"));
    // A search is a read: it holds nothing back from stock.
    assert_eq!(listed_stock(&s, "US", NY_AREA).await, 20);
    s.stop().await;
}

// ------------------------------------------------------------ CONTAINS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contains_letters_match_their_keypad_digits_in_any_case() {
    let s = TestServer::start().await;
    // London's national numbers are 2079460100..2079460109; W, G and M sit on
    // the keys 9, 4 and 6, so "WGM" is "946" and matches all ten.
    let digits = matches(&s, LONDON, "946").await;
    assert_eq!(digits, ten_from(442079460100));
    assert_eq!(matches(&s, LONDON, "WGM").await, digits);
    assert_eq!(matches(&s, LONDON, "wgm").await, digits);
    assert_eq!(matches(&s, LONDON, "wGm").await, digits);
    // San Francisco: J is 5 and A is 2, so "jjj*10a" is "555?102" and picks
    // 4155550102 alone; letters, a wildcard and digits combine.
    assert_eq!(matches(&s, SAN_FRANCISCO, "jjj*10a").await, ["14155550102"]);
    assert_eq!(matches(&s, SAN_FRANCISCO, "JJJ*10A").await, ["14155550102"]);
    // Every letter of a key is that key's digit. In San Francisco the digits
    // 2, 3 and 6 to 9 each occur in one number only (as its last digit),
    // while every number contains a 4 and a 5.
    let keys: [(&str, Option<&str>); 8] = [
        ("ABC", Some("14155550102")),
        ("DEF", Some("14155550103")),
        ("GHI", None),
        ("JKL", None),
        ("MNO", Some("14155550106")),
        ("PQRS", Some("14155550107")),
        ("TUV", Some("14155550108")),
        ("WXYZ", Some("14155550109")),
    ];
    for (letters, only) in keys {
        let want = match only {
            Some(one) => vec![one.to_owned()],
            None => ten_from(14155550100),
        };
        for letter in letters.chars().flat_map(|c| [c, c.to_ascii_lowercase()]) {
            assert_eq!(
                matches(&s, SAN_FRANCISCO, &letter.to_string()).await,
                want,
                "{letter}"
            );
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contains_wolf_is_9653() {
    let s = TestServer::start().await;
    // No demo number contains 9653, so WOLF and 9653 agree on nothing; add
    // one that does and both must find exactly it.
    assert_eq!(matches(&s, NY_AREA, "WOLF").await, Vec::<String>::new());
    add_new_york_numbers(&s, 12129653000, 1).await;
    assert_eq!(matches(&s, NY_AREA, "9653").await, ["12129653000"]);
    assert_eq!(matches(&s, NY_AREA, "WOLF").await, ["12129653000"]);
    assert_eq!(matches(&s, NY_AREA, "wolf").await, ["12129653000"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contains_star_matches_exactly_one_digit() {
    let s = TestServer::start().await;
    // San Francisco's national numbers are 4155550100..4155550109.
    assert_eq!(matches(&s, SAN_FRANCISCO, "5*0109").await, ["14155550109"]);
    assert_eq!(matches(&s, SAN_FRANCISCO, "*0105").await, ["14155550105"]);
    assert_eq!(
        matches(&s, SAN_FRANCISCO, "5550*00").await,
        ["14155550100"],
        "one star stands for the single digit 1"
    );
    // Two stars are exactly two digits, not "any run": 5550 followed by two
    // digits and then 00 occurs in none of them.
    assert_eq!(
        matches(&s, SAN_FRANCISCO, "5550**00").await,
        Vec::<String>::new()
    );
    // A trailing star needs a digit after the last one it follows.
    assert_eq!(
        matches(&s, SAN_FRANCISCO, "010*").await,
        ten_from(14155550100)
    );
    assert_eq!(
        matches(&s, SAN_FRANCISCO, "0109*").await,
        Vec::<String>::new(),
        "nothing follows the last digit"
    );
    // Stars may surround the digits; the pattern is matched anywhere.
    assert_eq!(
        matches(&s, SAN_FRANCISCO, "*1*").await,
        ten_from(14155550100)
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contains_matches_the_national_number_not_the_country_code() {
    let s = TestServer::start().await;
    // 12121111111 contains "1212" only across the country code 1 and the
    // area code 212; the national numbers 2121111111..2121111130 never do.
    assert_eq!(matches(&s, NY_AREA, "1212").await, Vec::<String>::new());
    assert_eq!(matches(&s, NY_AREA, "12121").await, Vec::<String>::new());
    assert_eq!(matches(&s, NY_AREA, "1*1*1").await.len(), 20);
    // The national number itself starts with 2121: every number matches.
    assert_eq!(matches(&s, NY_AREA, "2121").await, new_york());
    assert_eq!(
        matches(&s, NY_AREA, "2121111111").await,
        ["12121111111"],
        "the whole national number matches"
    );
    assert_eq!(
        matches(&s, NY_AREA, "12121111111").await,
        Vec::<String>::new(),
        "the whole E.164 number is longer than the national one"
    );
    // A two-digit calling code (44) and a two-digit one followed by a
    // one-digit area code (33, 1) are cut off the same way.
    assert_eq!(matches(&s, LONDON, "442").await, Vec::<String>::new());
    assert_eq!(matches(&s, LONDON, "20794").await, ten_from(442079460100));
    assert_eq!(matches(&s, PARIS, "331").await, Vec::<String>::new());
    assert_eq!(matches(&s, PARIS, "1426").await, ten_from(33142680100));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contains_matching_nothing_returns_an_empty_dids() {
    let s = TestServer::start().await;
    let r = search(&s, BROOKLYN, &[("CONTAINS", "99999")]).await;
    assert_eq!(r.result(), "SUCCESS");
    assert!(r.body.contains("<DIDS>"), "{}", r.body);
    assert!(r.elements("DID").is_empty(), "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contains_rejects_malformed_patterns() {
    let s = TestServer::start().await;
    let sixteen = "1234567890123456";
    for bad in [
        "12-3", "***", "*", sixteen, "12 3", "#55", "+1212", "5.5", "ñ",
    ] {
        let r = s
            .call("DID.SEARCH", &[("AREA_ID", BROOKLYN), ("CONTAINS", bad)])
            .await;
        let r = r.fails("INVALID_PARAMETER");
        assert!(r.error().contains("CONTAINS"), "{bad}: {}", r.body);
    }
    // Fifteen characters is the longest pattern; it is valid and simply
    // matches nothing here.
    let r = search(&s, BROOKLYN, &[("CONTAINS", &sixteen[..15])]).await;
    assert!(r.elements("DID").is_empty(), "{}", r.body);
    s.stop().await;
}

// ------------------------------------------------------------ LIMIT

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_defaults_to_20_and_allows_at_most_100() {
    let s = TestServer::start().await;
    // 150 more numbers in the seed area: 170 in all.
    add_new_york_numbers(&s, 12125550000, 150).await;
    assert_eq!(listed_stock(&s, "US", NY_AREA).await, 170);
    let mut all: Vec<String> = new_york();
    all.extend((12125550000u64..12125550150).map(|n| n.to_string()));
    all.sort();

    let r = search(&s, NY_AREA, &[]).await;
    assert_eq!(r.e164s(), all[..20], "default LIMIT is 20, lowest first");
    let r = search(&s, NY_AREA, &[("LIMIT", "100")]).await;
    assert_eq!(r.e164s(), all[..100]);
    let r = search(&s, NY_AREA, &[("LIMIT", "1")]).await;
    assert_eq!(r.e164s(), all[..1]);
    // LIMIT counts matches, not numbers looked at: 5550 occurs only in the
    // added numbers, which sort after the twenty of the seed.
    let r = search(&s, NY_AREA, &[("CONTAINS", "5550"), ("LIMIT", "100")]).await;
    let added: Vec<String> = (12125550000u64..12125550100)
        .map(|n| n.to_string())
        .collect();
    assert_eq!(r.e164s(), added);

    for bad in ["0", "101", "-1", "abc", "1.5", "1000"] {
        s.call("DID.SEARCH", &[("AREA_ID", NY_AREA), ("LIMIT", bad)])
            .await
            .fails("INVALID_PARAMETER");
    }
    s.stop().await;
}

// ------------------------------------------------------------ areas

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_requires_an_area() {
    let s = TestServer::start().await;
    for params in [
        vec![],
        vec![("COUNTRY_ID", "US")],
        vec![("AREA_CODE", "212")],
        vec![("AREA_ID", "")],
        vec![("CONTAINS", "212"), ("LIMIT", "5")],
    ] {
        s.call("DID.SEARCH", &params)
            .await
            .fails("MISSING_PARAMETER");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_of_an_unknown_area_is_not_found() {
    let s = TestServer::start().await;
    s.call("DID.SEARCH", &[("AREA_ID", "us-zz-999")])
        .await
        .fails("NOT_FOUND");
    s.call("DID.SEARCH", &[("COUNTRY_ID", "US"), ("AREA_CODE", "999")])
        .await
        .fails("NOT_FOUND");
    // 20 is London's code, but London is in GB.
    s.call("DID.SEARCH", &[("COUNTRY_ID", "US"), ("AREA_CODE", "20")])
        .await
        .fails("NOT_FOUND");
    s.call("DID.SEARCH", &[("COUNTRY_ID", "ZZ"), ("AREA_CODE", "212")])
        .await
        .fails("NOT_FOUND");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_by_country_and_area_code() {
    let s = TestServer::start().await;
    let r = s
        .call("DID.SEARCH", &[("COUNTRY_ID", "US"), ("AREA_CODE", "718")])
        .await
        .ok();
    assert_eq!(r.e164s(), ten_from(17185550100));
    assert_offered(&r.elements("DID"), "SU", "129", "199");
    // Country ids match case-insensitively; the code combines with the
    // other parameters as AREA_ID does.
    let r = s
        .call(
            "DID.SEARCH",
            &[
                ("COUNTRY_ID", "us"),
                ("AREA_CODE", "212"),
                ("CONTAINS", "1130"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), ["12121111130"]);
    let r = s
        .call(
            "DID.SEARCH",
            &[
                ("COUNTRY_ID", "GB"),
                ("AREA_CODE", "7700"),
                ("DID_TYPE", "MOBILE"),
                ("LIMIT", "3"),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), ten_from(447700900100)[..3]);
    assert_offered(&r.elements("DID"), "SU", "399", "100");
    // An area code must be digits.
    s.call("DID.SEARCH", &[("COUNTRY_ID", "US"), ("AREA_CODE", "2l2")])
        .await
        .fails("INVALID_PARAMETER");
    s.stop().await;
}

// ------------------------------------------------------------ DID_TYPE

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_rejects_a_did_type_the_area_does_not_sell() {
    let s = TestServer::start().await;
    let r = s
        .call(
            "DID.SEARCH",
            &[("AREA_ID", SAN_FRANCISCO), ("DID_TYPE", "MOBILE")],
        )
        .await
        .fails("INVALID_PARAMETER");
    assert!(r.error().contains("DID_TYPE"), "{}", r.body);
    // The matching type, in any case, is accepted.
    let r = search(&s, SAN_FRANCISCO, &[("DID_TYPE", "geographic")]).await;
    assert_eq!(r.e164s(), ten_from(14155550100));
    // A type that does not exist at all is not a valid value either.
    s.call(
        "DID.SEARCH",
        &[("AREA_ID", SAN_FRANCISCO), ("DID_TYPE", "LOCAL")],
    )
    .await
    .fails("INVALID_PARAMETER");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_by_area_code_rejects_a_did_type_the_area_does_not_sell() {
    let s = TestServer::start().await;
    // US 718 exists and sells GEOGRAPHIC numbers; asking it for toll-free
    // ones is a DID_TYPE that does not match the area (PROTOCOL.md 3).
    let r = s
        .call(
            "DID.SEARCH",
            &[
                ("COUNTRY_ID", "US"),
                ("AREA_CODE", "718"),
                ("DID_TYPE", "TOLLFREE"),
            ],
        )
        .await;
    r.fails("INVALID_PARAMETER");
    s.stop().await;
}

// ------------------------------------------------------------ what is hidden

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_never_returns_reserved_owned_or_aging_numbers() {
    let s = TestServer::start().await;
    let other = s.new_account(10_000).await;
    // 0100 and 0101 reserved, 0102 bought, 0103 bought and canceled (aging).
    let reserved = s
        .call("DID.RESERVE", &[("AREA_ID", BROOKLYN), ("QUANTITY", "2")])
        .await
        .ok();
    assert_eq!(reserved.e164s(), ["17185550100", "17185550101"]);
    let rsv = reserved.elements("RESERVATION")[0]["RESERVATION_ID"].clone();
    let bought = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", BROOKLYN),
                ("QUANTITY", "2"),
            ],
        )
        .await
        .ok();
    assert_eq!(
        bought.e164s(),
        ["17185550102", "17185550103"],
        "an area order skips reserved numbers"
    );
    s.call("DID.CANCEL", &[("E164", "17185550103")]).await.ok();

    let rest = ten_from(17185550100)[4..].to_vec();
    for key in [&s.key, &other.api_key] {
        // Neither the holder's tree nor another one sees them.
        let r = s
            .call_as(key, "DID.SEARCH", &[("AREA_ID", BROOKLYN)])
            .await
            .ok();
        assert_eq!(r.e164s(), rest);
        let r = s
            .call_as(
                key,
                "DID.SEARCH",
                &[("COUNTRY_ID", "US"), ("AREA_CODE", "718")],
            )
            .await
            .ok();
        assert_eq!(r.e164s(), rest);
        for hidden in ["0100", "0101", "0102", "0103"] {
            let r = s
                .call_as(
                    key,
                    "DID.SEARCH",
                    &[("AREA_ID", BROOKLYN), ("CONTAINS", hidden)],
                )
                .await
                .ok();
            assert!(r.e164s().is_empty(), "{hidden}: {}", r.body);
        }
    }
    assert_eq!(listed_stock(&s, "US", BROOKLYN).await, 6);

    // Canceling the reservation shows its numbers again at once; the aging
    // and the owned numbers stay hidden.
    s.call("DID.RESERVE.CANCEL", &[("RESERVATION_ID", &rsv)])
        .await
        .ok();
    let r = search(&s, BROOKLYN, &[]).await;
    let mut want = vec!["17185550100".to_owned(), "17185550101".to_owned()];
    want.extend(rest);
    assert_eq!(r.e164s(), want);
    s.stop().await;
}
