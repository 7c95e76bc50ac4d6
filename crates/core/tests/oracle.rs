//! Checks of the test oracle itself (`common::Mem`, `common::transact`):
//! where the in-memory engine could be wrong in a way that would hide a
//! rule's bug, it is tested here.

mod common;

use common::{Mem, NOW, glob, transact};
use didgate_core::domain::Money100;
use didgate_core::engine::{LedgerEntry, LedgerKind, NewAccount, NewKey, Reads, Tx};
use didgate_core::error::{Error, StoreError};

#[test]
fn glob_star_matches_any_run_of_digits() {
    assert!(glob(b"1212*", b"12125550000"));
    assert!(glob(b"*0000", b"12125550000"));
    assert!(glob(b"1*5*0", b"12125550000"));
    assert!(glob(b"12125550000", b"12125550000"));
    assert!(glob(b"*", b""));
    assert!(!glob(b"1213*", b"12125550000"));
    assert!(!glob(b"1212", b"12125550000"));
}

fn charge(account_id: i64, amount: i64) -> LedgerEntry<'static> {
    LedgerEntry {
        account_id,
        amount,
        kind: LedgerKind::Charge,
        order_id: None,
        key_id: None,
        memo: String::new(),
        at: NOW,
    }
}

#[test]
fn ledger_refuses_a_negative_balance() {
    let mut m = Mem::new();
    let root = m.add_root(100);
    assert!(matches!(
        m.insert_ledger(&charge(root, -101)),
        Err(StoreError::Constraint(_))
    ));
    assert_eq!(m.ledger.len(), 1);
    m.insert_ledger(&charge(root, -100)).unwrap();
    assert_eq!(m.balance(root).unwrap(), Money100(0));
    assert_eq!(m.ledger.len(), 2);
}

#[test]
fn ledger_refuses_sub_accounts_and_mislabelled_rows() {
    let mut m = Mem::new();
    let root = m.add_root(100);
    let sub = m.add_sub(root);
    assert!(matches!(
        m.insert_ledger(&charge(sub, -1)),
        Err(StoreError::Constraint(_))
    ));
    // A "charge" that adds money, and an empty row.
    assert!(matches!(
        m.insert_ledger(&charge(root, 5)),
        Err(StoreError::Constraint(_))
    ));
    assert!(matches!(
        m.insert_ledger(&charge(root, 0)),
        Err(StoreError::Constraint(_))
    ));
    assert_eq!(m.ledger.len(), 1);
}

#[test]
fn transact_rolls_back_on_error_and_keeps_on_success() {
    let mut m = Mem::new();
    let root = m.add_root(0);
    let before = m.clone();
    let r: Result<(), Error> = transact(&mut m, |tx| {
        tx.retire_account(root, NOW)?;
        Err(StoreError::Internal("stop".into()).into())
    });
    assert!(r.is_err());
    assert_eq!(m, before);
    transact(&mut m, |tx| Ok(tx.retire_account(root, NOW)?)).unwrap();
    assert_ne!(m, before);
    assert!(m.account_by_id(root).unwrap().is_none());
}

#[test]
fn taken_account_numbers_and_key_ids_are_duplicates() {
    let mut m = Mem::new();
    let root = m.add_root(0);
    let number = m.row(root).number.clone();
    // Retired accounts keep their numbers: UNIQUE covers every row.
    m.retire_account(root, NOW).unwrap();
    let again = NewAccount {
        number: &number,
        name: "",
        email: "",
        signature_secret: None,
        parent: None,
        forward_type: "",
        forward_to: "",
        at: NOW,
    };
    assert!(matches!(
        m.insert_account(&again),
        Err(StoreError::Duplicate(_))
    ));
    let other = m.add_root(0);
    let p = m.principal(other);
    let key = NewKey {
        id: &p.key_id,
        account_id: other,
        hash: "",
        tag: 0,
        at: NOW,
    };
    assert!(matches!(m.insert_key(&key), Err(StoreError::Duplicate(_))));
}

#[test]
fn is_below_is_strict_and_transitive() {
    let mut m = Mem::new();
    let root = m.add_root(0);
    let child = m.add_sub(root);
    let grandchild = m.add_sub(child);
    let other = m.add_root(0);
    assert!(m.is_below(child, root).unwrap());
    assert!(m.is_below(grandchild, root).unwrap());
    assert!(m.is_below(grandchild, child).unwrap());
    assert!(!m.is_below(root, root).unwrap());
    assert!(!m.is_below(root, child).unwrap());
    assert!(!m.is_below(grandchild, other).unwrap());
    assert_eq!(m.row(grandchild).root_id, root);
}
