//! The closed set of commands every front decodes into: one struct per
//! command, one enum listing them all ([`Command`]), matched once in
//! `service.rs`. Values are already parsed (`domain`), so the rules never
//! re-check a form, a range or a default.

use crate::domain::{
    AccountNumber, AreaCode, AreaId, ContainsPattern, CountryId, DidChanges, DidFilter, DidType,
    E164, E164List, HoldMinutes, Label, ListLimit, Offset, Quantity, RatePlanId, RequestId,
    ReservationId, SearchLimit,
};

/// A decoded request: what to do, and the options every command shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub command: Command,
    /// `TEST=TRUE`: validate, price and answer, commit nothing.
    pub test: bool,
    /// Idempotency: a mutating command runs at most once per account and id.
    pub request_id: Option<RequestId>,
}

impl Request {
    pub fn new(command: Command) -> Self {
        Request {
            command,
            test: false,
            request_id: None,
        }
    }
}

/// Every command didgate implements.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    CountriesList(CountriesList),
    StatesList(StatesList),
    AreasList(AreasList),
    DidSearch(DidSearch),
    DidReserve(DidReserve),
    DidReserveCancel(DidReserveCancel),
    DidOrder(DidOrder),
    DidList(DidList),
    DidUpdate(DidUpdate),
    DidCancel(NumberOf),
    DidRestore(NumberOf),
    DidMove(DidMove),
    AccountGetBalance(AccountGetBalance),
    SubaccountCreate(SubaccountCreate),
    SubaccountDelete(SubaccountDelete),
}

/// What kind of work a command is, which decides how it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A read of the shared catalog: the same answer for every account.
    Catalog,
    /// A read of the caller's own data.
    Read,
    /// A search: a read that is never kept (its index is its own cache).
    Search,
    /// A change, run in a transaction, idempotent under `REQUEST_ID`.
    Mutation,
}

impl Command {
    /// The command's name in the log and the metrics (Anveo's action names).
    pub fn name(&self) -> &'static str {
        match self {
            Self::CountriesList(_) => "ANVEO.COUNTRIES.LIST",
            Self::StatesList(_) => "ANVEO.STATES.LIST",
            Self::AreasList(_) => "ANVEO.AREAS.LIST",
            Self::DidSearch(_) => "DID.SEARCH",
            Self::DidReserve(_) => "DID.RESERVE",
            Self::DidReserveCancel(_) => "DID.RESERVE.CANCEL",
            Self::DidOrder(_) => "DID.ORDER",
            Self::DidList(_) => "DID.LIST",
            Self::DidUpdate(_) => "DID.UPDATE",
            Self::DidCancel(_) => "DID.CANCEL",
            Self::DidRestore(_) => "DID.RESTORE",
            Self::DidMove(_) => "DID.MOVE",
            Self::AccountGetBalance(_) => "ACCOUNT.GETBALANCE",
            Self::SubaccountCreate(_) => "SUBACCOUNT.CREATE",
            Self::SubaccountDelete(_) => "SUBACCOUNT.DELETE",
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::CountriesList(_) | Self::StatesList(_) | Self::AreasList(_) => Kind::Catalog,
            Self::DidList(_) | Self::AccountGetBalance(_) => Kind::Read,
            Self::DidSearch(_) => Kind::Search,
            _ => Kind::Mutation,
        }
    }

    pub fn is_mutating(&self) -> bool {
        self.kind() == Kind::Mutation
    }
}

/// `ANVEO.COUNTRIES.LIST`: countries with at least one area (of a type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CountriesList {
    pub did_type: Option<DidType>,
}

/// `ANVEO.STATES.LIST`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatesList {
    pub country: CountryId,
    pub did_type: Option<DidType>,
}

/// Which areas a list covers: a country, a state, or a state checked to
/// lie in a country.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AreaScope {
    Country(CountryId),
    State(String),
    StateIn { country: CountryId, state: String },
}

/// `ANVEO.AREAS.LIST`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AreasList {
    pub scope: AreaScope,
    pub did_type: Option<DidType>,
}

/// Which area(s) a search covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AreaSelect {
    Id(AreaId),
    /// Every area of a country with this area code.
    Code {
        country: CountryId,
        area_code: AreaCode,
    },
}

/// `DID.SEARCH`: available numbers, lowest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DidSearch {
    pub area: AreaSelect,
    pub did_type: Option<DidType>,
    pub contains: Option<ContainsPattern>,
    pub limit: SearchLimit,
}

/// What a reservation takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReserveWhat {
    /// The lowest available numbers of an area; all or none. `did_type`,
    /// when given, must be the area's.
    Area {
        area_id: AreaId,
        quantity: Quantity,
        did_type: Option<DidType>,
    },
    /// These numbers; all or none.
    Numbers(E164List),
}

/// Which reservation receives the numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReserveInto {
    New,
    /// This open reservation of the caller's tree (a cart).
    Existing(ReservationId),
    /// The account's newest open reservation, or a new one (the JSON
    /// front's "current order").
    Current,
}

/// `DID.RESERVE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DidReserve {
    pub target: Option<AccountNumber>,
    pub what: ReserveWhat,
    pub into: ReserveInto,
    /// The server's default when `None`.
    pub minutes: Option<HoldMinutes>,
}

/// `DID.RESERVE.CANCEL`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DidReserveCancel {
    pub id: ReservationId,
}

/// Where the numbers of an order come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderSource {
    /// The lowest available numbers of an area of type `did_type`.
    Area {
        area_id: AreaId,
        did_type: DidType,
        quantity: Quantity,
        partial: bool,
    },
    /// Exactly the numbers a reservation of the caller's tree holds.
    Reservation(ReservationId),
    /// These numbers, each available or reserved by the caller's tree.
    Numbers(E164List),
}

/// `DID.ORDER`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DidOrder {
    /// The account that will own the numbers; the key's own when `None`.
    pub target: Option<AccountNumber>,
    pub source: OrderSource,
    /// Checked against every number's area when given (for area orders
    /// the type is part of the source).
    pub did_type: Option<DidType>,
    pub rate_plan: RatePlanId,
    pub title: Label,
}

/// `DID.LIST`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DidList {
    pub target: Option<AccountNumber>,
    pub filter: DidFilter,
    pub limit: ListLimit,
    pub offset: Offset,
}

/// `DID.UPDATE`: at least one filter and one change (fronts check both).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DidUpdate {
    pub target: Option<AccountNumber>,
    pub filter: DidFilter,
    pub changes: DidChanges,
}

/// `DID.CANCEL` and `DID.RESTORE`: one number of the caller's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NumberOf {
    pub target: Option<AccountNumber>,
    pub e164: E164,
}

/// `DID.MOVE`: one number to another account of the caller's tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DidMove {
    pub number: NumberOf,
    pub to: AccountNumber,
}

/// `ACCOUNT.GETBALANCE`: the balance of the caller's billing account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AccountGetBalance;

/// `SUBACCOUNT.CREATE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubaccountCreate {
    pub name: Label,
}

/// `SUBACCOUNT.DELETE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubaccountDelete {
    pub account: AccountNumber,
}
