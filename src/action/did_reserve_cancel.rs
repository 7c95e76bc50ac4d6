//! `DID.RESERVE.CANCEL`: give a reservation's numbers back to stock now.

use super::{Ctx, Params};
use crate::domain::ReservationId;
use crate::error::Error;
use crate::store::{CancelReservationSpec, Mutation};

pub fn parse(p: &mut Params) -> Result<ReservationId, Error> {
    Ok(p.require("RESERVATION_ID", ReservationId::parse)?)
}

pub async fn execute(ctx: &Ctx, id: ReservationId) -> Result<Vec<u8>, Error> {
    ctx.mutate(Mutation::CancelReservation(CancelReservationSpec {
        principal: ctx.principal.clone(),
        id,
    }))
    .await
}
