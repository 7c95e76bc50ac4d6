//! The storage interface: what the rules need from a database, as plain
//! operations, and how a request reaches them.
//!
//! An engine (SQLite, PostgreSQL) implements [`Engine`]: it runs a read in
//! one consistent snapshot ([`Reads`]) and a write in one transaction
//! ([`Tx`]), off the async workers, and answers a write only once it is
//! durable. How it does that (threads, group commit, pools, locks) is its
//! own business. The rules (`crate::rules`) decide everything else, so an
//! engine holds no business rule; its schema constraints are the second
//! line of defence. Uniqueness is the engine's: a duplicate unique value is
//! [`StoreError::Duplicate`], whatever the number of writers.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use crate::domain::{
    AccountNumber, Area, AreaCode, AreaId, ContainsPattern, Country, CountryId, Did, DidFilter,
    DidType, E164, KeyId, Money100, NumberState, Principal, RatePlan, RatePlanId, RequestId,
    ReservationId, State, UnixTime,
};
use crate::error::{Error, StoreError};
use crate::outcome::Outcome;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type StoreResult<T> = Result<T, StoreError>;

/// A read's value, typed again by [`Engine::read_with`]'s caller.
pub type ReadValue = Box<dyn Any + Send>;

/// A read, run by the engine in one snapshot.
pub type ReadJob = Box<dyn FnOnce(&mut dyn Reads) -> Result<ReadValue, Error> + Send>;

/// The body of a write, run in a transaction.
pub type WriteFn = dyn FnMut(&mut dyn Tx) -> Result<Outcome, Error> + Send;

/// A write: `run` is called in a fresh transaction (an engine may call it
/// again after a serialisation failure, hence `FnMut`); an `Err` or `test`
/// rolls everything it did back.
pub struct WriteJob {
    pub run: Box<WriteFn>,
    /// `TEST=TRUE`: run, answer, roll back.
    pub test: bool,
}

/// A database, as the service sees it.
pub trait Engine: Send + Sync + 'static {
    /// Runs `job` in one read snapshot, off the async workers.
    fn read(&self, job: ReadJob) -> BoxFuture<'_, Result<ReadValue, Error>>;

    /// Runs `job` in one transaction and answers once it is committed and
    /// durable (or rolled back, for errors and tests). If the commit fails
    /// nothing of the job is kept and the answer is `UNAVAILABLE`.
    fn write(&self, job: WriteJob) -> BoxFuture<'_, Result<Outcome, Error>>;

    /// Moves whenever something was committed: at once for this process's
    /// writes (before their callers hear of them), within
    /// [`Engine::external_delay`] for anyone else's. Equal versions mean
    /// nothing changed, which is what makes the read cache exact.
    fn version(&self) -> u64;

    /// How long another process's commit may go unseen by [`Engine::version`].
    fn external_delay(&self) -> std::time::Duration;

    /// Whether writes are being served (for `/healthz`).
    fn healthy(&self) -> bool;

    /// Every area's stock, for metrics (a cheap read, off the async workers).
    fn stock_by_area(&self) -> BoxFuture<'_, Result<Vec<(String, i64)>, Error>>;

    /// Stops taking work, finishes (and commits) what is queued.
    fn close(&self) -> BoxFuture<'_, ()>;
}

impl dyn Engine {
    /// Runs a typed read (see [`Engine::read`]).
    pub async fn read_with<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Reads) -> Result<T, Error> + Send + 'static,
    {
        let boxed = self
            .read(Box::new(move |r| f(r).map(|v| Box::new(v) as ReadValue)))
            .await?;
        boxed
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| StoreError::Internal("read returned another type".into()).into())
    }

    /// Runs a write (see [`Engine::write`]).
    pub async fn write_with<F>(&self, test: bool, run: F) -> Result<Outcome, Error>
    where
        F: FnMut(&mut dyn Tx) -> Result<Outcome, Error> + Send + 'static,
    {
        self.write(WriteJob {
            run: Box::new(run),
            test,
        })
        .await
    }
}

/// An area as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaRecord {
    pub id: AreaId,
    pub did_type: DidType,
    pub name: String,
    pub area_code: String,
    pub country_name: String,
    /// Every plan the area offers, by id.
    pub plans: Vec<RatePlan>,
}

/// An account as the rules need it (never a deleted one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: i64,
    pub number: AccountNumber,
    pub parent_id: Option<i64>,
    /// The top-level account of the tree: the billing account.
    pub root_id: i64,
    /// The default forwarding of the account's new numbers.
    pub forward_type: String,
    pub forward_to: String,
}

/// What authentication needs to know about a key id.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub hash: String,
    /// 16 bits of the key's SHA-256 (see `auth.rs`); `None` for keys made
    /// before tags existed.
    pub tag: Option<u16>,
    pub revoked: bool,
    pub principal: Principal,
}

/// The settings of an owned number that its owner changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberSettings {
    pub forward_type: String,
    pub forward_to: String,
    pub sms_url: String,
    pub sms_email: String,
    pub sms_phone: String,
    pub title: String,
}

/// A number as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRecord {
    pub e164: E164,
    pub area_id: AreaId,
    pub state: NumberState,
    pub account_id: Option<i64>,
    pub reservation_id: Option<ReservationId>,
    pub aging_until: Option<UnixTime>,
    pub settings: NumberSettings,
}

/// Where a reservation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationState {
    Open,
    Ordered,
    Canceled,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRecord {
    pub id: ReservationId,
    /// The tree that holds it.
    pub root_id: i64,
    pub account_id: i64,
    pub state: ReservationState,
    pub expires_at: UnixTime,
}

/// Reads, inside a read snapshot or a write transaction.
pub trait Reads {
    fn countries(&mut self, did_type: Option<DidType>) -> StoreResult<Vec<Country>>;
    fn country_exists(&mut self, id: &CountryId) -> StoreResult<bool>;
    /// States of a country with at least one area (of `did_type`).
    fn states(&mut self, country: &CountryId, did_type: Option<DidType>)
    -> StoreResult<Vec<State>>;
    /// The country a state belongs to, if the state exists.
    fn state_country(&mut self, state_id: &str) -> StoreResult<Option<String>>;
    /// Areas of a country and/or state (of `did_type`), ordered by name
    /// then id, with stock and plans.
    fn areas(
        &mut self,
        country: Option<&CountryId>,
        state: Option<&str>,
        did_type: Option<DidType>,
    ) -> StoreResult<Vec<Area>>;
    fn area(&mut self, id: &AreaId) -> StoreResult<Option<AreaRecord>>;
    /// Areas of a country with this area code, by id.
    fn areas_with_code(
        &mut self,
        country: &CountryId,
        code: &AreaCode,
    ) -> StoreResult<Vec<AreaRecord>>;

    /// The lowest `n` available numbers of an area, in E.164 order.
    fn lowest_available(&mut self, area: &AreaId, n: u32) -> StoreResult<Vec<E164>>;
    /// The lowest `limit` available numbers of an area whose national part
    /// matches `pattern`, in E.164 order (the engine keeps whatever index
    /// makes this fast).
    fn available_matching(
        &mut self,
        area: &AreaId,
        pattern: &ContainsPattern,
        limit: u32,
    ) -> StoreResult<Vec<E164>>;
    fn number(&mut self, e164: &E164) -> StoreResult<Option<NumberRecord>>;
    /// Owned numbers as the contract's `DID` records, in the order given.
    fn dids(&mut self, e164s: &[E164]) -> StoreResult<Vec<Did>>;
    /// Numbers of `account_id` matching every filter given, in E.164 order:
    /// one page of them and how many match in all. `filter.status` `None`
    /// means every owned number (active and aging).
    fn list_dids(
        &mut self,
        account_id: i64,
        filter: &DidFilter,
        limit: u32,
        offset: u64,
    ) -> StoreResult<(Vec<Did>, u64)>;
    /// Every number of `account_id` matching `filter` (status included, as
    /// given), in E.164 order.
    fn select_numbers(
        &mut self,
        account_id: i64,
        filter: &DidFilter,
    ) -> StoreResult<Vec<NumberRecord>>;

    fn reservation(&mut self, id: &ReservationId) -> StoreResult<Option<ReservationRecord>>;
    /// The account's newest reservation that is open and unexpired at `now`.
    fn newest_open_reservation(
        &mut self,
        account_id: i64,
        now: UnixTime,
    ) -> StoreResult<Option<ReservationId>>;
    /// The numbers a reservation holds, with their areas, in E.164 order.
    fn held(&mut self, id: &ReservationId) -> StoreResult<Vec<(E164, AreaId)>>;

    fn account(&mut self, number: &AccountNumber) -> StoreResult<Option<AccountRecord>>;
    fn account_by_id(&mut self, id: i64) -> StoreResult<Option<AccountRecord>>;
    /// Whether `account` is a (direct or indirect) sub-account of `ancestor`.
    fn is_below(&mut self, account: i64, ancestor: i64) -> StoreResult<bool>;
    fn balance(&mut self, root_id: i64) -> StoreResult<Money100>;
    fn count_active_numbers(&mut self, account_id: i64) -> StoreResult<u64>;
    fn count_live_subaccounts(&mut self, account_id: i64) -> StoreResult<u64>;
    fn key_record(&mut self, key_id: &KeyId) -> StoreResult<Option<KeyRecord>>;

    /// Whether a number's aging or a reservation has ended by `now`.
    fn sweep_due(&mut self, now: UnixTime) -> StoreResult<bool>;
}

/// A new order row.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub account_id: i64,
    pub billing_id: i64,
    pub key_id: &'a KeyId,
    /// The area, for orders from one.
    pub area_id: Option<&'a AreaId>,
    pub rate_plan: &'a RatePlanId,
    pub quantity: u32,
    pub charged: Money100,
    pub at: UnixTime,
}

/// What a ledger row is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    Credit,
    Charge,
}

/// A ledger row: the only way a balance changes (the engine's schema
/// applies it to the account and refuses a negative balance).
#[derive(Debug, Clone)]
pub struct LedgerEntry<'a> {
    pub account_id: i64,
    /// Positive for credits, negative for charges.
    pub amount: i64,
    pub kind: LedgerKind,
    pub order_id: Option<i64>,
    pub key_id: Option<&'a KeyId>,
    pub memo: String,
    pub at: UnixTime,
}

/// A number sold: owner, plan, prices and fresh settings.
#[derive(Debug, Clone)]
pub struct Assignment<'a> {
    pub account_id: i64,
    pub order_id: i64,
    pub rate_plan: &'a RatePlanId,
    pub monthly: Money100,
    pub setup: Money100,
    pub settings: NumberSettings,
    pub at: UnixTime,
}

/// One event in a number's history.
#[derive(Debug, Clone)]
pub struct HistoryEvent<'a> {
    pub e164: &'a E164,
    pub event: &'static str,
    /// The field changed, with old and new value; empty for plain events.
    pub field: &'a str,
    pub old: &'a str,
    pub new: &'a str,
    pub account_id: Option<i64>,
    pub key_id: Option<&'a KeyId>,
    pub at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct NewReservation<'a> {
    pub id: &'a ReservationId,
    pub root_id: i64,
    pub account_id: i64,
    pub key_id: &'a KeyId,
    pub expires_at: UnixTime,
    pub at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub number: &'a AccountNumber,
    pub name: &'a str,
    pub email: &'a str,
    pub signature_secret: Option<&'a str>,
    /// `(id, root_id)` of the parent; `None` for a top-level account.
    pub parent: Option<(i64, i64)>,
    pub forward_type: &'a str,
    pub forward_to: &'a str,
    pub at: UnixTime,
}

#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub id: &'a KeyId,
    pub account_id: i64,
    /// The Argon2id PHC string.
    pub hash: &'a str,
    pub tag: u16,
    pub at: UnixTime,
}

/// What idempotency keeps of a mutation.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub fingerprint: [u8; 32],
    /// `None` for a record an older version stored as rendered bytes.
    pub outcome: Option<Outcome>,
}

/// Writes, inside one transaction. Each operation does exactly what it
/// says; the rules decide whether it may.
pub trait Tx: Reads {
    fn insert_order(&mut self, order: &NewOrder<'_>) -> StoreResult<i64>;
    fn insert_ledger(&mut self, entry: &LedgerEntry<'_>) -> StoreResult<()>;
    /// Sells an available or reserved number; `false` if it was neither.
    fn assign(&mut self, e164: &E164, to: &Assignment<'_>) -> StoreResult<bool>;
    fn set_settings(&mut self, e164: &E164, settings: &NumberSettings) -> StoreResult<()>;
    /// An active number starts aging until `until`.
    fn start_aging(&mut self, e164: &E164, until: UnixTime) -> StoreResult<()>;
    /// An aging number is active again.
    fn reactivate(&mut self, e164: &E164) -> StoreResult<()>;
    fn set_owner(&mut self, e164: &E164, account_id: i64) -> StoreResult<()>;
    /// Up to `limit` aging numbers whose aging ended by `now`, with their
    /// last owners.
    fn aged(&mut self, now: UnixTime, limit: u32) -> StoreResult<Vec<(E164, Option<i64>)>>;
    /// An aging number back in stock, owner and settings wiped; `false` if
    /// it was not aging.
    fn return_to_stock(&mut self, e164: &E164) -> StoreResult<bool>;
    fn record(&mut self, event: &HistoryEvent<'_>) -> StoreResult<()>;

    /// [`StoreError::Duplicate`] if the id is taken.
    fn insert_reservation(&mut self, r: &NewReservation<'_>) -> StoreResult<()>;
    fn set_reservation_expiry(&mut self, id: &ReservationId, at: UnixTime) -> StoreResult<()>;
    fn set_reservation_state(
        &mut self,
        id: &ReservationId,
        state: ReservationState,
        order_id: Option<i64>,
    ) -> StoreResult<()>;
    /// An available number held by a reservation; `false` if it was not
    /// available.
    fn hold(&mut self, e164: &E164, id: &ReservationId) -> StoreResult<bool>;
    /// A reservation's numbers back in stock; how many.
    fn release(&mut self, id: &ReservationId) -> StoreResult<u64>;
    /// Up to `limit` open reservations that expired by `now`.
    fn expired_reservations(
        &mut self,
        now: UnixTime,
        limit: u32,
    ) -> StoreResult<Vec<ReservationId>>;

    /// [`StoreError::Duplicate`] if the number is taken. Returns the id.
    fn insert_account(&mut self, account: &NewAccount<'_>) -> StoreResult<i64>;
    fn retire_account(&mut self, id: i64, at: UnixTime) -> StoreResult<()>;
    /// [`StoreError::Duplicate`] if the key id is taken.
    fn insert_key(&mut self, key: &NewKey<'_>) -> StoreResult<()>;
    /// `false` if there is no such key.
    fn revoke_key(&mut self, id: &KeyId, at: UnixTime) -> StoreResult<bool>;

    fn idempotency(
        &mut self,
        account_id: i64,
        request_id: &RequestId,
    ) -> StoreResult<Option<IdempotencyRecord>>;
    /// Keeps a mutation's outcome under its request.
    fn remember(
        &mut self,
        account_id: i64,
        request_id: &RequestId,
        fingerprint: &[u8; 32],
        outcome: &Outcome,
        at: UnixTime,
    ) -> StoreResult<()>;
}
