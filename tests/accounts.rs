//! Guards the account tree of PROTOCOL.md sections 4 and 5 over HTTP
//! against a real server: `SUBACCOUNT.CREATE` (required name, new number,
//! inherited forwarding, `REQUEST_ID` replay, `TEST=TRUE`),
//! `SUBACCOUNT.DELETE` (conflicts, denials, keys of a deleted account), the
//! scope of a key (never a parent, a sibling or another tree's numbers), the
//! `SIGNATURE` check, and the `history` command that reads what those
//! requests recorded.

mod common;

use std::time::Duration;

use common::{
    NY_AREA, Reply, TestServer, assert_auth_failed, balance_as, didgate, poll_until_refused,
    sub_account,
};
use didgate::admin::{self, CreatedKey, Signing};
use didgate::domain::{AccountNumber, Money100};

const DEMO_FORWARD_TO: &str = "8c25e06faf2b98erts3gdtb83df91b307ff287f1";
/// A well-formed number that is in no inventory at all.
const NOWHERE: &str = "19995550000";
/// A well-formed account number that no test server creates (numbers are
/// random, so the chance of a clash is one in nine billion).
const STRANGER: &str = "4820193746";

/// Another key for an existing account.
async fn key_for(s: &TestServer, account: &str) -> CreatedKey {
    let account = AccountNumber::parse(account).unwrap();
    s.admin(move |db| admin::create_key(db, &account).unwrap())
        .await
}

/// Creates a sub-account of the demo account over the API and returns its
/// number.
async fn create_sub(s: &TestServer, name: &str) -> String {
    let r = s.call("SUBACCOUNT.CREATE", &[("NAME", name)]).await.ok();
    r.value("ACCOUNT_NUMBER")
        .expect("ACCOUNT_NUMBER in the reply")
}

/// How many accounts the database holds, deleted ones included, read
/// straight from SQLite so that the count does not depend on the API.
fn account_rows(s: &TestServer) -> i64 {
    let conn = rusqlite::Connection::open(&s.db_path).unwrap();
    conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
        .unwrap()
}

/// Orders one number of the seed area, for `account` if given.
async fn order_one(s: &TestServer, key: &str, account: Option<&str>) -> Reply {
    let mut params = vec![("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)];
    if let Some(a) = account {
        params.push(("ACCOUNT_NUMBER", a));
    }
    s.call_as(key, "DID.ORDER", &params).await
}

// -------------------------------------------------------- SUBACCOUNT.CREATE

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_create_requires_a_name() {
    let s = TestServer::start().await;
    let before = account_rows(&s);
    let r = s
        .call("SUBACCOUNT.CREATE", &[])
        .await
        .fails("MISSING_PARAMETER");
    assert!(r.error().contains("NAME"), "{}", r.body);
    // An empty value counts as absent (PROTOCOL.md 3: "absent or empty"),
    // and values are trimmed, so blanks are empty too.
    s.call("SUBACCOUNT.CREATE", &[("NAME", "")])
        .await
        .fails("MISSING_PARAMETER");
    s.call("SUBACCOUNT.CREATE", &[("NAME", "   ")])
        .await
        .fails("MISSING_PARAMETER");
    assert_eq!(account_rows(&s), before, "a refused create made an account");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_create_returns_a_new_ten_digit_account_number() {
    let s = TestServer::start().await;
    let r = s
        .call("SUBACCOUNT.CREATE", &[("NAME", "Branch office")])
        .await
        .ok();
    assert_eq!(r.result(), "SUCCESS");
    let first = r.value("ACCOUNT_NUMBER").expect("ACCOUNT_NUMBER");
    assert_eq!(first.len(), 10, "{first}");
    assert!(first.bytes().all(|b| b.is_ascii_digit()), "{first}");
    assert_ne!(first, s.account);
    // A second sub-account gets a number of its own.
    let second = create_sub(&s, "Branch office").await;
    assert_ne!(second, first);
    // The new account is in the key's tree at once: it can be listed.
    let listed = s.call("DID.LIST", &[("ACCOUNT_NUMBER", &first)]).await.ok();
    assert_eq!(
        listed.value("TOTAL").as_deref(),
        Some("0"),
        "{}",
        listed.body
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_inherits_the_parent_default_forwarding() {
    let s = TestServer::start().await;
    let sub = create_sub(&s, "Inherits").await;
    let r = order_one(&s, &s.key, Some(&sub)).await.ok();
    let dids = r.elements("DID");
    assert_eq!(dids.len(), 1, "{}", r.body);
    // New numbers take the owning account's default forwarding, and a
    // sub-account made over the API starts with its parent's.
    assert_eq!(dids[0]["ACCOUNT_NUMBER"], sub);
    assert_eq!(dids[0]["CALL_FORWARD_TYPE"], "CALLFLOW");
    assert_eq!(dids[0]["CALL_FORWARD_TO"], DEMO_FORWARD_TO);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_create_replay_returns_the_same_account_number() {
    let s = TestServer::start().await;
    let before = account_rows(&s);
    let params = [("NAME", "Retried"), ("REQUEST_ID", "create-sub-1")];
    let first = s.call("SUBACCOUNT.CREATE", &params).await.ok();
    assert_eq!(first.value("REQUEST_ID").as_deref(), Some("create-sub-1"));
    let again = s.call("SUBACCOUNT.CREATE", &params).await.ok();
    // The repeat gets the first reply back, byte for byte, and makes no
    // second account.
    assert_eq!(again.body, first.body);
    assert_eq!(account_rows(&s), before + 1);
    // The same REQUEST_ID with another name is a different request.
    s.call(
        "SUBACCOUNT.CREATE",
        &[("NAME", "Other"), ("REQUEST_ID", "create-sub-1")],
    )
    .await
    .fails("CONFLICT");
    assert_eq!(account_rows(&s), before + 1);
    // The one account made is a real one.
    let number = first.value("ACCOUNT_NUMBER").unwrap();
    s.call("DID.LIST", &[("ACCOUNT_NUMBER", &number)])
        .await
        .ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_create_in_test_mode_creates_nothing() {
    let s = TestServer::start().await;
    let before = account_rows(&s);
    let r = s
        .call(
            "SUBACCOUNT.CREATE",
            &[("NAME", "Dry run"), ("TEST", "TRUE")],
        )
        .await
        .ok();
    assert_eq!(r.value("TEST").as_deref(), Some("TRUE"), "{}", r.body);
    // A dry run answers as if done, with a well-formed number...
    let number = r.value("ACCOUNT_NUMBER").expect("ACCOUNT_NUMBER");
    assert_eq!(number.len(), 10, "{number}");
    // ...that does not exist afterwards: ordering for it is refused like
    // any account outside the tree, and nothing was charged.
    assert_eq!(account_rows(&s), before);
    order_one(&s, &s.key, Some(&number))
        .await
        .fails("ACCESS_DENIED");
    assert_eq!(balance_as(&s, &s.key).await, 10_000);
    s.stop().await;
}

// -------------------------------------------------------- SUBACCOUNT.DELETE

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_delete_is_conflict_while_it_owns_numbers_and_works_after_cancel() {
    let s = TestServer::start().await;
    let sub = create_sub(&s, "Owner").await;
    let e164 = order_one(&s, &s.key, Some(&sub)).await.ok().e164s()[0].clone();
    let r = s
        .call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &sub)])
        .await
        .fails("CONFLICT");
    // The message says what to do about it.
    assert!(r.error().contains("cancel or move"), "{}", r.body);
    // The refused delete changed nothing: the sub-account still works.
    s.call("DID.LIST", &[("ACCOUNT_NUMBER", &sub)]).await.ok();

    // A dry run is validated like the real thing.
    s.call(
        "SUBACCOUNT.DELETE",
        &[("ACCOUNT_NUMBER", &sub), ("TEST", "TRUE")],
    )
    .await
    .fails("CONFLICT");

    s.call("DID.CANCEL", &[("ACCOUNT_NUMBER", &sub), ("E164", &e164)])
        .await
        .ok();
    // Now a dry run succeeds, and deletes nothing.
    let dry = s
        .call(
            "SUBACCOUNT.DELETE",
            &[("ACCOUNT_NUMBER", &sub), ("TEST", "TRUE")],
        )
        .await
        .ok();
    assert_eq!(dry.value("TEST").as_deref(), Some("TRUE"), "{}", dry.body);
    s.call("DID.LIST", &[("ACCOUNT_NUMBER", &sub)]).await.ok();
    let r = s
        .call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &sub)])
        .await
        .ok();
    assert_eq!(r.result(), "SUCCESS");
    // A deleted account is outside every tree from now on.
    order_one(&s, &s.key, Some(&sub))
        .await
        .fails("ACCESS_DENIED");
    s.call("DID.LIST", &[("ACCOUNT_NUMBER", &sub)])
        .await
        .fails("ACCESS_DENIED");
    // Deleting it twice is like deleting any unknown account.
    s.call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &sub)])
        .await
        .fails("ACCESS_DENIED");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_delete_works_after_its_numbers_are_moved() {
    let s = TestServer::start().await;
    let sub = create_sub(&s, "Mover").await;
    let e164 = order_one(&s, &s.key, Some(&sub)).await.ok().e164s()[0].clone();
    s.call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &sub)])
        .await
        .fails("CONFLICT");
    let moved = s
        .call(
            "DID.MOVE",
            &[
                ("ACCOUNT_NUMBER", &sub),
                ("E164", &e164),
                ("TO_ACCOUNT_NUMBER", &s.account),
            ],
        )
        .await
        .ok();
    assert_eq!(moved.elements("DID")[0]["ACCOUNT_NUMBER"], s.account);
    s.call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &sub)])
        .await
        .ok();
    order_one(&s, &s.key, Some(&sub))
        .await
        .fails("ACCESS_DENIED");
    // The moved number stays with the parent, active.
    let listed = s.call("DID.LIST", &[]).await.ok();
    assert_eq!(listed.e164s(), [e164]);
    assert_eq!(listed.elements("DID")[0]["STATUS"], "Active");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_delete_of_the_key_own_account_is_conflict() {
    let s = TestServer::start().await;
    let r = s
        .call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &s.account)])
        .await
        .fails("CONFLICT");
    assert!(r.error().contains("own account"), "{}", r.body);
    // A sub-account's key cannot delete its own account either.
    let sub = sub_account(&s, &s.account).await;
    s.call_as(
        &sub.api_key,
        "SUBACCOUNT.DELETE",
        &[("ACCOUNT_NUMBER", &sub.account_number)],
    )
    .await
    .fails("CONFLICT");
    // Both keys still work.
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    s.call_as(&sub.api_key, "DID.LIST", &[]).await.ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_delete_of_a_parent_sibling_or_foreign_account_is_access_denied() {
    let s = TestServer::start().await;
    let a = sub_account(&s, &s.account).await;
    let b = sub_account(&s, &s.account).await;
    let foreign = s.new_account(0).await;
    // A key acts on its account and below it, never above or beside it.
    let r = s
        .call_as(
            &a.api_key,
            "SUBACCOUNT.DELETE",
            &[("ACCOUNT_NUMBER", &s.account)],
        )
        .await
        .fails("ACCESS_DENIED");
    assert!(r.error().contains(&s.account), "{}", r.body);
    s.call_as(
        &a.api_key,
        "SUBACCOUNT.DELETE",
        &[("ACCOUNT_NUMBER", &b.account_number)],
    )
    .await
    .fails("ACCESS_DENIED");
    s.call(
        "SUBACCOUNT.DELETE",
        &[("ACCOUNT_NUMBER", &foreign.account_number)],
    )
    .await
    .fails("ACCESS_DENIED");
    // A number that exists nowhere gets the same answer as one in another
    // tree, so the reply never tells whether an account exists.
    let unknown = s
        .call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", STRANGER)])
        .await
        .fails("ACCESS_DENIED");
    let other = s
        .call(
            "SUBACCOUNT.DELETE",
            &[("ACCOUNT_NUMBER", &foreign.account_number)],
        )
        .await;
    assert_eq!(
        unknown.error().replace(STRANGER, "N"),
        other.error().replace(&foreign.account_number, "N")
    );
    // Every one of them survived.
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    s.call_as(&a.api_key, "DID.LIST", &[]).await.ok();
    s.call_as(&b.api_key, "DID.LIST", &[]).await.ok();
    s.call_as(&foreign.api_key, "DID.LIST", &[]).await.ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subaccount_delete_with_a_live_sub_account_is_conflict() {
    let s = TestServer::start().await;
    let child = create_sub(&s, "Child").await;
    let child_key = key_for(&s, &child).await;
    // The child makes a sub-account of its own, a grandchild of the demo
    // account.
    let r = s
        .call_as(
            &child_key.api_key,
            "SUBACCOUNT.CREATE",
            &[("NAME", "Grandchild")],
        )
        .await
        .ok();
    let grandchild = r.value("ACCOUNT_NUMBER").unwrap();
    let r = s
        .call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &child)])
        .await
        .fails("CONFLICT");
    assert!(r.error().contains("sub-accounts"), "{}", r.body);
    // The demo key reaches the grandchild (it is below it), and once the
    // grandchild is gone the child can go too.
    s.call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &grandchild)])
        .await
        .ok();
    s.call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &child)])
        .await
        .ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_subaccount_key_stops_working() {
    let s = TestServer::start().await;
    let sub = create_sub(&s, "Doomed").await;
    let k = key_for(&s, &sub).await;
    // The key works, and is now cached by the server.
    s.call_as(&k.api_key, "ACCOUNT.GETBALANCE", &[]).await.ok();
    s.call("SUBACCOUNT.DELETE", &[("ACCOUNT_NUMBER", &sub)])
        .await
        .ok();
    // The harness re-reads cached keys every 200 ms; a deleted account's
    // keys must be refused well within the few seconds the contract allows.
    let last = poll_until_refused(&s, &k.api_key, Duration::from_secs(3)).await;
    assert_auth_failed(last);
    // The parent's key is unaffected.
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    s.stop().await;
}

// ---------------------------------------------------------------- key scope

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_account_key_cannot_act_on_its_parent() {
    let s = TestServer::start().await;
    let sub = sub_account(&s, &s.account).await;
    let r = s
        .call_as(&sub.api_key, "DID.LIST", &[("ACCOUNT_NUMBER", &s.account)])
        .await
        .fails("ACCESS_DENIED");
    assert!(r.error().contains(&s.account), "{}", r.body);
    order_one(&s, &sub.api_key, Some(&s.account))
        .await
        .fails("ACCESS_DENIED");
    // The refused order sold nothing and charged nothing.
    assert_eq!(balance_as(&s, &s.key).await, 10_000);
    let listed = s.call("DID.LIST", &[]).await.ok();
    assert_eq!(listed.value("TOTAL").as_deref(), Some("0"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_account_key_cannot_act_on_a_sibling() {
    let s = TestServer::start().await;
    let a = sub_account(&s, &s.account).await;
    let b = sub_account(&s, &s.account).await;
    // The sibling owns a number, so a leak would show in the list.
    order_one(&s, &b.api_key, None).await.ok();
    s.call_as(
        &a.api_key,
        "DID.LIST",
        &[("ACCOUNT_NUMBER", &b.account_number)],
    )
    .await
    .fails("ACCESS_DENIED");
    order_one(&s, &a.api_key, Some(&b.account_number))
        .await
        .fails("ACCESS_DENIED");
    let listed = s.call_as(&b.api_key, "DID.LIST", &[]).await.ok();
    assert_eq!(listed.value("TOTAL").as_deref(), Some("1"));
    s.stop().await;
}

/// Parameters as `(name, value)` pairs.
type Params<'a> = [(&'a str, &'a str)];

/// Calls a number action on `e164` (`FILTER.E164` for `DID.UPDATE`, which
/// selects by filter) with the `extra` parameters.
async fn number_call(s: &TestServer, action: &str, e164: &str, extra: &Params<'_>) -> Reply {
    let name = if action == "DID.UPDATE" {
        "FILTER.E164"
    } else {
        "E164"
    };
    let mut params = vec![(name, e164)];
    params.extend_from_slice(extra);
    s.call(action, &params).await
}

/// The `ERROR` of `r` with `e164` replaced, so that replies about two
/// different numbers can be compared.
fn masked(r: &Reply, e164: &str) -> String {
    r.error().replace(e164, "<E164>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_of_another_tree_are_not_found_and_never_revealed() {
    let s = TestServer::start().await;
    let other = s.new_account(10_000).await;
    // The other tree owns one active and one canceled number.
    let r = s
        .call_as(
            &other.api_key,
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("QUANTITY", "2"),
                ("TITLE", "Theirs"),
            ],
        )
        .await
        .ok();
    let (active, canceled) = (r.e164s()[0].clone(), r.e164s()[1].clone());
    s.call_as(&other.api_key, "DID.CANCEL", &[("E164", &canceled)])
        .await
        .ok();

    // Each action, with the other tree's number and with a number that
    // exists nowhere: both NOT_FOUND, in the same words.
    let update = [
        ("TITLE", "Mine now"),
        ("CALL_FORWARD_TYPE", "PHONE"),
        ("CALL_FORWARD_TO", "14155550123"),
    ];
    let to_me = [("TO_ACCOUNT_NUMBER", s.account.as_str())];
    let cases: [(&str, &str, &Params); 5] = [
        ("DID.CANCEL", &active, &[]),
        ("DID.RESTORE", &canceled, &[]),
        ("DID.MOVE", &active, &to_me),
        ("DID.UPDATE", &active, &update),
        // A canceled number of theirs is no more visible than an active one.
        ("DID.MOVE", &canceled, &to_me),
    ];
    for (action, theirs, extra) in cases {
        let foreign = number_call(&s, action, theirs, extra)
            .await
            .fails("NOT_FOUND");
        let missing = number_call(&s, action, NOWHERE, extra)
            .await
            .fails("NOT_FOUND");
        assert_eq!(
            masked(&foreign, theirs),
            masked(&missing, NOWHERE),
            "{action}: a foreign number is answered differently from a missing one"
        );
        assert!(
            !foreign.body.contains(&other.account_number),
            "{action} reveals the owner: {}",
            foreign.body
        );
    }
    // Listing with the number as a filter finds nothing either.
    let listed = s.call("DID.LIST", &[("FILTER.E164", &active)]).await.ok();
    assert_eq!(
        listed.value("TOTAL").as_deref(),
        Some("0"),
        "{}",
        listed.body
    );

    // None of it touched the other tree's numbers.
    let theirs = s.call_as(&other.api_key, "DID.LIST", &[]).await.ok();
    let dids = theirs.elements("DID");
    assert_eq!(theirs.e164s(), [active.clone(), canceled.clone()]);
    assert_eq!(dids[0]["STATUS"], "Active");
    assert_eq!(dids[0]["TITLE"], "Theirs");
    assert_eq!(dids[0]["ACCOUNT_NUMBER"], other.account_number);
    assert_eq!(dids[1]["STATUS"], "Canceled");
    s.stop().await;
}

// ---------------------------------------------------------------- SIGNATURE

/// Lower-case hex HMAC-SHA1 of `message` keyed with `secret`: Anveo's
/// `SIGNATURE`, computed independently of the server's code.
fn hmac_sha1_hex(secret: &str, message: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A top-level account with 100.00 that requires a signature.
async fn signed_account(s: &TestServer) -> CreatedKey {
    s.admin(|db| {
        admin::create_account_with(
            db,
            "Signed",
            None,
            Money100(10_000),
            None,
            Signing {
                email: "ops@example.com".into(),
                secret: Some("s3cret-key".into()),
            },
        )
        .unwrap()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_is_required_when_the_account_has_a_secret() {
    let s = TestServer::start().await;
    let k = signed_account(&s).await;
    let good = hmac_sha1_hex("s3cret-key", "ops@example.com");
    assert_eq!(good.len(), 40);

    let r = s
        .call_as(&k.api_key, "ACCOUNT.GETBALANCE", &[("SIGNATURE", &good)])
        .await
        .ok();
    assert_eq!(r.value("BALANCE100").as_deref(), Some("10000"));
    // SIGNATURE is a parameter the server knows, never an ignored one.
    assert_eq!(r.value("IGNORED_PARAMETERS"), None, "{}", r.body);
    // Mutating actions are signed the same way.
    let r = s
        .call_as(
            &k.api_key,
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("SIGNATURE", &good),
            ],
        )
        .await
        .ok();
    assert_eq!(r.e164s(), ["12121111111"]);

    // Missing, wrong, or computed over another e-mail or with another
    // secret: each fails like a wrong key, with the one message.
    let wrong_email = hmac_sha1_hex("s3cret-key", "dev@example.com");
    let wrong_secret = hmac_sha1_hex("s3cret-kez", "ops@example.com");
    let mut flipped = good.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    assert_auth_failed(s.call_as(&k.api_key, "ACCOUNT.GETBALANCE", &[]).await);
    for bad in [
        "",
        "not-hex",
        &good[..38],
        &flipped,
        &wrong_email,
        &wrong_secret,
    ] {
        let r = s
            .call_as(&k.api_key, "ACCOUNT.GETBALANCE", &[("SIGNATURE", bad)])
            .await;
        assert_auth_failed(r);
    }
    // An unsigned order is refused before it does anything.
    assert_auth_failed(
        s.call_as(
            &k.api_key,
            "DID.ORDER",
            &[("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)],
        )
        .await,
    );
    let r = s
        .call_as(&k.api_key, "ACCOUNT.GETBALANCE", &[("SIGNATURE", &good)])
        .await
        .ok();
    assert_eq!(r.value("BALANCE100").as_deref(), Some("9602"), "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_is_ignored_without_a_secret() {
    let s = TestServer::start().await;
    // The demo account has no secret: any SIGNATURE is accepted, and it is
    // not reported as ignored, though a truly unknown parameter is.
    for sig in [
        "",
        "garbage",
        &hmac_sha1_hex("s3cret-key", "ops@example.com"),
    ] {
        let r = s
            .call("ACCOUNT.GETBALANCE", &[("SIGNATURE", sig)])
            .await
            .ok();
        assert_eq!(r.value("IGNORED_PARAMETERS"), None, "{}", r.body);
    }
    let r = s
        .call(
            "ACCOUNT.GETBALANCE",
            &[("SIGNATURE", "garbage"), ("COLOUR", "blue")],
        )
        .await
        .ok();
    assert_eq!(r.value("IGNORED_PARAMETERS").as_deref(), Some("COLOUR"));
    s.stop().await;
}

// ------------------------------------------------------------- history CLI

/// The key id of a key `dg_<key id>_<secret>`: the public half.
fn key_id_of(key: &str) -> &str {
    key.strip_prefix("dg_")
        .and_then(|r| r.split('_').next())
        .expect("key of the form dg_<id>_<secret>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_cli_lists_order_update_move_and_cancel() {
    let s = TestServer::start().await;
    let sub = create_sub(&s, "History").await;
    let r = s
        .call(
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", NY_AREA),
                ("TITLE", "Before"),
            ],
        )
        .await
        .ok();
    let e164 = r.e164s()[0].clone();
    s.call(
        "DID.UPDATE",
        &[
            ("FILTER.E164", &e164),
            ("TITLE", "After"),
            ("CALL_FORWARD_TYPE", "PHONE"),
            ("CALL_FORWARD_TO", "14155550123"),
        ],
    )
    .await
    .ok();
    s.call("DID.MOVE", &[("E164", &e164), ("TO_ACCOUNT_NUMBER", &sub)])
        .await
        .ok();
    s.call("DID.CANCEL", &[("ACCOUNT_NUMBER", &sub), ("E164", &e164)])
        .await
        .ok();

    let db = s.db_path.clone();
    let number = e164.clone();
    let out = tokio::task::spawn_blocking(move || didgate(&db, &["history", "--e164", &number]))
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let key_id = key_id_of(&s.key);
    let line = |event: &str, needle: &str| {
        lines
            .iter()
            .copied()
            .find(|l| l.contains(event) && l.contains(needle))
            .unwrap_or_else(|| panic!("no {event} line with {needle:?} in:\n{stdout}"))
    };

    // Every event names the account it happened to and the key that did it.
    let ordered = line("ordered", &s.account);
    assert!(ordered.contains(key_id), "{ordered}");
    // An update records each changed field with its old and new value.
    let title = line("updated", "TITLE");
    assert!(
        title.contains("Before") && title.contains("After"),
        "{title}"
    );
    assert!(
        title.contains(&s.account) && title.contains(key_id),
        "{title}"
    );
    let forward = line("updated", "CALL_FORWARD_TYPE");
    assert!(
        forward.contains("CALLFLOW") && forward.contains("PHONE"),
        "{forward}"
    );
    let target = line("updated", "CALL_FORWARD_TO");
    assert!(
        target.contains(DEMO_FORWARD_TO) && target.contains("14155550123"),
        "{target}"
    );
    // A move names both accounts; the cancel happened in the sub-account.
    let moved = line("moved", &sub);
    assert!(
        moved.contains(&s.account) && moved.contains(key_id),
        "{moved}"
    );
    let canceled = line("canceled", &sub);
    assert!(canceled.contains(key_id), "{canceled}");
    // Oldest first, as they happened.
    let position = |l: &str| lines.iter().position(|x| *x == l).unwrap();
    assert!(position(ordered) < position(title));
    assert!(position(title) < position(moved));
    assert!(position(moved) < position(canceled));
    // The key's secret half never reaches the output.
    let secret = s.key.rsplit('_').next().unwrap();
    assert!(!stdout.contains(secret), "{stdout}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_cli_of_an_unknown_number_says_no_history() {
    let s = TestServer::start().await;
    let db = s.db_path.clone();
    let out = tokio::task::spawn_blocking(move || didgate(&db, &["history", "--e164", NOWHERE]))
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("no history"), "{stdout}");
    assert!(stdout.contains(NOWHERE), "{stdout}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_cli_of_a_bad_number_fails_with_one_line() {
    let s = TestServer::start().await;
    for bad in ["12ab", "123", "0123456789"] {
        let db = s.db_path.clone();
        let out = tokio::task::spawn_blocking(move || didgate(&db, &["history", "--e164", bad]))
            .await
            .unwrap();
        assert!(!out.status.success(), "{bad}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // One line that names the option, no backtrace or usage dump.
        assert_eq!(stderr.trim_end().lines().count(), 1, "{bad}: {stderr}");
        assert!(stderr.contains("--e164"), "{bad}: {stderr}");
        assert!(out.stdout.is_empty(), "{bad}: {out:?}");
    }
    s.stop().await;
}

/// Keys created before schema version 4 have no tag: they must keep
/// working (verified by Argon2 alone), and wrong keys for them must still
/// fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_without_a_tag_still_authenticate() {
    let s = TestServer::start().await;
    let k = s.new_account(10_000).await;
    {
        let conn = rusqlite::Connection::open(&s.db_path).unwrap();
        let n = conn
            .execute("UPDATE api_keys SET tag = NULL WHERE id = ?1", [&k.key_id])
            .unwrap();
        assert_eq!(n, 1);
    }
    s.call_as(&k.api_key, "ACCOUNT.GETBALANCE", &[]).await.ok();
    let mut wrong = k.api_key.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    assert_auth_failed(s.call_as(&wrong, "ACCOUNT.GETBALANCE", &[]).await);
}
