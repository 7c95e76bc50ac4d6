//! The core's `Authenticator` over a real `Store`: the key tag spares
//! Argon2 for wrong keys, and concurrent first uses verify a key once.

use std::sync::Arc;
use std::time::Duration;

use didgate_core::Error;
use didgate_core::auth::{Authenticator, Presented, generate_key, tag_of};
use didgate_core::domain::{AccountNumber, now};
use didgate_core::engine::{Engine, NewAccount, NewKey};
use didgate_sqlite::{Db, Store, StoreOptions};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A server-side authenticator over a fresh database with one account
/// and its key.
async fn one_account() -> (tempfile::TempDir, Authenticator, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let (store, key) = didgate_core::blocking::run(move || {
        let mut db = Db::open(&path).unwrap();
        let key = generate_key();
        let number = AccountNumber::parse("1000000001").unwrap();
        db.transact(|tx| {
            let account_id = tx.insert_account(&NewAccount {
                number: &number,
                name: "Auth",
                email: "",
                signature_secret: None,
                parent: None,
                forward_type: "",
                forward_to: "",
                at: now(),
            })?;
            tx.insert_key(&NewKey {
                id: &key.key_id,
                account_id,
                hash: &key.hash,
                tag: key.tag,
                at: now(),
            })?;
            Ok(())
        })
        .unwrap();
        (
            Store::open(&path, StoreOptions::default()).unwrap(),
            key.api_key,
        )
    })
    .await;
    let engine = Arc::new(store) as Arc<dyn Engine>;
    (
        dir,
        Authenticator::new(engine, 1, Duration::from_secs(60)),
        key,
    )
}

/// The key with its secret replaced by `secret` (64 hex digits).
fn with_secret(key: &str, secret: &str) -> String {
    format!("{}_{secret}", &key[..key.len() - 65])
}

fn tag(key: &str) -> u16 {
    tag_of(&Sha256::digest(key.as_bytes()).into())
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_keys_with_another_tag_never_reach_argon2() {
    let (_dir, auth, key) = one_account().await;
    let tag_of_key = tag(&key);
    let mut rng = rand::rng();
    let mut refused = 0;
    while refused < 20 {
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        let wrong = with_secret(&key, &hex::encode(secret));
        if tag(&wrong) == tag_of_key {
            continue;
        }
        assert!(matches!(
            auth.authenticate(&Presented::new(&wrong)).await,
            Err(Error::AuthFailed)
        ));
        refused += 1;
    }
    assert_eq!(auth.verifications(), 0);
    // A wrong key that happens to share the tag is refused by Argon2.
    let same_tag = (0u64..)
        .map(|i| with_secret(&key, &format!("{i:064x}")))
        .find(|k| k != &key && tag(k) == tag_of_key)
        .unwrap();
    assert!(matches!(
        auth.authenticate(&Presented::new(&same_tag)).await,
        Err(Error::AuthFailed)
    ));
    assert_eq!(auth.verifications(), 1);
    assert!(auth.authenticate(&Presented::new(&key)).await.is_ok());
    assert_eq!(auth.verifications(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_first_uses_of_a_key_verify_it_once() {
    let (_dir, auth, key) = one_account().await;
    let auth = Arc::new(auth);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (auth, key) = (auth.clone(), key.clone());
            tokio::spawn(async move { auth.authenticate(&Presented::new(&key)).await.is_ok() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
    assert_eq!(auth.verifications(), 1);
}
