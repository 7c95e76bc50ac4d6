//! A model-based property test of the rules that move money and numbers:
//! random sequences of orders (from an area, partial or not, of a named
//! list, of a reservation), credits, reservations and their cancels, number
//! cancels, restores and moves, and sweeps at advancing times, over two
//! account trees and two small areas. Each step runs against the
//! in-memory engine (with rollback) and against a small independent model;
//! they must agree on whether it succeeds, on the error code when it does
//! not, and on the whole state after it. After every step the invariants
//! of PROTOCOL.md section 4 are checked: balance = Σ ledger ≥ 0 on every
//! root and none on sub-accounts, stock = available numbers, every number
//! in exactly one place, and every order charged exactly its price.

mod common;

use common::{Mem, NOW, apply_with, area_id, e164, plan_id, transact};
use didgate_core::command::{
    Command, DidMove, DidOrder, DidReserve, DidReserveCancel, NumberOf, OrderSource, ReserveInto,
    ReserveWhat,
};
use didgate_core::domain::{
    DidStatus, DidType, E164List, HoldMinutes, Label, Money100, NumberState, Principal, Quantity,
    ReservationId,
};
use didgate_core::engine::{LedgerKind, Reads, ReservationState};
use didgate_core::error::{Error, ErrorCode};
use didgate_core::outcome::Outcome;
use didgate_core::rules;
use didgate_core::settings::Settings;
use proptest::prelude::*;

// ----------------------------------------------------------------- world

/// Accounts by index: tree 0 is 0 > 1 > 2, tree 3 is 3 > 4.
const ACCOUNTS: usize = 5;
const PARENT: [Option<usize>; ACCOUNTS] = [None, Some(0), Some(1), None, Some(3)];
const ROOT: [usize; ACCOUNTS] = [0, 0, 0, 3, 3];
const OPENING: [i64; ACCOUNTS] = [1_000, 0, 0, 500, 0];

/// Area 2 does not exist.
const AREAS: [&str; 3] = ["a", "b", "nowhere"];
const AREA_TYPE: [DidType; 2] = [DidType::Geographic, DidType::TollFree];
/// Plan 3 exists nowhere.
const PLANS: [&str; 4] = ["SU", "X", "FREE", "NOPE"];
/// Number 8 does not exist; the others are inserted out of order.
const NUMBERS: [&str; 9] = [
    "12125550001",
    "12125550002",
    "12125550003",
    "12125550004",
    "12125550005",
    "18005550001",
    "18005550002",
    "18005550003",
    "19995550000",
];
const KNOWN: usize = 8;
const NUMBER_AREA: [usize; KNOWN] = [0, 0, 0, 0, 0, 1, 1, 1];

/// Setup + monthly of a plan in an area, if the area offers it.
fn price(area: usize, plan: usize) -> Option<i64> {
    match (area, plan) {
        (0, 0) => Some(100 + 50),
        (0, 1) => Some(7),
        (1, 0) => Some(300),
        (1, 2) => Some(0),
        _ => None,
    }
}

const AGING: i64 = 150;
const DEFAULT_MINUTES: i64 = 15;

fn settings() -> Settings {
    Settings {
        aging_secs: AGING,
        reservation_default_minutes: DEFAULT_MINUTES as u32,
        reservation_minute_secs: 1,
    }
}

struct World {
    mem: Mem,
    /// Account ids and keys by index.
    ids: [i64; ACCOUNTS],
    keys: Vec<Principal>,
}

fn world() -> World {
    let mut mem = Mem::new();
    mem.add_country("US", "United States");
    mem.add_area(
        "a",
        "US",
        DidType::Geographic,
        "212",
        &[("SU", 100, 50), ("X", 7, 0)],
    );
    mem.add_area(
        "b",
        "US",
        DidType::TollFree,
        "800",
        &[("SU", 200, 100), ("FREE", 0, 0)],
    );
    for i in [3, 0, 4, 1, 2] {
        mem.add_numbers("a", &[NUMBERS[i]]);
    }
    mem.add_numbers("b", &[NUMBERS[6], NUMBERS[5], NUMBERS[7]]);
    let mut ids = [0; ACCOUNTS];
    for (i, parent) in PARENT.iter().enumerate() {
        ids[i] = match parent {
            None => mem.add_root(OPENING[i]),
            Some(p) => mem.add_sub(ids[*p]),
        };
    }
    let keys = ids.iter().map(|&id| mem.principal(id)).collect();
    World { mem, ids, keys }
}

// ------------------------------------------------------------ operations

#[derive(Debug, Clone)]
enum Into {
    New,
    Current,
    /// The n-th reservation made so far (modulo), or an unknown one.
    Existing(usize),
}

/// Who acts on a number: as generated, or (resolved against the model
/// before the step, so that owned numbers are hit often) its owner's key,
/// or the key of the owner's parent naming the owner.
#[derive(Debug, Clone, Copy)]
enum By {
    Generated,
    Owner,
    Parent,
}

#[derive(Debug, Clone)]
enum Op {
    OrderArea {
        actor: usize,
        target: Option<usize>,
        area: usize,
        did_type: usize,
        qty: u32,
        partial: bool,
        plan: usize,
    },
    OrderList {
        actor: usize,
        target: Option<usize>,
        numbers: Vec<usize>,
        plan: usize,
    },
    OrderReservation {
        actor: usize,
        target: Option<usize>,
        which: usize,
        plan: usize,
    },
    Credit {
        account: usize,
        amount: i64,
    },
    ReserveArea {
        actor: usize,
        target: Option<usize>,
        area: usize,
        qty: u32,
        into: Into,
        minutes: Option<u32>,
    },
    ReserveNumbers {
        actor: usize,
        target: Option<usize>,
        numbers: Vec<usize>,
        into: Into,
        minutes: Option<u32>,
    },
    CancelReservation {
        actor: usize,
        which: usize,
    },
    Cancel {
        actor: usize,
        target: Option<usize>,
        number: usize,
        by: By,
    },
    Restore {
        actor: usize,
        target: Option<usize>,
        number: usize,
        by: By,
    },
    Move {
        actor: usize,
        target: Option<usize>,
        number: usize,
        to: usize,
        by: By,
    },
    Sweep,
    Wait(i64),
}

fn account() -> impl Strategy<Value = usize> {
    0..ACCOUNTS
}

/// Mostly the key's own account.
fn target() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![3 => Just(None), 2 => (0..ACCOUNTS).prop_map(Some)]
}

/// 1 to 3 distinct numbers, in a random order.
fn numbers() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..NUMBERS.len(), 1..=3).prop_map(|mut v| {
        let mut seen = Vec::new();
        v.retain(|n| {
            let fresh = !seen.contains(n);
            seen.push(*n);
            fresh
        });
        v
    })
}

fn into() -> impl Strategy<Value = Into> {
    prop_oneof![
        Just(Into::New),
        Just(Into::Current),
        (0..8usize).prop_map(Into::Existing)
    ]
}

fn minutes() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![Just(None), (1..=60u32).prop_map(Some)]
}

/// Plans weighted towards the ones that exist.
fn plan() -> impl Strategy<Value = usize> {
    prop_oneof![6 => Just(0usize), 2 => Just(1usize), 2 => Just(2usize), 1 => Just(3usize)]
}

fn by() -> impl Strategy<Value = By> {
    prop_oneof![1 => Just(By::Generated), 3 => Just(By::Owner), 1 => Just(By::Parent)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (account(), target(), prop_oneof![10 => 0..2usize, 1 => Just(2usize)], 0..2usize, 1..=6u32, any::<bool>(), plan())
            .prop_map(|(actor, target, area, did_type, qty, partial, plan)| Op::OrderArea {
                actor, target, area, did_type, qty, partial, plan,
            }),
        3 => (account(), target(), numbers(), plan())
            .prop_map(|(actor, target, numbers, plan)| Op::OrderList { actor, target, numbers, plan }),
        2 => (account(), target(), 0..8usize, plan())
            .prop_map(|(actor, target, which, plan)| Op::OrderReservation { actor, target, which, plan }),
        2 => (account(), -5..=400i64).prop_map(|(account, amount)| Op::Credit { account, amount }),
        3 => (account(), target(), prop_oneof![10 => 0..2usize, 1 => Just(2usize)], 1..=4u32, into(), minutes())
            .prop_map(|(actor, target, area, qty, into, minutes)| Op::ReserveArea {
                actor, target, area, qty, into, minutes,
            }),
        2 => (account(), target(), numbers(), into(), minutes())
            .prop_map(|(actor, target, numbers, into, minutes)| Op::ReserveNumbers {
                actor, target, numbers, into, minutes,
            }),
        1 => (account(), 0..8usize).prop_map(|(actor, which)| Op::CancelReservation { actor, which }),
        3 => (account(), target(), 0..NUMBERS.len(), by())
            .prop_map(|(actor, target, number, by)| Op::Cancel { actor, target, number, by }),
        3 => (account(), target(), 0..NUMBERS.len(), by())
            .prop_map(|(actor, target, number, by)| Op::Restore { actor, target, number, by }),
        2 => (account(), target(), 0..NUMBERS.len(), account(), by())
            .prop_map(|(actor, target, number, to, by)| Op::Move { actor, target, number, to, by }),
        2 => Just(Op::Sweep),
        3 => (1..=40i64).prop_map(Op::Wait),
    ]
}

// ----------------------------------------------------------------- model

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum M {
    Available,
    /// Held by the n-th reservation.
    Reserved(usize),
    Active(usize),
    Aging(usize, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum R {
    Open,
    Ordered,
    Canceled,
    Expired,
}

#[derive(Debug, Clone)]
struct MRes {
    /// Learned from the outcome that opened it.
    id: Option<ReservationId>,
    root: usize,
    account: usize,
    created: i64,
    expires: i64,
    state: R,
}

#[derive(Debug, Clone)]
struct Model {
    now: i64,
    balance: [i64; ACCOUNTS],
    numbers: [M; KNOWN],
    res: Vec<MRes>,
    ledger_rows: usize,
    orders: usize,
}

/// What a successful step's outcome must show.
#[derive(Debug)]
enum Expect {
    Ordered {
        numbers: Vec<usize>,
        cost: i64,
    },
    Balance(i64),
    /// The reservation (by index) and every number it now holds.
    Reserved {
        index: usize,
        expires: i64,
    },
    Released(u64),
    Changed {
        number: usize,
        owner: usize,
    },
    Nothing,
}

type Step = Result<(Model, Expect), ErrorCode>;

/// Whether `actor`'s key may act on `target`: itself or below it.
fn reach(actor: usize, target: usize) -> bool {
    let mut at = Some(target);
    while let Some(a) = at {
        if a == actor {
            return true;
        }
        at = PARENT[a];
    }
    false
}

impl Model {
    fn new() -> Model {
        Model {
            now: NOW,
            balance: OPENING,
            numbers: [M::Available; KNOWN],
            res: Vec::new(),
            ledger_rows: OPENING.iter().filter(|&&c| c > 0).count(),
            orders: 0,
        }
    }

    fn owner(actor: usize, target: Option<usize>) -> Result<usize, ErrorCode> {
        let owner = target.unwrap_or(actor);
        if reach(actor, owner) {
            Ok(owner)
        } else {
            Err(ErrorCode::AccessDenied)
        }
    }

    fn available(&self, area: usize) -> Vec<usize> {
        (0..KNOWN)
            .filter(|&n| NUMBER_AREA[n] == area && self.numbers[n] == M::Available)
            .collect()
    }

    /// The n-th reservation, if one has been made (op indices wrap).
    fn pick_res(&self, which: usize) -> Option<usize> {
        (!self.res.is_empty()).then(|| which % self.res.len())
    }

    /// `open_reservation`: open, unexpired and of `actor`'s tree.
    fn open(&self, actor: usize, r: Option<usize>) -> Result<usize, ErrorCode> {
        let Some(r) = r.filter(|&r| self.res[r].root == ROOT[actor]) else {
            return Err(ErrorCode::NotFound);
        };
        match self.res[r].state {
            R::Open if self.res[r].expires > self.now => Ok(r),
            _ => Err(ErrorCode::Conflict),
        }
    }

    fn held(&self, r: usize) -> Vec<usize> {
        (0..KNOWN)
            .filter(|&n| self.numbers[n] == M::Reserved(r))
            .collect()
    }

    /// Prices, charges and sells `picks` to `owner`.
    fn sell(&self, owner: usize, picks: Vec<usize>, plan: usize) -> Step {
        let mut cost = 0;
        for &n in &picks {
            cost += price(NUMBER_AREA[n], plan).ok_or(ErrorCode::InvalidParameter)?;
        }
        let root = ROOT[owner];
        if cost > self.balance[root] {
            return Err(ErrorCode::InsufficientFunds);
        }
        let mut next = self.clone();
        next.balance[root] -= cost;
        next.ledger_rows += usize::from(cost > 0);
        next.orders += 1;
        for &n in &picks {
            next.numbers[n] = M::Active(owner);
        }
        Ok((
            next,
            Expect::Ordered {
                numbers: picks,
                cost,
            },
        ))
    }

    /// The numbers a named list buys, or why not.
    fn listed(&self, actor: usize, list: &[usize]) -> Result<Vec<usize>, ErrorCode> {
        for &n in list {
            if n >= KNOWN {
                return Err(ErrorCode::NotFound);
            }
            let ok = match self.numbers[n] {
                M::Available => true,
                M::Reserved(r) => self.open(actor, Some(r)).is_ok(),
                _ => false,
            };
            if !ok {
                return Err(ErrorCode::OutOfStock);
            }
        }
        Ok(list.to_vec())
    }

    /// The account's newest open reservation: latest created, then lowest id.
    fn current(&self, account: usize) -> Option<usize> {
        (0..self.res.len())
            .filter(|&r| {
                let x = &self.res[r];
                x.account == account && x.state == R::Open && x.expires > self.now
            })
            .min_by(|&a, &b| {
                let (x, y) = (&self.res[a], &self.res[b]);
                y.created.cmp(&x.created).then_with(|| {
                    let id = |m: &MRes| m.id.as_ref().map(|i| i.as_str().to_owned());
                    id(x).cmp(&id(y))
                })
            })
    }

    fn reserve(
        &self,
        actor: usize,
        target: Option<usize>,
        into: &Into,
        minutes: Option<u32>,
        choose: impl FnOnce(&Model, usize) -> Result<Vec<usize>, ErrorCode>,
    ) -> Step {
        let owner = Model::owner(actor, target)?;
        let expires = self.now + minutes.map_or(DEFAULT_MINUTES, i64::from);
        let mut next = self.clone();
        let index = match into {
            Into::New => None,
            Into::Current => self.current(owner),
            Into::Existing(which) => Some(self.open(actor, self.pick_res(*which))?),
        };
        let index = match index {
            Some(r) => {
                self.open(actor, Some(r))?;
                r
            }
            None => {
                next.res.push(MRes {
                    id: None,
                    root: ROOT[owner],
                    account: owner,
                    created: self.now,
                    expires,
                    state: R::Open,
                });
                next.res.len() - 1
            }
        };
        next.res[index].expires = expires;
        for n in choose(self, index)? {
            next.numbers[n] = M::Reserved(index);
        }
        Ok((next, Expect::Reserved { index, expires }))
    }

    /// The owner's number `n`, or `NOT_FOUND`.
    fn owned(&self, owner: usize, n: usize) -> Result<M, ErrorCode> {
        match self.numbers.get(n) {
            Some(&m @ (M::Active(o) | M::Aging(o, _))) if o == owner => Ok(m),
            _ => Err(ErrorCode::NotFound),
        }
    }

    /// `op` with `By::Owner`/`By::Parent` replaced by the accounts they
    /// stand for now (as generated when the number has no owner).
    fn resolve(&self, op: &Op) -> Op {
        let mut op = op.clone();
        if let Op::Cancel {
            actor,
            target,
            number,
            by,
        }
        | Op::Restore {
            actor,
            target,
            number,
            by,
        }
        | Op::Move {
            actor,
            target,
            number,
            by,
            ..
        } = &mut op
        {
            let owner = match self.numbers.get(*number) {
                Some(M::Active(o) | M::Aging(o, _)) => Some(*o),
                _ => None,
            };
            match (*by, owner) {
                (By::Owner, Some(o)) => (*actor, *target) = (o, None),
                (By::Parent, Some(o)) => (*actor, *target) = (PARENT[o].unwrap_or(o), Some(o)),
                _ => {}
            }
            *by = By::Generated;
        }
        op
    }

    fn step(&self, op: &Op) -> Step {
        match op {
            Op::OrderArea {
                actor,
                target,
                area,
                did_type,
                qty,
                partial,
                plan,
            } => {
                let owner = Model::owner(*actor, *target)?;
                if *area >= 2 {
                    return Err(ErrorCode::NotFound);
                }
                // The static checks (type, plan) come before stock.
                if AREA_TYPE[*area] != AREA_TYPE[*did_type] || price(*area, *plan).is_none() {
                    return Err(ErrorCode::InvalidParameter);
                }
                let mut picks = self.available(*area);
                if picks.is_empty() || (picks.len() < *qty as usize && !partial) {
                    return Err(ErrorCode::OutOfStock);
                }
                picks.truncate(*qty as usize);
                self.sell(owner, picks, *plan)
            }
            Op::OrderList {
                actor,
                target,
                numbers,
                plan,
            } => {
                let owner = Model::owner(*actor, *target)?;
                let picks = self.listed(*actor, numbers)?;
                self.sell(owner, picks, *plan)
            }
            Op::OrderReservation {
                actor,
                target,
                which,
                plan,
            } => {
                let owner = Model::owner(*actor, *target)?;
                let r = self.open(*actor, self.pick_res(*which))?;
                let picks = self.held(r);
                if picks.is_empty() {
                    return Err(ErrorCode::Conflict);
                }
                let (mut next, expect) = self.sell(owner, picks, *plan)?;
                next.res[r].state = R::Ordered;
                Ok((next, expect))
            }
            Op::Credit { account, amount } => {
                if *amount <= 0 {
                    return Err(ErrorCode::InvalidParameter);
                }
                if PARENT[*account].is_some() {
                    return Err(ErrorCode::Conflict);
                }
                let mut next = self.clone();
                next.balance[*account] += amount;
                next.ledger_rows += 1;
                Ok((next.clone(), Expect::Balance(next.balance[*account])))
            }
            Op::ReserveArea {
                actor,
                target,
                area,
                qty,
                into,
                minutes,
            } => self.reserve(*actor, *target, into, *minutes, |m, _| {
                if *area >= 2 {
                    return Err(ErrorCode::NotFound);
                }
                let mut found = m.available(*area);
                if found.len() < *qty as usize {
                    return Err(ErrorCode::OutOfStock);
                }
                found.truncate(*qty as usize);
                Ok(found)
            }),
            Op::ReserveNumbers {
                actor,
                target,
                numbers,
                into,
                minutes,
            } => self.reserve(*actor, *target, into, *minutes, |m, index| {
                let mut take = Vec::new();
                for &n in numbers {
                    match m.numbers.get(n) {
                        None => return Err(ErrorCode::NotFound),
                        Some(M::Available) => take.push(n),
                        Some(M::Reserved(r)) if *r == index => {}
                        Some(_) => return Err(ErrorCode::OutOfStock),
                    }
                }
                Ok(take)
            }),
            Op::CancelReservation { actor, which } => {
                let r = self.open(*actor, self.pick_res(*which))?;
                let mut next = self.clone();
                let held = self.held(r);
                for &n in &held {
                    next.numbers[n] = M::Available;
                }
                next.res[r].state = R::Canceled;
                Ok((next, Expect::Released(held.len() as u64)))
            }
            Op::Cancel {
                actor,
                target,
                number,
                ..
            } => {
                let owner = Model::owner(*actor, *target)?;
                if self.owned(owner, *number)? != M::Active(owner) {
                    return Err(ErrorCode::Conflict);
                }
                let mut next = self.clone();
                next.numbers[*number] = M::Aging(owner, self.now + AGING);
                Ok((
                    next,
                    Expect::Changed {
                        number: *number,
                        owner,
                    },
                ))
            }
            Op::Restore {
                actor,
                target,
                number,
                ..
            } => {
                let owner = Model::owner(*actor, *target)?;
                match self.owned(owner, *number)? {
                    M::Active(_) => Err(ErrorCode::Conflict),
                    M::Aging(_, until) if until <= self.now => Err(ErrorCode::NotFound),
                    _ => {
                        let mut next = self.clone();
                        next.numbers[*number] = M::Active(owner);
                        Ok((
                            next,
                            Expect::Changed {
                                number: *number,
                                owner,
                            },
                        ))
                    }
                }
            }
            Op::Move {
                actor,
                target,
                number,
                to,
                ..
            } => {
                let owner = Model::owner(*actor, *target)?;
                let state = self.owned(owner, *number)?;
                if !reach(*actor, *to) {
                    return Err(ErrorCode::AccessDenied);
                }
                if state != M::Active(owner) {
                    return Err(ErrorCode::Conflict);
                }
                let mut next = self.clone();
                next.numbers[*number] = M::Active(*to);
                Ok((
                    next,
                    Expect::Changed {
                        number: *number,
                        owner: *to,
                    },
                ))
            }
            Op::Sweep => {
                let mut next = self.clone();
                let mut released = 0;
                for n in 0..KNOWN {
                    if matches!(self.numbers[n], M::Aging(_, until) if until <= self.now) {
                        next.numbers[n] = M::Available;
                        released += 1;
                    }
                }
                for r in 0..self.res.len() {
                    if self.res[r].state == R::Open && self.res[r].expires <= self.now {
                        next.res[r].state = R::Expired;
                        for n in self.held(r) {
                            next.numbers[n] = M::Available;
                            released += 1;
                        }
                    }
                }
                Ok((next, Expect::Released(released)))
            }
            Op::Wait(secs) => {
                let mut next = self.clone();
                next.now += secs;
                Ok((next, Expect::Nothing))
            }
        }
    }
}

// ------------------------------------------------------------ running ops

fn reservation_id(model: &Model, which: usize) -> ReservationId {
    model
        .pick_res(which)
        .and_then(|r| model.res[r].id.clone())
        .unwrap_or_else(|| ReservationId::parse("rsv_00000000000000ff").unwrap())
}

fn e164_list(numbers: &[usize]) -> E164List {
    E164List::new(numbers.iter().map(|&n| e164(NUMBERS[n])).collect()).unwrap()
}

fn into_of(model: &Model, into: &Into) -> ReserveInto {
    match into {
        Into::New => ReserveInto::New,
        Into::Current => ReserveInto::Current,
        Into::Existing(which) => ReserveInto::Existing(reservation_id(model, *which)),
    }
}

/// Runs `op` against the engine, as the service would (one transaction).
fn run(w: &mut World, model: &Model, op: &Op) -> Result<Outcome, Error> {
    let now = model.now;
    let account_number = |w: &World, i: usize| w.mem.row(w.ids[i]).number.clone();
    let target_of = |w: &World, t: &Option<usize>| t.map(|i| account_number(w, i));
    let order = |w: &World, target: &Option<usize>, source, plan: usize| DidOrder {
        target: target_of(w, target),
        source,
        did_type: None,
        rate_plan: plan_id(PLANS[plan]),
        title: Label::parse("t").unwrap(),
    };
    let (actor, command) = match op {
        Op::OrderArea {
            actor,
            target,
            area,
            did_type,
            qty,
            partial,
            plan,
        } => {
            let source = OrderSource::Area {
                area_id: area_id(AREAS[*area]),
                did_type: AREA_TYPE[*did_type],
                quantity: Quantity::new(u64::from(*qty)).unwrap(),
                partial: *partial,
            };
            (*actor, Command::DidOrder(order(w, target, source, *plan)))
        }
        Op::OrderList {
            actor,
            target,
            numbers,
            plan,
        } => {
            let source = OrderSource::Numbers(e164_list(numbers));
            (*actor, Command::DidOrder(order(w, target, source, *plan)))
        }
        Op::OrderReservation {
            actor,
            target,
            which,
            plan,
        } => {
            let source = OrderSource::Reservation(reservation_id(model, *which));
            (*actor, Command::DidOrder(order(w, target, source, *plan)))
        }
        Op::Credit { account, amount } => {
            let number = account_number(w, *account);
            return transact(&mut w.mem, |tx| {
                rules::accounts::credit(tx, &number, Money100(*amount), now)
            })
            .map(Outcome::Balance);
        }
        Op::ReserveArea {
            actor,
            target,
            area,
            qty,
            into,
            minutes,
        } => {
            let c = DidReserve {
                target: target_of(w, target),
                what: ReserveWhat::Area {
                    area_id: area_id(AREAS[*area]),
                    quantity: Quantity::new(u64::from(*qty)).unwrap(),
                    did_type: None,
                },
                into: into_of(model, into),
                minutes: minutes.map(|m| HoldMinutes::new(u64::from(m)).unwrap()),
            };
            (*actor, Command::DidReserve(c))
        }
        Op::ReserveNumbers {
            actor,
            target,
            numbers,
            into,
            minutes,
        } => {
            let c = DidReserve {
                target: target_of(w, target),
                what: ReserveWhat::Numbers(e164_list(numbers)),
                into: into_of(model, into),
                minutes: minutes.map(|m| HoldMinutes::new(u64::from(m)).unwrap()),
            };
            (*actor, Command::DidReserve(c))
        }
        Op::CancelReservation { actor, which } => (
            *actor,
            Command::DidReserveCancel(DidReserveCancel {
                id: reservation_id(model, *which),
            }),
        ),
        Op::Cancel {
            actor,
            target,
            number,
            ..
        }
        | Op::Restore {
            actor,
            target,
            number,
            ..
        } => {
            let n = NumberOf {
                target: target_of(w, target),
                e164: e164(NUMBERS[*number]),
            };
            let c = match op {
                Op::Cancel { .. } => Command::DidCancel(n),
                _ => Command::DidRestore(n),
            };
            (*actor, c)
        }
        Op::Move {
            actor,
            target,
            number,
            to,
            ..
        } => {
            let c = DidMove {
                number: NumberOf {
                    target: target_of(w, target),
                    e164: e164(NUMBERS[*number]),
                },
                to: account_number(w, *to),
            };
            (*actor, Command::DidMove(c))
        }
        Op::Sweep => return transact(&mut w.mem, |tx| rules::sweep(tx, now)),
        Op::Wait(_) => return Ok(Outcome::Done),
    };
    let key = w.keys[actor].clone();
    apply_with(&mut w.mem, &key, &settings(), now, &command)
}

// ------------------------------------------------------------- checking

/// The engine's view of the model's state, which must be equal.
fn check_state(w: &mut World, model: &Model) {
    // Every reservation, in the order made (the engine keeps them so).
    assert_eq!(
        w.mem.reservations.len(),
        model.res.len(),
        "reservation count"
    );
    for (row, m) in w.mem.reservations.iter().zip(&model.res) {
        assert_eq!(Some(&row.id), m.id.as_ref());
        assert_eq!(row.root_id, w.ids[m.root]);
        assert_eq!(row.account_id, w.ids[m.account]);
        assert_eq!(row.expires_at, m.expires, "expiry of {}", row.id);
        let state = match m.state {
            R::Open => ReservationState::Open,
            R::Ordered => ReservationState::Ordered,
            R::Canceled => ReservationState::Canceled,
            R::Expired => ReservationState::Expired,
        };
        assert_eq!(row.state, state, "state of {}", row.id);
    }
    // Every number in exactly the place the model says, and consistent.
    for (n, &want) in model.numbers.iter().enumerate() {
        let row = w.mem.num(NUMBERS[n]).clone();
        let res_id = |r: usize| model.res[r].id.clone();
        match want {
            M::Available => {
                assert_eq!(row.state, NumberState::Available, "{}", NUMBERS[n]);
                assert_eq!((row.account_id, &row.reservation_id), (None, &None));
                assert_eq!(row.settings, Default::default());
            }
            M::Reserved(r) => {
                assert_eq!(row.state, NumberState::Reserved, "{}", NUMBERS[n]);
                assert_eq!(row.account_id, None);
                assert_eq!(row.reservation_id, res_id(r));
                assert_eq!(
                    model.res[r].state,
                    R::Open,
                    "a closed reservation holds {}",
                    NUMBERS[n]
                );
            }
            M::Active(o) => {
                assert_eq!(row.state, NumberState::Active, "{}", NUMBERS[n]);
                assert_eq!(row.account_id, Some(w.ids[o]));
                assert_eq!(row.reservation_id, None);
            }
            M::Aging(o, until) => {
                assert_eq!(row.state, NumberState::Aging, "{}", NUMBERS[n]);
                assert_eq!(row.account_id, Some(w.ids[o]));
                assert_eq!(row.aging_until, Some(until));
            }
        }
    }
    // Money: balance = Σ ledger ≥ 0 on roots, no ledger on sub-accounts.
    assert_eq!(w.mem.ledger.len(), model.ledger_rows, "ledger rows");
    assert_eq!(w.mem.orders.len(), model.orders, "orders");
    let ids = w.ids;
    for (i, &id) in ids.iter().enumerate() {
        let balance = w.mem.balance(id).unwrap().0;
        assert_eq!(balance, w.mem.ledger_sum(id));
        assert_eq!(balance, model.balance[i], "balance of account {i}");
        assert!(balance >= 0);
        if PARENT[i].is_some() {
            assert!(
                w.mem.ledger_of(id).is_empty(),
                "ledger rows on sub-account {i}"
            );
        }
        let active = model.numbers.iter().filter(|&&m| m == M::Active(i)).count();
        assert_eq!(w.mem.count_active_numbers(id).unwrap(), active as u64);
    }
    let total: i64 = w.mem.ledger.iter().map(|l| l.amount).sum();
    assert_eq!(total, model.balance.iter().sum::<i64>());
    // Stock, as every reader of it sees it.
    let areas = w.mem.areas(None, None, None).unwrap();
    for (a, name) in AREAS.iter().take(2).enumerate() {
        let want = model.available(a);
        let stock = areas.iter().find(|x| x.id == *name).unwrap().stock;
        assert_eq!(stock, want.len() as i64, "stock of {name}");
        let lowest = w.mem.lowest_available(&area_id(name), 100).unwrap();
        let want: Vec<_> = want.iter().map(|&n| e164(NUMBERS[n])).collect();
        assert_eq!(lowest, want);
    }
    assert_eq!(w.mem.sweep_due(model.now).unwrap(), {
        let aged = model
            .numbers
            .iter()
            .any(|m| matches!(m, M::Aging(_, t) if *t <= model.now));
        let expired = model
            .res
            .iter()
            .any(|r| r.state == R::Open && r.expires <= model.now);
        aged || expired
    });
}

/// A successful outcome against what the model expected of it.
fn check_outcome(w: &World, before: &Mem, model: &mut Model, expect: &Expect, outcome: &Outcome) {
    match (expect, outcome) {
        (Expect::Ordered { numbers, cost }, Outcome::Ordered(o)) => {
            assert_eq!(o.charged, Money100(*cost), "charged");
            let got: Vec<&str> = o.dids.iter().map(|d| d.e164.as_str()).collect();
            let want: Vec<&str> = numbers.iter().map(|&n| NUMBERS[n]).collect();
            assert_eq!(got, want, "numbers sold");
            // None of them was sold already.
            for n in numbers {
                let was = before.num(NUMBERS[*n]).state;
                assert!(
                    matches!(was, NumberState::Available | NumberState::Reserved),
                    "{} sold while {was:?}",
                    NUMBERS[*n]
                );
            }
            assert!(o.dids.iter().all(|d| d.status == DidStatus::Active));
            let row = w.mem.orders.last().unwrap();
            assert_eq!((row.id, row.charged), (o.order_id, Money100(*cost)));
            assert_eq!(row.quantity as usize, numbers.len());
            let new_rows = &w.mem.ledger[before.ledger.len()..];
            if *cost > 0 {
                assert_eq!(new_rows.len(), 1);
                assert_eq!(new_rows[0].amount, -cost);
                assert_eq!(new_rows[0].kind, LedgerKind::Charge);
                assert_eq!(new_rows[0].order_id, Some(o.order_id));
            } else {
                assert!(new_rows.is_empty());
            }
        }
        (Expect::Balance(b), Outcome::Balance(got)) => assert_eq!(got.0, *b),
        (Expect::Reserved { index, expires }, Outcome::Reserved(r)) => {
            let m = &mut model.res[*index];
            match &m.id {
                Some(id) => assert_eq!(&r.id, id, "reserved into another reservation"),
                None => m.id = Some(r.id.clone()),
            }
            assert_eq!(r.expires_at, *expires);
            let got: Vec<&str> = r.dids.iter().map(|d| d.e164.as_str()).collect();
            let want: Vec<&str> = model.held(*index).iter().map(|&n| NUMBERS[n]).collect();
            assert_eq!(got, want, "numbers held");
        }
        (Expect::Released(n), Outcome::Released(got)) => assert_eq!(got, n),
        (Expect::Changed { number, owner }, Outcome::Changed(dids)) => {
            assert_eq!(dids.len(), 1);
            assert_eq!(dids[0].e164, NUMBERS[*number]);
            let owner = w.mem.row(w.ids[*owner]).number.to_string();
            assert_eq!(dids[0].account_number, owner);
        }
        (Expect::Nothing, Outcome::Done) => {}
        (e, o) => panic!("expected {e:?}, got {o:?}"),
    }
}

fn check_sequence(ops: &[Op]) {
    let mut w = world();
    let mut model = Model::new();
    check_state(&mut w, &model);
    for (i, op) in ops.iter().enumerate() {
        let op = &model.resolve(op);
        let before = w.mem.clone();
        let result = run(&mut w, &model, op);
        match (model.step(op), result) {
            (Ok((mut next, expect)), Ok(outcome)) => {
                check_outcome(&w, &before, &mut next, &expect, &outcome);
                model = next;
            }
            (Err(code), Err(err)) => {
                assert_eq!(err.code(), code, "step {i} {op:?}: {err}");
                assert_eq!(
                    w.mem, before,
                    "step {i} {op:?} failed but changed the database"
                );
            }
            (Ok((_, expect)), Err(err)) => {
                panic!(
                    "step {i} {op:?}: expected {expect:?}, refused with {}: {err}",
                    err.code()
                )
            }
            (Err(code), Ok(outcome)) => {
                panic!("step {i} {op:?}: expected {code}, got {outcome:?}")
            }
        }
        check_state(&mut w, &model);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn rules_agree_with_the_model_and_keep_the_invariants(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        check_sequence(&ops);
    }
}

/// A fixed sequence through every kind of step, so the model's own
/// bookkeeping (reservation ids learned, aging, expiry) is exercised even
/// where random sequences rarely go.
#[test]
fn a_day_in_the_life_agrees_with_the_model() {
    use Op::*;
    let ops = vec![
        ReserveArea {
            actor: 1,
            target: None,
            area: 0,
            qty: 2,
            into: Into::New,
            minutes: Some(5),
        },
        ReserveNumbers {
            actor: 2,
            target: None,
            numbers: vec![5, 2],
            into: Into::Current,
            minutes: None,
        },
        OrderList {
            actor: 0,
            target: Some(2),
            numbers: vec![1],
            plan: 0,
        },
        OrderReservation {
            actor: 0,
            target: None,
            which: 0,
            plan: 0,
        },
        OrderArea {
            actor: 3,
            target: Some(4),
            area: 1,
            did_type: 1,
            qty: 5,
            partial: true,
            plan: 0,
        },
        OrderArea {
            actor: 4,
            target: None,
            area: 0,
            did_type: 0,
            qty: 3,
            partial: false,
            plan: 1,
        },
        Wait(20),
        OrderReservation {
            actor: 2,
            target: None,
            which: 1,
            plan: 0,
        },
        Sweep,
        Cancel {
            actor: 0,
            target: None,
            number: 0,
            by: By::Generated,
        },
        Move {
            actor: 0,
            target: Some(2),
            number: 1,
            to: 1,
            by: By::Generated,
        },
        Restore {
            actor: 0,
            target: None,
            number: 0,
            by: By::Generated,
        },
        Cancel {
            actor: 1,
            target: None,
            number: 1,
            by: By::Generated,
        },
        Wait(AGING),
        Restore {
            actor: 1,
            target: None,
            number: 1,
            by: By::Generated,
        },
        Sweep,
        Credit {
            account: 1,
            amount: 10,
        },
        Credit {
            account: 3,
            amount: 0,
        },
        Credit {
            account: 3,
            amount: 400,
        },
        OrderArea {
            actor: 4,
            target: None,
            area: 0,
            did_type: 0,
            qty: 3,
            partial: false,
            plan: 0,
        },
        CancelReservation { actor: 0, which: 1 },
    ];
    check_sequence(&ops);
}
