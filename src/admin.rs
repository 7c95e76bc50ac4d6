//! Operator commands behind the CLI (`account`, `key`, `inventory`,
//! `serve --demo`), as library functions so tests can call them too.

use std::path::Path;

use serde::Serialize;

use didgate_core::Error;
use didgate_core::auth::generate_key;
use didgate_core::domain::{AccountNumber, ForwardType, Forwarding, KeyId, Label, Money100, now};
use didgate_core::rules::accounts::{self, AccountSpec};

use crate::inventory::{self, Source};
use crate::store::{Db, ImportStats};

/// What `account create` and `key create` print; the key is shown only here.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedKey {
    pub account_number: String,
    pub api_key: String,
    pub key_id: String,
}

/// Parses the `--forward-type`/`--forward-to` pair.
pub fn forwarding(kind: Option<&str>, target: Option<&str>) -> Result<Option<Forwarding>, Error> {
    match (kind, target) {
        (None, None) => Ok(None),
        (Some(k), Some(t)) => {
            let k =
                ForwardType::parse(k).map_err(|e| Error::Input(format!("--forward-type {e}")))?;
            Forwarding::parse(k, t)
                .map(Some)
                .map_err(|e| Error::Input(format!("--forward-to: {e}")))
        }
        _ => Err(Error::Input(
            "give --forward-type and --forward-to together".into(),
        )),
    }
}

pub fn parse_account(s: &str) -> Result<AccountNumber, Error> {
    AccountNumber::parse(s).map_err(|e| Error::Input(format!("account number {e}")))
}

pub fn create_account(
    db: &mut Db,
    name: &str,
    parent: Option<AccountNumber>,
    credit: Money100,
    forwarding: Option<Forwarding>,
) -> Result<CreatedKey, Error> {
    create_account_with(db, name, parent, credit, forwarding, Signing::default())
}

/// The optional `SIGNATURE` settings of a new account.
#[derive(Debug, Default, Clone)]
pub struct Signing {
    pub email: String,
    pub secret: Option<String>,
}

/// [`create_account`] with an e-mail and signature secret.
pub fn create_account_with(
    db: &mut Db,
    name: &str,
    parent: Option<AccountNumber>,
    credit: Money100,
    forwarding: Option<Forwarding>,
    signing: Signing,
) -> Result<CreatedKey, Error> {
    if signing.secret.is_some() && signing.email.is_empty() {
        return Err(Error::Input(
            "--signature-secret needs --email: the signature is computed over it".into(),
        ));
    }
    if signing.secret.as_deref().is_some_and(|s| s.len() < 8) {
        return Err(Error::Input(
            "--signature-secret must be at least 8 characters".into(),
        ));
    }
    let name = Label::parse(name.trim())
        .ok()
        .filter(|n| !n.as_str().is_empty())
        .ok_or_else(|| {
            Error::Input("--name must be 1 to 255 characters without control characters".into())
        })?;
    let key = generate_key();
    let spec = AccountSpec {
        name: &name,
        email: &signing.email,
        signature_secret: signing.secret.as_deref(),
        parent: None,
        forwarding: forwarding.as_ref(),
    };
    let number = db
        .transact(|tx| accounts::create_account(tx, &spec, parent.as_ref(), credit, &key, now()))?;
    Ok(CreatedKey {
        account_number: number.to_string(),
        api_key: key.api_key,
        key_id: key.key_id.to_string(),
    })
}

pub fn create_key(db: &mut Db, account: &AccountNumber) -> Result<CreatedKey, Error> {
    let key = generate_key();
    db.transact(|tx| accounts::add_key(tx, account, &key, now()))?;
    Ok(CreatedKey {
        account_number: account.to_string(),
        api_key: key.api_key,
        key_id: key.key_id.to_string(),
    })
}

pub fn revoke_key(db: &mut Db, key_id: &str) -> Result<(), Error> {
    let id = KeyId::parse(key_id).map_err(|e| Error::Input(format!("--key-id {e}")))?;
    db.transact(|tx| accounts::revoke_key(tx, &id, now()))
}

pub fn credit(db: &mut Db, account: &AccountNumber, amount: Money100) -> Result<Money100, Error> {
    db.transact(|tx| accounts::credit(tx, account, amount, now()))
}

/// `inventory import` from files.
pub fn import_files(
    db: &mut Db,
    catalog: &Path,
    numbers: Option<&Path>,
) -> Result<ImportStats, Error> {
    let open = |p: &Path| {
        std::fs::File::open(p)
            .map(std::io::BufReader::new)
            .map_err(|e| Error::Input(format!("{}: {e}", p.display())))
    };
    let catalog = Source {
        name: catalog.display().to_string(),
        reader: open(catalog)?,
    };
    let numbers = match numbers {
        Some(p) => Some(Source {
            name: p.display().to_string(),
            reader: open(p)?,
        }),
        None => None,
    };
    inventory::import(db, catalog, numbers)
}

/// The demo inventory, embedded so the binary needs no files beside it.
pub const DEMO_CATALOG: &str = include_str!("../fixtures/demo/catalog.csv");
pub const DEMO_NUMBERS: &str = include_str!("../fixtures/demo/numbers.csv");
/// The demo account's default forwarding, from the seed's example reply.
pub const DEMO_FORWARD: (&str, &str) = ("CALLFLOW", "8c25e06faf2b98erts3gdtb83df91b307ff287f1");
/// The demo account's starting balance: 100.00.
pub const DEMO_CREDIT: Money100 = Money100(10_000);

/// Fills a database with the demo inventory and a demo account.
pub fn demo_setup(db: &mut Db) -> Result<CreatedKey, Error> {
    inventory::import(
        db,
        Source {
            name: "fixtures/demo/catalog.csv".into(),
            reader: DEMO_CATALOG.as_bytes(),
        },
        Some(Source {
            name: "fixtures/demo/numbers.csv".into(),
            reader: DEMO_NUMBERS.as_bytes(),
        }),
    )?;
    let fwd = forwarding(Some(DEMO_FORWARD.0), Some(DEMO_FORWARD.1))?;
    create_account(db, "Demo", None, DEMO_CREDIT, fwd)
}

/// The seed's `DID.ORDER` request, with `key` filled in: an envelope
/// only the Anveo front knows how to write.
pub fn demo_order_xml(key: &str) -> String {
    didgate_anveo::envelope(
        key,
        "DID.ORDER",
        &[
            ("DID_TYPE", "GEOGRAPHIC"),
            ("AREA_ID", "123.123.123.123.123.123.123.123.123"),
            ("RATE_PLAN_ID", "SU"),
            ("QUANTITY", "1"),
            ("TITLE", "ABCDEF"),
        ],
    )
}
