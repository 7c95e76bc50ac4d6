//! The test oracle: `Mem`, an in-memory engine state implementing
//! [`Reads`] and [`Tx`] as each method's doc comment (and the SQL schema's
//! constraints) say, and [`transact`], which gives the rules real
//! all-or-nothing transactions over it.
//!
//! Everything is a `Vec` or a `BTreeMap` scanned in full: slow and
//! obviously correct. Derived values (a balance, an area's stock) are
//! computed from the rows every time, never kept, so they cannot drift.
//! Where the schema has a CHECK (a balance never negative, a ledger row
//! only on a top-level account, a number's owner only while sold) a write
//! that would break it is `StoreError::Constraint`; a UNIQUE value taken
//! is `StoreError::Duplicate`. Writes to rows that do not exist are
//! `StoreError::Internal` rather than a silent no-op, so a rule that
//! writes what it never checked shows up.

#![allow(dead_code)]

use std::collections::BTreeMap;

use didgate_core::command::Command;
use didgate_core::domain::{
    AccountNumber, Area, AreaCode, AreaId, ContainsPattern, Country, CountryId, Did, DidFilter,
    DidType, E164, KeyId, Money100, NumberState, Principal, RatePlan, RatePlanId, RequestId,
    ReservationId, SignatureKey, State, UnixTime, national_number,
};
use didgate_core::engine::{
    AccountRecord, AreaRecord, Assignment, HistoryEvent, IdempotencyRecord, KeyRecord, LedgerEntry,
    LedgerKind, NewAccount, NewKey, NewOrder, NewReservation, NumberRecord, NumberSettings, Reads,
    ReservationRecord, ReservationState, StoreResult, Tx,
};
use didgate_core::error::{Error, StoreError};
use didgate_core::outcome::Outcome;
use didgate_core::rules::{self, Ctx};
use didgate_core::settings::Settings;

/// A time well inside the range every test uses.
pub const NOW: UnixTime = 1_800_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryRow {
    pub id: String,
    pub name: String,
    pub is_fax: bool,
    pub is_sms: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRow {
    pub id: String,
    pub country_id: String,
    pub name: String,
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaRow {
    pub id: AreaId,
    pub country_id: String,
    pub state_id: Option<String>,
    pub name: String,
    pub area_code: String,
    pub did_type: DidType,
    /// By id.
    pub plans: Vec<RatePlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRow {
    pub e164: E164,
    pub area_id: AreaId,
    pub state: NumberState,
    pub account_id: Option<i64>,
    pub reservation_id: Option<ReservationId>,
    pub aging_until: Option<UnixTime>,
    pub settings: NumberSettings,
    pub order_id: Option<i64>,
    pub rate_plan: String,
    pub monthly: Money100,
    pub setup: Money100,
    pub ordered_at: Option<UnixTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub id: i64,
    pub number: AccountNumber,
    pub name: String,
    pub email: String,
    pub signature_secret: Option<String>,
    pub parent_id: Option<i64>,
    pub root_id: i64,
    pub forward_type: String,
    pub forward_to: String,
    pub created_at: UnixTime,
    pub deleted_at: Option<UnixTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub id: i64,
    pub account_id: i64,
    pub amount: i64,
    pub kind: LedgerKind,
    pub order_id: Option<i64>,
    pub key_id: Option<KeyId>,
    pub memo: String,
    pub at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub id: i64,
    pub account_id: i64,
    pub billing_id: i64,
    pub key_id: KeyId,
    pub area_id: Option<AreaId>,
    pub rate_plan: RatePlanId,
    pub quantity: u32,
    pub charged: Money100,
    pub at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRow {
    pub id: ReservationId,
    pub root_id: i64,
    pub account_id: i64,
    pub key_id: KeyId,
    pub state: ReservationState,
    pub expires_at: UnixTime,
    pub order_id: Option<i64>,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub e164: E164,
    pub event: String,
    pub field: String,
    pub old: String,
    pub new: String,
    pub account_id: Option<i64>,
    pub key_id: Option<KeyId>,
    pub at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub id: KeyId,
    pub account_id: i64,
    pub hash: String,
    pub tag: Option<u16>,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRow {
    pub fingerprint: [u8; 32],
    /// `None`: a row an older version stored as rendered bytes.
    pub outcome: Option<Outcome>,
    pub at: UnixTime,
}

/// The whole database. Account, order and ledger ids are positions + 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mem {
    pub countries: Vec<CountryRow>,
    pub states: Vec<StateRow>,
    pub areas: Vec<AreaRow>,
    pub numbers: BTreeMap<E164, NumberRow>,
    pub accounts: Vec<AccountRow>,
    pub ledger: Vec<LedgerRow>,
    pub orders: Vec<OrderRow>,
    pub reservations: Vec<ReservationRow>,
    pub history: Vec<HistoryRow>,
    /// By key id.
    pub keys: BTreeMap<String, KeyRow>,
    /// By account id and request id.
    pub idempotency: BTreeMap<(i64, String), IdempotencyRow>,
    /// Fault injection: the next this many `insert_account` calls find
    /// their number taken (as a random collision would).
    pub taken_account_numbers: u32,
    /// Fault injection: the next this many `insert_reservation` calls find
    /// their id taken.
    pub taken_reservation_ids: u32,
    /// How many key ids [`Mem::principal`] has made.
    pub keys_made: u64,
}

/// Runs `f` as one transaction over `mem`: on `Err` every change it made
/// is undone (the state is restored from a clone taken before).
pub fn transact<T>(
    mem: &mut Mem,
    f: impl FnOnce(&mut Mem) -> Result<T, Error>,
) -> Result<T, Error> {
    let before = mem.clone();
    let result = f(mem);
    if result.is_err() {
        *mem = before;
    }
    result
}

/// Runs a mutating command for `principal` at `now`, in one transaction.
pub fn apply(
    mem: &mut Mem,
    principal: &Principal,
    now: UnixTime,
    command: &Command,
) -> Result<Outcome, Error> {
    apply_with(mem, principal, &Settings::default(), now, command)
}

pub fn apply_with(
    mem: &mut Mem,
    principal: &Principal,
    settings: &Settings,
    now: UnixTime,
    command: &Command,
) -> Result<Outcome, Error> {
    let ctx = Ctx {
        principal,
        settings,
        now,
    };
    transact(mem, |tx| rules::apply(tx, &ctx, command))
}

/// Runs a read command for `principal` at `now` (on a clone: reads change
/// nothing, and this proves it).
pub fn read(
    mem: &Mem,
    principal: &Principal,
    now: UnixTime,
    command: &Command,
) -> Result<Outcome, Error> {
    let settings = Settings::default();
    let ctx = Ctx {
        principal,
        settings: &settings,
        now,
    };
    let mut snapshot = mem.clone();
    let outcome = rules::read(&mut snapshot, &ctx, command);
    assert_eq!(&snapshot, mem, "a read changed the database");
    outcome
}

/// Runs the sweep at `now`, in one transaction.
pub fn sweep(mem: &mut Mem, now: UnixTime) -> Result<Outcome, Error> {
    transact(mem, |tx| rules::sweep(tx, now))
}

pub fn e164(s: &str) -> E164 {
    E164::parse(s).expect("a valid E.164 number")
}

pub fn area_id(s: &str) -> AreaId {
    AreaId::parse(s).expect("a valid area id")
}

pub fn plan_id(s: &str) -> RatePlanId {
    RatePlanId::parse(s).expect("a valid rate plan id")
}

pub fn account_number(id: i64) -> AccountNumber {
    AccountNumber::parse(&format!("{}", 1_000_000_000 + id)).expect("ten digits")
}

fn internal(what: String) -> StoreError {
    StoreError::Internal(what)
}

fn constraint(what: &str) -> StoreError {
    StoreError::Constraint(what.to_owned())
}

/// SQLite's GLOB with `*` only: `*` is any run of characters, possibly
/// empty; everything else matches itself.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

/// Setting up a database for a test.
impl Mem {
    pub fn new() -> Self {
        Mem::default()
    }

    pub fn add_country(&mut self, id: &str, name: &str) {
        self.countries.push(CountryRow {
            id: id.to_owned(),
            name: name.to_owned(),
            is_fax: false,
            is_sms: false,
        });
    }

    pub fn add_state(&mut self, id: &str, country: &str, name: &str) {
        self.states.push(StateRow {
            id: id.to_owned(),
            country_id: country.to_owned(),
            name: name.to_owned(),
            code: id.to_owned(),
        });
    }

    /// An area with `plans` as `(id, monthly, setup)`.
    pub fn add_area(
        &mut self,
        id: &str,
        country: &str,
        did_type: DidType,
        area_code: &str,
        plans: &[(&str, i64, i64)],
    ) {
        let mut plans: Vec<RatePlan> = plans
            .iter()
            .map(|(p, monthly, setup)| RatePlan {
                id: (*p).to_owned(),
                name: format!("plan {p}"),
                monthly: Money100(*monthly),
                setup: Money100(*setup),
            })
            .collect();
        plans.sort_by(|a, b| a.id.cmp(&b.id));
        self.areas.push(AreaRow {
            id: area_id(id),
            country_id: country.to_owned(),
            state_id: None,
            name: format!("area {id}"),
            area_code: area_code.to_owned(),
            did_type,
            plans,
        });
    }

    /// Available numbers in an area (the inventory import).
    pub fn add_numbers(&mut self, area: &str, numbers: &[&str]) {
        assert!(
            self.areas.iter().any(|a| a.id.as_str() == area),
            "no area {area}"
        );
        for n in numbers {
            let e = e164(n);
            assert!(!self.numbers.contains_key(&e), "number {n} twice");
            self.numbers.insert(
                e.clone(),
                NumberRow {
                    e164: e,
                    area_id: area_id(area),
                    state: NumberState::Available,
                    account_id: None,
                    reservation_id: None,
                    aging_until: None,
                    settings: NumberSettings::default(),
                    order_id: None,
                    rate_plan: String::new(),
                    monthly: Money100(0),
                    setup: Money100(0),
                    ordered_at: None,
                },
            );
        }
    }

    /// A top-level account numbered `account_number(id)`, credited
    /// `credit` (if positive).
    pub fn add_root(&mut self, credit: i64) -> i64 {
        let id = self.add_account(None, "", "");
        if credit > 0 {
            self.add_credit(id, credit);
        }
        id
    }

    /// A ledger credit, as the operator's `account credit` writes it.
    pub fn add_credit(&mut self, account_id: i64, amount: i64) {
        self.insert_ledger(&LedgerEntry {
            account_id,
            amount,
            kind: LedgerKind::Credit,
            order_id: None,
            key_id: None,
            memo: String::new(),
            at: NOW,
        })
        .expect("credit");
    }

    /// A sub-account of `parent`.
    pub fn add_sub(&mut self, parent: i64) -> i64 {
        self.add_account(Some(parent), "", "")
    }

    /// An account with a default forwarding.
    pub fn add_account(
        &mut self,
        parent: Option<i64>,
        forward_type: &str,
        forward_to: &str,
    ) -> i64 {
        let id = self.accounts.len() as i64 + 1;
        let number = account_number(id);
        let parent = parent.map(|p| (p, self.row(p).root_id));
        self.insert_account(&NewAccount {
            number: &number,
            name: "test",
            email: "",
            signature_secret: None,
            parent,
            forward_type,
            forward_to,
            at: NOW,
        })
        .expect("account")
    }

    /// A fresh key of `account_id`, as authentication would hand it over.
    pub fn principal(&mut self, account_id: i64) -> Principal {
        self.keys_made += 1;
        let key_id = KeyId::parse(&format!("{:016x}", self.keys_made)).expect("key id");
        self.insert_key(&NewKey {
            id: &key_id,
            account_id,
            hash: "$argon2id$test",
            tag: 0,
            at: NOW,
        })
        .expect("key");
        self.key_record(&key_id)
            .expect("read")
            .expect("key")
            .principal
    }

    pub fn row(&self, id: i64) -> &AccountRow {
        self.accounts
            .iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("no account {id}"))
    }

    pub fn num(&self, e: &str) -> &NumberRow {
        &self.numbers[&e164(e)]
    }

    /// Σ ledger of an account.
    pub fn ledger_sum(&self, account_id: i64) -> i64 {
        self.ledger
            .iter()
            .filter(|l| l.account_id == account_id)
            .map(|l| l.amount)
            .sum()
    }

    pub fn ledger_of(&self, account_id: i64) -> Vec<&LedgerRow> {
        self.ledger
            .iter()
            .filter(|l| l.account_id == account_id)
            .collect()
    }

    pub fn stock(&self, area: &str) -> usize {
        self.numbers
            .values()
            .filter(|n| n.area_id.as_str() == area && n.state == NumberState::Available)
            .count()
    }

    pub fn history_of(&self, e: &str) -> Vec<&HistoryRow> {
        let e = e164(e);
        self.history.iter().filter(|h| h.e164 == e).collect()
    }

    pub fn reservation_row(&self, id: &ReservationId) -> &ReservationRow {
        self.reservations
            .iter()
            .find(|r| r.id == *id)
            .unwrap_or_else(|| panic!("no reservation {id}"))
    }

    fn live(&self, id: i64) -> Option<&AccountRow> {
        self.accounts
            .iter()
            .find(|a| a.id == id && a.deleted_at.is_none())
    }

    fn exists(&self, id: i64) -> bool {
        self.accounts.iter().any(|a| a.id == id)
    }

    fn area_row(&self, id: &AreaId) -> Option<&AreaRow> {
        self.areas.iter().find(|a| a.id == *id)
    }

    fn country_name(&self, id: &str) -> String {
        self.countries
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }

    fn number_mut(&mut self, e: &E164) -> StoreResult<&mut NumberRow> {
        self.numbers
            .get_mut(e)
            .ok_or_else(|| internal(format!("no number {e}")))
    }

    fn reservation_mut(&mut self, id: &ReservationId) -> StoreResult<&mut ReservationRow> {
        self.reservations
            .iter_mut()
            .find(|r| r.id == *id)
            .ok_or_else(|| internal(format!("no reservation {id}")))
    }

    fn account_record(a: &AccountRow) -> AccountRecord {
        AccountRecord {
            id: a.id,
            number: a.number.clone(),
            parent_id: a.parent_id,
            root_id: a.root_id,
            forward_type: a.forward_type.clone(),
            forward_to: a.forward_to.clone(),
        }
    }

    fn area_record(&self, a: &AreaRow) -> AreaRecord {
        AreaRecord {
            id: a.id.clone(),
            did_type: a.did_type,
            name: a.name.clone(),
            area_code: a.area_code.clone(),
            country_name: self.country_name(&a.country_id),
            plans: a.plans.clone(),
        }
    }

    fn number_record(n: &NumberRow) -> NumberRecord {
        NumberRecord {
            e164: n.e164.clone(),
            area_id: n.area_id.clone(),
            state: n.state,
            account_id: n.account_id,
            reservation_id: n.reservation_id.clone(),
            aging_until: n.aging_until,
            settings: n.settings.clone(),
        }
    }

    /// A number as the contract's `DID` (the SQL engine's `SELECT_DID`).
    fn did(&self, n: &NumberRow) -> StoreResult<Did> {
        let area = self
            .area_row(&n.area_id)
            .ok_or_else(|| internal(format!("number {} has no area", n.e164)))?;
        let owner = n
            .account_id
            .and_then(|id| self.accounts.iter().find(|a| a.id == id))
            .map(|a| a.number.to_string())
            .unwrap_or_default();
        let s = &n.settings;
        Ok(Did {
            e164: n.e164.to_string(),
            did_type: area.did_type,
            sms_url: s.sms_url.clone(),
            sms_email: s.sms_email.clone(),
            sms_phone: s.sms_phone.clone(),
            forward_type: s.forward_type.clone(),
            forward_to: s.forward_to.clone(),
            status: n.state.shown(),
            country_name: self.country_name(&area.country_id),
            area_name: area.name.clone(),
            area_code: area.area_code.clone(),
            monthly: n.monthly,
            setup: n.setup,
            rate_plan_id: n.rate_plan.clone(),
            title: s.title.clone(),
            account_number: owner,
            order_date: n.ordered_at,
        })
    }

    /// Whether `n` matches every filter given; `status` `None` matches any.
    fn matches(&self, n: &NumberRow, f: &DidFilter) -> bool {
        let did_type = self.area_row(&n.area_id).map(|a| a.did_type);
        let s = &n.settings;
        let eq = |want: &Option<String>, have: &String| want.as_ref().is_none_or(|w| w == have);
        f.e164
            .as_ref()
            .is_none_or(|p| glob(p.as_str().as_bytes(), n.e164.as_str().as_bytes()))
            && f.did_type.is_none_or(|t| did_type == Some(t))
            && eq(&f.title, &s.title)
            && f.status.is_none_or(|st| n.state.shown() == st)
            && eq(&f.sms_url, &s.sms_url)
            && eq(&f.sms_email, &s.sms_email)
            && eq(&f.call_forward_type, &s.forward_type)
            && eq(&f.call_forward_to, &s.forward_to)
    }

    fn balance_of(&self, id: i64) -> i64 {
        self.ledger_sum(id)
    }
}

impl Reads for Mem {
    fn countries(&mut self, did_type: Option<DidType>) -> StoreResult<Vec<Country>> {
        let mut out: Vec<Country> = self
            .countries
            .iter()
            .filter(|c| {
                self.areas
                    .iter()
                    .any(|a| a.country_id == c.id && did_type.is_none_or(|t| a.did_type == t))
            })
            .map(|c| Country {
                id: c.id.clone(),
                name: c.name.clone(),
                has_states: self.states.iter().any(|s| s.country_id == c.id),
                is_fax: c.is_fax,
                is_sms: c.is_sms,
            })
            .collect();
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }

    fn country_exists(&mut self, id: &CountryId) -> StoreResult<bool> {
        Ok(self.countries.iter().any(|c| c.id == id.as_str()))
    }

    fn states(
        &mut self,
        country: &CountryId,
        did_type: Option<DidType>,
    ) -> StoreResult<Vec<State>> {
        let mut out: Vec<State> = self
            .states
            .iter()
            .filter(|s| s.country_id == country.as_str())
            .filter(|s| {
                self.areas.iter().any(|a| {
                    a.state_id.as_deref() == Some(s.id.as_str())
                        && did_type.is_none_or(|t| a.did_type == t)
                })
            })
            .map(|s| State {
                id: s.id.clone(),
                name: s.name.clone(),
                code: s.code.clone(),
            })
            .collect();
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }

    fn state_country(&mut self, state_id: &str) -> StoreResult<Option<String>> {
        Ok(self
            .states
            .iter()
            .find(|s| s.id == state_id)
            .map(|s| s.country_id.clone()))
    }

    fn areas(
        &mut self,
        country: Option<&CountryId>,
        state: Option<&str>,
        did_type: Option<DidType>,
    ) -> StoreResult<Vec<Area>> {
        let mut out: Vec<Area> = self
            .areas
            .iter()
            .filter(|a| country.is_none_or(|c| a.country_id == c.as_str()))
            .filter(|a| state.is_none_or(|s| a.state_id.as_deref() == Some(s)))
            .filter(|a| did_type.is_none_or(|t| a.did_type == t))
            .map(|a| Area {
                id: a.id.to_string(),
                name: a.name.clone(),
                area_code: a.area_code.clone(),
                did_type: a.did_type,
                country_id: a.country_id.clone(),
                state_id: a.state_id.clone(),
                stock: self.stock(a.id.as_str()) as i64,
                rate_plans: a.plans.clone(),
            })
            .collect();
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }

    fn area(&mut self, id: &AreaId) -> StoreResult<Option<AreaRecord>> {
        Ok(self.area_row(id).map(|a| self.area_record(a)))
    }

    fn areas_with_code(
        &mut self,
        country: &CountryId,
        code: &AreaCode,
    ) -> StoreResult<Vec<AreaRecord>> {
        let mut out: Vec<AreaRecord> = self
            .areas
            .iter()
            .filter(|a| a.country_id == country.as_str() && a.area_code == code.as_str())
            .map(|a| self.area_record(a))
            .collect();
        out.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(out)
    }

    fn lowest_available(&mut self, area: &AreaId, n: u32) -> StoreResult<Vec<E164>> {
        Ok(self
            .numbers
            .values()
            .filter(|x| x.area_id == *area && x.state == NumberState::Available)
            .take(n as usize)
            .map(|x| x.e164.clone())
            .collect())
    }

    fn available_matching(
        &mut self,
        area: &AreaId,
        pattern: &ContainsPattern,
        limit: u32,
    ) -> StoreResult<Vec<E164>> {
        Ok(self
            .numbers
            .values()
            .filter(|x| x.area_id == *area && x.state == NumberState::Available)
            .filter(|x| pattern.matches(national_number(x.e164.as_str()).as_bytes()))
            .take(limit as usize)
            .map(|x| x.e164.clone())
            .collect())
    }

    fn number(&mut self, e164: &E164) -> StoreResult<Option<NumberRecord>> {
        Ok(self.numbers.get(e164).map(Mem::number_record))
    }

    fn dids(&mut self, e164s: &[E164]) -> StoreResult<Vec<Did>> {
        e164s
            .iter()
            .map(|e| {
                let n = self
                    .numbers
                    .get(e)
                    .ok_or_else(|| internal(format!("no number {e}")))?;
                self.did(n)
            })
            .collect()
    }

    fn list_dids(
        &mut self,
        account_id: i64,
        filter: &DidFilter,
        limit: u32,
        offset: u64,
    ) -> StoreResult<(Vec<Did>, u64)> {
        // No status filter: every owned number, active or aging (the
        // only states with an owner).
        let all: Vec<&NumberRow> = self
            .numbers
            .values()
            .filter(|n| n.account_id == Some(account_id) && self.matches(n, filter))
            .collect();
        let page = all
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|n| self.did(n))
            .collect::<StoreResult<Vec<Did>>>()?;
        Ok((page, all.len() as u64))
    }

    fn select_numbers(
        &mut self,
        account_id: i64,
        filter: &DidFilter,
    ) -> StoreResult<Vec<NumberRecord>> {
        Ok(self
            .numbers
            .values()
            .filter(|n| n.account_id == Some(account_id) && self.matches(n, filter))
            .map(Mem::number_record)
            .collect())
    }

    fn reservation(&mut self, id: &ReservationId) -> StoreResult<Option<ReservationRecord>> {
        Ok(self
            .reservations
            .iter()
            .find(|r| r.id == *id)
            .map(|r| ReservationRecord {
                id: r.id.clone(),
                root_id: r.root_id,
                account_id: r.account_id,
                state: r.state,
                expires_at: r.expires_at,
            }))
    }

    fn newest_open_reservation(
        &mut self,
        account_id: i64,
        now: UnixTime,
    ) -> StoreResult<Option<ReservationId>> {
        // Newest by creation time; among equals the lowest id (as the SQL
        // engine's `ORDER BY created_at DESC, id`).
        Ok(self
            .reservations
            .iter()
            .filter(|r| {
                r.account_id == account_id
                    && r.state == ReservationState::Open
                    && r.expires_at > now
            })
            .min_by(|a, b| {
                b.created_at
                    .cmp(&a.created_at)
                    .then_with(|| a.id.as_str().cmp(b.id.as_str()))
            })
            .map(|r| r.id.clone()))
    }

    fn held(&mut self, id: &ReservationId) -> StoreResult<Vec<(E164, AreaId)>> {
        Ok(self
            .numbers
            .values()
            .filter(|n| n.reservation_id.as_ref() == Some(id))
            .map(|n| (n.e164.clone(), n.area_id.clone()))
            .collect())
    }

    fn account(&mut self, number: &AccountNumber) -> StoreResult<Option<AccountRecord>> {
        Ok(self
            .accounts
            .iter()
            .find(|a| a.number == *number && a.deleted_at.is_none())
            .map(Mem::account_record))
    }

    fn account_by_id(&mut self, id: i64) -> StoreResult<Option<AccountRecord>> {
        Ok(self.live(id).map(Mem::account_record))
    }

    fn is_below(&mut self, account: i64, ancestor: i64) -> StoreResult<bool> {
        let mut at = self.accounts.iter().find(|a| a.id == account);
        while let Some(a) = at {
            match a.parent_id {
                Some(p) if p == ancestor => return Ok(true),
                Some(p) => at = self.accounts.iter().find(|x| x.id == p),
                None => return Ok(false),
            }
        }
        Ok(false)
    }

    fn balance(&mut self, root_id: i64) -> StoreResult<Money100> {
        if !self.exists(root_id) {
            return Err(internal(format!("no account {root_id}")));
        }
        Ok(Money100(self.balance_of(root_id)))
    }

    fn count_active_numbers(&mut self, account_id: i64) -> StoreResult<u64> {
        Ok(self
            .numbers
            .values()
            .filter(|n| n.account_id == Some(account_id) && n.state == NumberState::Active)
            .count() as u64)
    }

    fn count_live_subaccounts(&mut self, account_id: i64) -> StoreResult<u64> {
        Ok(self
            .accounts
            .iter()
            .filter(|a| a.parent_id == Some(account_id) && a.deleted_at.is_none())
            .count() as u64)
    }

    fn key_record(&mut self, key_id: &KeyId) -> StoreResult<Option<KeyRecord>> {
        let Some(k) = self.keys.get(key_id.as_str()) else {
            return Ok(None);
        };
        let a = self
            .accounts
            .iter()
            .find(|a| a.id == k.account_id)
            .ok_or_else(|| internal(format!("key {key_id} has no account")))?;
        Ok(Some(KeyRecord {
            hash: k.hash.clone(),
            tag: k.tag,
            revoked: k.revoked_at.is_some() || a.deleted_at.is_some(),
            principal: Principal {
                key_id: k.id.clone(),
                account_id: a.id,
                account_number: a.number.clone(),
                root_id: a.root_id,
                signature: a.signature_secret.as_ref().map(|secret| SignatureKey {
                    email: a.email.clone(),
                    secret: secret.clone(),
                }),
            },
        }))
    }

    fn sweep_due(&mut self, now: UnixTime) -> StoreResult<bool> {
        let aged = self
            .numbers
            .values()
            .any(|n| n.state == NumberState::Aging && n.aging_until.is_some_and(|t| t <= now));
        let expired = self
            .reservations
            .iter()
            .any(|r| r.state == ReservationState::Open && r.expires_at <= now);
        Ok(aged || expired)
    }
}

impl Tx for Mem {
    fn insert_order(&mut self, order: &NewOrder<'_>) -> StoreResult<i64> {
        if !self.exists(order.account_id) || !self.exists(order.billing_id) {
            return Err(constraint("orders: FOREIGN KEY account"));
        }
        if order.quantity == 0 {
            return Err(constraint("orders: CHECK quantity > 0"));
        }
        if order.charged.0 < 0 {
            return Err(constraint("orders: CHECK charged100 >= 0"));
        }
        if let Some(a) = order.area_id {
            if self.area_row(a).is_none() {
                return Err(constraint("orders: FOREIGN KEY area"));
            }
        }
        let id = self.orders.len() as i64 + 1;
        self.orders.push(OrderRow {
            id,
            account_id: order.account_id,
            billing_id: order.billing_id,
            key_id: order.key_id.clone(),
            area_id: order.area_id.cloned(),
            rate_plan: order.rate_plan.clone(),
            quantity: order.quantity,
            charged: order.charged,
            at: order.at,
        });
        Ok(id)
    }

    fn insert_ledger(&mut self, entry: &LedgerEntry<'_>) -> StoreResult<()> {
        let Some(account) = self.accounts.iter().find(|a| a.id == entry.account_id) else {
            return Err(constraint("ledger: FOREIGN KEY account"));
        };
        if entry.amount == 0 {
            return Err(constraint("ledger: CHECK amount100 <> 0"));
        }
        if (entry.kind == LedgerKind::Credit) != (entry.amount > 0) {
            return Err(constraint(
                "ledger: CHECK (kind = 'credit') = (amount100 > 0)",
            ));
        }
        if account.parent_id.is_some() {
            return Err(constraint(
                "accounts: CHECK parent_id IS NULL OR balance100 = 0",
            ));
        }
        if let Some(o) = entry.order_id {
            if !self.orders.iter().any(|x| x.id == o) {
                return Err(constraint("ledger: FOREIGN KEY order"));
            }
        }
        let after = self
            .balance_of(entry.account_id)
            .checked_add(entry.amount)
            .ok_or_else(|| constraint("ledger: integer overflow"))?;
        if after < 0 {
            return Err(constraint("accounts: CHECK balance100 >= 0"));
        }
        let id = self.ledger.len() as i64 + 1;
        self.ledger.push(LedgerRow {
            id,
            account_id: entry.account_id,
            amount: entry.amount,
            kind: entry.kind,
            order_id: entry.order_id,
            key_id: entry.key_id.cloned(),
            memo: entry.memo.clone(),
            at: entry.at,
        });
        Ok(())
    }

    fn assign(&mut self, e164: &E164, to: &Assignment<'_>) -> StoreResult<bool> {
        if !self.exists(to.account_id) {
            return Err(constraint("dids: FOREIGN KEY account"));
        }
        if !self.orders.iter().any(|o| o.id == to.order_id) {
            return Err(constraint("dids: FOREIGN KEY order"));
        }
        let Some(n) = self.numbers.get_mut(e164) else {
            return Ok(false);
        };
        if !matches!(n.state, NumberState::Available | NumberState::Reserved) {
            return Ok(false);
        }
        n.state = NumberState::Active;
        n.account_id = Some(to.account_id);
        n.reservation_id = None;
        n.aging_until = None;
        n.settings = to.settings.clone();
        n.order_id = Some(to.order_id);
        n.rate_plan = to.rate_plan.to_string();
        n.monthly = to.monthly;
        n.setup = to.setup;
        n.ordered_at = Some(to.at);
        Ok(true)
    }

    fn set_settings(&mut self, e164: &E164, settings: &NumberSettings) -> StoreResult<()> {
        self.number_mut(e164)?.settings = settings.clone();
        Ok(())
    }

    fn start_aging(&mut self, e164: &E164, until: UnixTime) -> StoreResult<()> {
        let n = self.number_mut(e164)?;
        if n.state != NumberState::Active {
            return Err(internal(format!(
                "start_aging of {e164}, which is not active"
            )));
        }
        n.state = NumberState::Aging;
        n.aging_until = Some(until);
        Ok(())
    }

    fn reactivate(&mut self, e164: &E164) -> StoreResult<()> {
        let n = self.number_mut(e164)?;
        if n.state != NumberState::Aging {
            return Err(internal(format!(
                "reactivate of {e164}, which is not aging"
            )));
        }
        n.state = NumberState::Active;
        n.aging_until = None;
        Ok(())
    }

    fn set_owner(&mut self, e164: &E164, account_id: i64) -> StoreResult<()> {
        if !self.exists(account_id) {
            return Err(constraint("dids: FOREIGN KEY account"));
        }
        let n = self.number_mut(e164)?;
        if !matches!(n.state, NumberState::Active | NumberState::Aging) {
            return Err(constraint(
                "dids: CHECK (status IN ('available', 'reserved')) = (account_id IS NULL)",
            ));
        }
        n.account_id = Some(account_id);
        Ok(())
    }

    fn aged(&mut self, now: UnixTime, limit: u32) -> StoreResult<Vec<(E164, Option<i64>)>> {
        Ok(self
            .numbers
            .values()
            .filter(|n| n.state == NumberState::Aging && n.aging_until.is_some_and(|t| t <= now))
            .take(limit as usize)
            .map(|n| (n.e164.clone(), n.account_id))
            .collect())
    }

    fn return_to_stock(&mut self, e164: &E164) -> StoreResult<bool> {
        let n = self.number_mut(e164)?;
        if n.state != NumberState::Aging {
            return Ok(false);
        }
        n.state = NumberState::Available;
        n.account_id = None;
        n.reservation_id = None;
        n.aging_until = None;
        n.settings = NumberSettings::default();
        n.order_id = None;
        n.rate_plan = String::new();
        n.monthly = Money100(0);
        n.setup = Money100(0);
        n.ordered_at = None;
        Ok(true)
    }

    fn record(&mut self, event: &HistoryEvent<'_>) -> StoreResult<()> {
        const EVENTS: [&str; 6] = [
            "ordered", "updated", "canceled", "restored", "moved", "returned",
        ];
        if !EVENTS.contains(&event.event) {
            return Err(constraint("number_history: CHECK event IN (...)"));
        }
        if event.account_id.is_some_and(|id| !self.exists(id)) {
            return Err(constraint("number_history: FOREIGN KEY account"));
        }
        self.history.push(HistoryRow {
            e164: event.e164.clone(),
            event: event.event.to_owned(),
            field: event.field.to_owned(),
            old: event.old.to_owned(),
            new: event.new.to_owned(),
            account_id: event.account_id,
            key_id: event.key_id.cloned(),
            at: event.at,
        });
        Ok(())
    }

    fn insert_reservation(&mut self, r: &NewReservation<'_>) -> StoreResult<()> {
        if self.taken_reservation_ids > 0 {
            self.taken_reservation_ids -= 1;
            return Err(StoreError::Duplicate(format!("reservation {}", r.id)));
        }
        if self.reservations.iter().any(|x| x.id == *r.id) {
            return Err(StoreError::Duplicate(format!("reservation {}", r.id)));
        }
        if !self.exists(r.root_id) || !self.exists(r.account_id) {
            return Err(constraint("reservations: FOREIGN KEY account"));
        }
        self.reservations.push(ReservationRow {
            id: r.id.clone(),
            root_id: r.root_id,
            account_id: r.account_id,
            key_id: r.key_id.clone(),
            state: ReservationState::Open,
            expires_at: r.expires_at,
            order_id: None,
            created_at: r.at,
        });
        Ok(())
    }

    fn set_reservation_expiry(&mut self, id: &ReservationId, at: UnixTime) -> StoreResult<()> {
        self.reservation_mut(id)?.expires_at = at;
        Ok(())
    }

    fn set_reservation_state(
        &mut self,
        id: &ReservationId,
        state: ReservationState,
        order_id: Option<i64>,
    ) -> StoreResult<()> {
        if order_id.is_some_and(|o| !self.orders.iter().any(|x| x.id == o)) {
            return Err(constraint("reservations: FOREIGN KEY order"));
        }
        let r = self.reservation_mut(id)?;
        r.state = state;
        if order_id.is_some() {
            r.order_id = order_id;
        }
        Ok(())
    }

    fn hold(&mut self, e164: &E164, id: &ReservationId) -> StoreResult<bool> {
        if !self.reservations.iter().any(|r| r.id == *id) {
            return Err(constraint("dids: FOREIGN KEY reservation"));
        }
        let Some(n) = self.numbers.get_mut(e164) else {
            return Ok(false);
        };
        if n.state != NumberState::Available {
            return Ok(false);
        }
        n.state = NumberState::Reserved;
        n.reservation_id = Some(id.clone());
        Ok(true)
    }

    fn release(&mut self, id: &ReservationId) -> StoreResult<u64> {
        let mut released = 0;
        for n in self.numbers.values_mut() {
            if n.state == NumberState::Reserved && n.reservation_id.as_ref() == Some(id) {
                n.state = NumberState::Available;
                n.reservation_id = None;
                released += 1;
            }
        }
        Ok(released)
    }

    fn expired_reservations(
        &mut self,
        now: UnixTime,
        limit: u32,
    ) -> StoreResult<Vec<ReservationId>> {
        Ok(self
            .reservations
            .iter()
            .filter(|r| r.state == ReservationState::Open && r.expires_at <= now)
            .take(limit as usize)
            .map(|r| r.id.clone())
            .collect())
    }

    fn insert_account(&mut self, account: &NewAccount<'_>) -> StoreResult<i64> {
        if self.taken_account_numbers > 0 {
            self.taken_account_numbers -= 1;
            return Err(StoreError::Duplicate(format!(
                "account number {}",
                account.number
            )));
        }
        // UNIQUE over every row, retired accounts included.
        if self.accounts.iter().any(|a| a.number == *account.number) {
            return Err(StoreError::Duplicate(format!(
                "account number {}",
                account.number
            )));
        }
        let id = self.accounts.len() as i64 + 1;
        let (parent_id, root_id) = match account.parent {
            None => (None, id),
            Some((parent, root)) => {
                let Some(p) = self.accounts.iter().find(|a| a.id == parent) else {
                    return Err(constraint("accounts: FOREIGN KEY parent"));
                };
                if p.root_id != root {
                    return Err(constraint("accounts: root_id is not the parent's root"));
                }
                (Some(parent), root)
            }
        };
        self.accounts.push(AccountRow {
            id,
            number: account.number.clone(),
            name: account.name.to_owned(),
            email: account.email.to_owned(),
            signature_secret: account.signature_secret.map(str::to_owned),
            parent_id,
            root_id,
            forward_type: account.forward_type.to_owned(),
            forward_to: account.forward_to.to_owned(),
            created_at: account.at,
            deleted_at: None,
        });
        Ok(id)
    }

    fn retire_account(&mut self, id: i64, at: UnixTime) -> StoreResult<()> {
        let a = self
            .accounts
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or_else(|| internal(format!("no account {id}")))?;
        a.deleted_at = Some(at);
        Ok(())
    }

    fn insert_key(&mut self, key: &NewKey<'_>) -> StoreResult<()> {
        if self.keys.contains_key(key.id.as_str()) {
            return Err(StoreError::Duplicate(format!("key {}", key.id)));
        }
        if !self.exists(key.account_id) {
            return Err(constraint("api_keys: FOREIGN KEY account"));
        }
        self.keys.insert(
            key.id.to_string(),
            KeyRow {
                id: key.id.clone(),
                account_id: key.account_id,
                hash: key.hash.to_owned(),
                tag: Some(key.tag),
                created_at: key.at,
                revoked_at: None,
            },
        );
        Ok(())
    }

    fn revoke_key(&mut self, id: &KeyId, at: UnixTime) -> StoreResult<bool> {
        match self.keys.get_mut(id.as_str()) {
            None => Ok(false),
            Some(k) => {
                k.revoked_at = k.revoked_at.or(Some(at));
                Ok(true)
            }
        }
    }

    fn idempotency(
        &mut self,
        account_id: i64,
        request_id: &RequestId,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        Ok(self
            .idempotency
            .get(&(account_id, request_id.to_string()))
            .map(|r| IdempotencyRecord {
                fingerprint: r.fingerprint,
                outcome: r.outcome.clone(),
            }))
    }

    fn remember(
        &mut self,
        account_id: i64,
        request_id: &RequestId,
        fingerprint: &[u8; 32],
        outcome: &Outcome,
        at: UnixTime,
    ) -> StoreResult<()> {
        let key = (account_id, request_id.to_string());
        if self.idempotency.contains_key(&key) {
            return Err(StoreError::Duplicate(format!("request {request_id}")));
        }
        if !self.exists(account_id) {
            return Err(constraint("idempotency: FOREIGN KEY account"));
        }
        self.idempotency.insert(
            key,
            IdempotencyRow {
                fingerprint: *fingerprint,
                outcome: Some(outcome.clone()),
                at,
            },
        );
        Ok(())
    }
}
