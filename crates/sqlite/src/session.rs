//! [`Session`]: the core's [`Reads`] and [`Tx`] over one connection, each
//! operation handed to the module that holds its SQL. A read thread lends
//! it as `&mut dyn Reads` inside its read transaction, the writer as
//! `&mut dyn Tx` inside a job's savepoint, `Db` inside its own
//! transactions; which transaction it runs in is always the lender's.

use didgate_core::domain::{
    AccountNumber, Area, AreaCode, AreaId, ContainsPattern, Country, CountryId, Did, DidFilter,
    DidType, E164, KeyId, Money100, RequestId, ReservationId, State, UnixTime,
};
use didgate_core::engine::{
    AccountRecord, AreaRecord, Assignment, HistoryEvent, IdempotencyRecord, KeyRecord, LedgerEntry,
    NewAccount, NewKey, NewOrder, NewReservation, NumberRecord, NumberSettings, Reads,
    ReservationRecord, ReservationState, StoreResult, Tx,
};
use didgate_core::outcome::Outcome;
use rusqlite::Connection;

use crate::search::{self, Snapshots};
use crate::{accounts, catalog, dids, history, idempotency, ledger, numbers, reservations};

pub(crate) struct Session<'c> {
    conn: &'c Connection,
    snapshots: Snapshots<'c>,
}

impl<'c> Session<'c> {
    pub(crate) fn new(conn: &'c Connection, snapshots: Snapshots<'c>) -> Session<'c> {
        Session { conn, snapshots }
    }

    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }
}

impl Reads for Session<'_> {
    fn countries(&mut self, did_type: Option<DidType>) -> StoreResult<Vec<Country>> {
        catalog::countries(self.conn, did_type)
    }

    fn country_exists(&mut self, id: &CountryId) -> StoreResult<bool> {
        catalog::country_exists(self.conn, id)
    }

    fn states(
        &mut self,
        country: &CountryId,
        did_type: Option<DidType>,
    ) -> StoreResult<Vec<State>> {
        catalog::states(self.conn, country, did_type)
    }

    fn state_country(&mut self, state_id: &str) -> StoreResult<Option<String>> {
        catalog::state_country(self.conn, state_id)
    }

    fn areas(
        &mut self,
        country: Option<&CountryId>,
        state: Option<&str>,
        did_type: Option<DidType>,
    ) -> StoreResult<Vec<Area>> {
        catalog::areas(self.conn, country, state, did_type)
    }

    fn area(&mut self, id: &AreaId) -> StoreResult<Option<AreaRecord>> {
        catalog::area(self.conn, id)
    }

    fn areas_with_code(
        &mut self,
        country: &CountryId,
        code: &AreaCode,
    ) -> StoreResult<Vec<AreaRecord>> {
        catalog::areas_with_code(self.conn, country, code)
    }

    fn lowest_available(&mut self, area: &AreaId, n: u32) -> StoreResult<Vec<E164>> {
        numbers::lowest_available(self.conn, area, n)
    }

    fn available_matching(
        &mut self,
        area: &AreaId,
        pattern: &ContainsPattern,
        limit: u32,
    ) -> StoreResult<Vec<E164>> {
        search::available_matching(self.conn, self.snapshots, area, pattern, limit)
    }

    fn number(&mut self, e164: &E164) -> StoreResult<Option<NumberRecord>> {
        numbers::number(self.conn, e164)
    }

    fn dids(&mut self, e164s: &[E164]) -> StoreResult<Vec<Did>> {
        dids::dids(self.conn, e164s)
    }

    fn list_dids(
        &mut self,
        account_id: i64,
        filter: &DidFilter,
        limit: u32,
        offset: u64,
    ) -> StoreResult<(Vec<Did>, u64)> {
        dids::list_dids(self.conn, account_id, filter, limit, offset)
    }

    fn select_numbers(
        &mut self,
        account_id: i64,
        filter: &DidFilter,
    ) -> StoreResult<Vec<NumberRecord>> {
        numbers::select_numbers(self.conn, account_id, filter)
    }

    fn reservation(&mut self, id: &ReservationId) -> StoreResult<Option<ReservationRecord>> {
        reservations::reservation(self.conn, id)
    }

    fn newest_open_reservation(
        &mut self,
        account_id: i64,
        now: UnixTime,
    ) -> StoreResult<Option<ReservationId>> {
        reservations::newest_open_reservation(self.conn, account_id, now)
    }

    fn held(&mut self, id: &ReservationId) -> StoreResult<Vec<(E164, AreaId)>> {
        reservations::held(self.conn, id)
    }

    fn account(&mut self, number: &AccountNumber) -> StoreResult<Option<AccountRecord>> {
        accounts::account(self.conn, number)
    }

    fn account_by_id(&mut self, id: i64) -> StoreResult<Option<AccountRecord>> {
        accounts::account_by_id(self.conn, id)
    }

    fn is_below(&mut self, account: i64, ancestor: i64) -> StoreResult<bool> {
        accounts::is_below(self.conn, account, ancestor)
    }

    fn balance(&mut self, root_id: i64) -> StoreResult<Money100> {
        accounts::balance(self.conn, root_id)
    }

    fn count_active_numbers(&mut self, account_id: i64) -> StoreResult<u64> {
        numbers::count_active_numbers(self.conn, account_id)
    }

    fn count_live_subaccounts(&mut self, account_id: i64) -> StoreResult<u64> {
        accounts::count_live_subaccounts(self.conn, account_id)
    }

    fn key_record(&mut self, key_id: &KeyId) -> StoreResult<Option<KeyRecord>> {
        accounts::key_record(self.conn, key_id)
    }

    fn sweep_due(&mut self, now: UnixTime) -> StoreResult<bool> {
        numbers::sweep_due(self.conn, now)
    }
}

impl Tx for Session<'_> {
    fn insert_order(&mut self, order: &NewOrder<'_>) -> StoreResult<i64> {
        ledger::insert_order(self.conn, order)
    }

    fn insert_ledger(&mut self, entry: &LedgerEntry<'_>) -> StoreResult<()> {
        ledger::insert_ledger(self.conn, entry)
    }

    fn assign(&mut self, e164: &E164, to: &Assignment<'_>) -> StoreResult<bool> {
        numbers::assign(self.conn, e164, to)
    }

    fn set_settings(&mut self, e164: &E164, settings: &NumberSettings) -> StoreResult<()> {
        numbers::set_settings(self.conn, e164, settings)
    }

    fn start_aging(&mut self, e164: &E164, until: UnixTime) -> StoreResult<()> {
        numbers::start_aging(self.conn, e164, until)
    }

    fn reactivate(&mut self, e164: &E164) -> StoreResult<()> {
        numbers::reactivate(self.conn, e164)
    }

    fn set_owner(&mut self, e164: &E164, account_id: i64) -> StoreResult<()> {
        numbers::set_owner(self.conn, e164, account_id)
    }

    fn aged(&mut self, now: UnixTime, limit: u32) -> StoreResult<Vec<(E164, Option<i64>)>> {
        numbers::aged(self.conn, now, limit)
    }

    fn return_to_stock(&mut self, e164: &E164) -> StoreResult<bool> {
        numbers::return_to_stock(self.conn, e164)
    }

    fn record(&mut self, event: &HistoryEvent<'_>) -> StoreResult<()> {
        history::record(self.conn, event)
    }

    fn insert_reservation(&mut self, r: &NewReservation<'_>) -> StoreResult<()> {
        reservations::insert_reservation(self.conn, r)
    }

    fn set_reservation_expiry(&mut self, id: &ReservationId, at: UnixTime) -> StoreResult<()> {
        reservations::set_reservation_expiry(self.conn, id, at)
    }

    fn set_reservation_state(
        &mut self,
        id: &ReservationId,
        state: ReservationState,
        order_id: Option<i64>,
    ) -> StoreResult<()> {
        reservations::set_reservation_state(self.conn, id, state, order_id)
    }

    fn hold(&mut self, e164: &E164, id: &ReservationId) -> StoreResult<bool> {
        reservations::hold(self.conn, e164, id)
    }

    fn release(&mut self, id: &ReservationId) -> StoreResult<u64> {
        reservations::release(self.conn, id)
    }

    fn expired_reservations(
        &mut self,
        now: UnixTime,
        limit: u32,
    ) -> StoreResult<Vec<ReservationId>> {
        reservations::expired_reservations(self.conn, now, limit)
    }

    fn insert_account(&mut self, account: &NewAccount<'_>) -> StoreResult<i64> {
        accounts::insert_account(self.conn, account)
    }

    fn retire_account(&mut self, id: i64, at: UnixTime) -> StoreResult<()> {
        accounts::retire_account(self.conn, id, at)
    }

    fn insert_key(&mut self, key: &NewKey<'_>) -> StoreResult<()> {
        accounts::insert_key(self.conn, key)
    }

    fn revoke_key(&mut self, id: &KeyId, at: UnixTime) -> StoreResult<bool> {
        accounts::revoke_key(self.conn, id, at)
    }

    fn idempotency(
        &mut self,
        account_id: i64,
        request_id: &RequestId,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        idempotency::idempotency(self.conn, account_id, request_id)
    }

    fn remember(
        &mut self,
        account_id: i64,
        request_id: &RequestId,
        fingerprint: &[u8; 32],
        outcome: &Outcome,
        at: UnixTime,
    ) -> StoreResult<()> {
        idempotency::remember(self.conn, account_id, request_id, fingerprint, outcome, at)
    }
}
