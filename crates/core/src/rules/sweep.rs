//! The sweep: numbers whose aging ended and reservations that expired go
//! back to stock, without any request.

use crate::domain::UnixTime;
use crate::engine::Tx;
use crate::error::Error;
use crate::outcome::Outcome;

/// Returns aged numbers and expired reservations' numbers to stock.
pub fn sweep(tx: &mut dyn Tx, now: UnixTime) -> Result<Outcome, Error> {
    let aged = super::numbers::return_aged(tx, now)?;
    Ok(Outcome::Released(aged + super::reserve::expire(tx, now)?))
}
