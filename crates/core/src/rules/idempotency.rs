//! Idempotency: a mutation with a `REQUEST_ID` runs at most once per
//! account. The first outcome is kept with the change, in the same
//! transaction; a retry with the same command gets it again (each front
//! renders it in its own shape), one with another command is `CONFLICT`.

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};

use crate::command::Command;
use crate::domain::{RequestId, UnixTime};
use crate::engine::Tx;
use crate::error::{DomainError, Error};
use crate::outcome::Outcome;

/// Feeds `Hash` into SHA-256, so a command's fingerprint is computed from
/// its typed value (the same whichever front decoded it) without a
/// serialisation format in the core.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Only the full digest is used (see `fingerprint`).
        0
    }
}

/// Identifies "the same request" for one account: the command and every
/// value in it, whichever front it came through.
pub fn fingerprint(account_id: i64, command: &Command) -> [u8; 32] {
    digest(Some(account_id), command)
}

/// A command's digest, with or without the account (catalog reads are the
/// same for everyone, so their cache entries are shared).
pub(crate) fn digest(account_id: Option<i64>, command: &Command) -> [u8; 32] {
    let mut h = Sha256Hasher(Sha256::new());
    account_id.hash(&mut h);
    command.hash(&mut h);
    h.0.finalize().into()
}

/// Runs `run` at most once for `(account_id, request_id)`: a repeat with
/// the same fingerprint gets the kept outcome, one with another
/// fingerprint `CONFLICT`. Without a request id `run` simply runs.
pub fn once(
    tx: &mut dyn Tx,
    key: Option<(i64, &RequestId, [u8; 32])>,
    now: UnixTime,
    run: impl FnOnce(&mut dyn Tx) -> Result<Outcome, Error>,
) -> Result<Outcome, Error> {
    let Some((account_id, request_id, fingerprint)) = key else {
        return run(tx);
    };
    if let Some(seen) = tx.idempotency(account_id, request_id)? {
        return match seen.outcome {
            Some(outcome) if seen.fingerprint == fingerprint => Ok(outcome),
            _ => Err(DomainError::Conflict(format!(
                "REQUEST_ID {request_id} was already used with other parameters: use a new REQUEST_ID"
            ))
            .into()),
        };
    }
    let outcome = run(tx)?;
    tx.remember(account_id, request_id, &fingerprint, &outcome, now)?;
    Ok(outcome)
}
