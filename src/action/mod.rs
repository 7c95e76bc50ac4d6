//! The actions: one file each, matched once in [`run`].
//!
//! An action turns [`Params`] into a typed request (`parse`), then does its
//! work through the [`Store`] (`execute`). Actions see neither hyper nor
//! rusqlite types, and no wire format: they return a domain [`Reply`], or
//! for mutating actions the reply rendered by the writer in the same
//! transaction (so a retry replays it byte for byte).

mod account_getbalance;
mod areas_list;
mod cache;
mod countries_list;
mod did_cancel;
mod did_list;
mod did_move;
mod did_order;
mod did_reserve;
mod did_reserve_cancel;
mod did_restore;
mod did_search;
mod did_update;
mod filter;
mod params;
mod states_list;
mod subaccount_create;
mod subaccount_delete;

use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use cache::ReplyCache;
pub use params::Params;

use crate::api::Codec;
use crate::domain::{Payload, Principal, Reply, RequestId};
use crate::error::Error;
use crate::store::{IdempotencyKey, Job, Mutation, Outcome, Store};

/// Every action didgate implements. Names not here are `UNKNOWN_ACTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CountriesList,
    StatesList,
    AreasList,
    DidSearch,
    DidReserve,
    DidReserveCancel,
    DidOrder,
    DidList,
    DidUpdate,
    DidCancel,
    DidRestore,
    DidMove,
    AccountGetBalance,
    SubaccountCreate,
    SubaccountDelete,
}

impl Action {
    const ALL: [Action; 15] = [
        Self::DidSearch,
        Self::DidReserve,
        Self::DidReserveCancel,
        Self::CountriesList,
        Self::StatesList,
        Self::AreasList,
        Self::DidOrder,
        Self::DidList,
        Self::DidUpdate,
        Self::DidCancel,
        Self::DidRestore,
        Self::DidMove,
        Self::AccountGetBalance,
        Self::SubaccountCreate,
        Self::SubaccountDelete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CountriesList => "ANVEO.COUNTRIES.LIST",
            Self::StatesList => "ANVEO.STATES.LIST",
            Self::AreasList => "ANVEO.AREAS.LIST",
            Self::DidSearch => "DID.SEARCH",
            Self::DidReserve => "DID.RESERVE",
            Self::DidReserveCancel => "DID.RESERVE.CANCEL",
            Self::DidOrder => "DID.ORDER",
            Self::DidList => "DID.LIST",
            Self::DidUpdate => "DID.UPDATE",
            Self::DidCancel => "DID.CANCEL",
            Self::DidRestore => "DID.RESTORE",
            Self::DidMove => "DID.MOVE",
            Self::AccountGetBalance => "ACCOUNT.GETBALANCE",
            Self::SubaccountCreate => "SUBACCOUNT.CREATE",
            Self::SubaccountDelete => "SUBACCOUNT.DELETE",
        }
    }

    /// Action names are matched case-insensitively.
    pub fn parse(name: &str) -> Option<Action> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// Read actions whose replies may be kept in the [`ReplyCache`]: those
    /// that depend on nothing but the database, the account and the
    /// parameters. `DID.SEARCH` is left out on purpose: its area snapshot
    /// is its own in-memory index, and a cache per pattern would only hide
    /// what a search costs.
    fn is_cacheable(self) -> bool {
        matches!(
            self,
            Self::CountriesList
                | Self::StatesList
                | Self::AreasList
                | Self::DidList
                | Self::AccountGetBalance
        )
    }

    /// Mutating actions honour `REQUEST_ID` and go through the writer.
    pub fn is_mutating(self) -> bool {
        !matches!(
            self,
            Self::CountriesList
                | Self::StatesList
                | Self::AreasList
                | Self::DidSearch
                | Self::DidList
                | Self::AccountGetBalance
        )
    }
}

/// Server settings the actions apply.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a canceled number ages before it returns to stock.
    pub aging_secs: i64,
    /// `MINUTES` of a reservation when none is given.
    pub reservation_default_minutes: u32,
    /// How long one reservation "minute" lasts, in seconds: 60, except in
    /// tests that need reservations to expire quickly.
    pub reservation_minute_secs: i64,
}

/// The request-wide options every action shares.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub test: bool,
    pub request_id: Option<RequestId>,
    pub ignored: Vec<String>,
}

impl Meta {
    fn is_empty(&self) -> bool {
        self.request_id.is_none() && !self.test && self.ignored.is_empty()
    }

    /// Adds the shared values (`REQUEST_ID`, `TEST`, `IGNORED_PARAMETERS`)
    /// after the action's own.
    fn decorate(&self, mut reply: Reply) -> Reply {
        if let Some(id) = &self.request_id {
            reply.values.push(("REQUEST_ID", id.to_string()));
        }
        if self.test {
            reply.values.push(("TEST", "TRUE".into()));
        }
        if !self.ignored.is_empty() {
            reply
                .values
                .push(("IGNORED_PARAMETERS", self.ignored.join(",")));
        }
        reply
    }
}

/// What an action has to work with.
pub struct Ctx {
    pub store: Store,
    pub principal: Principal,
    pub meta: Meta,
    pub settings: Arc<Settings>,
    codec: Arc<dyn Codec>,
    fingerprint: [u8; 32],
    cache_key: [u8; 32],
    cache: Option<Arc<ReplyCache>>,
    action: Action,
}

impl Ctx {
    /// The reply of a read action: from the cache when the database has
    /// not changed since it was made, otherwise from `fresh` (and kept).
    async fn read_through(
        &self,
        fresh: impl std::future::Future<Output = Result<Reply, Error>>,
    ) -> Result<Vec<u8>, Error> {
        let Some(cache) = self.cache.as_deref().filter(|_| self.action.is_cacheable()) else {
            return Ok(self.render(&fresh.await?));
        };
        // Read before the query: a commit while it runs leaves the entry
        // stale rather than wrongly fresh. Everything below is tied to
        // this one version.
        let version = self.store.version();
        let key = &self.cache_key;
        let reply = match cache.get(key, version) {
            Some(hit) => hit,
            None => {
                let reply = Arc::new(fresh.await?);
                cache.put(*key, version, reply.clone());
                reply
            }
        };
        if !self.meta.is_empty() {
            return Ok(self.render(&reply));
        }
        // Undecorated, the bytes are the same for every request with this
        // key, codec and version, so they are kept with the entry.
        let rendering = self.codec.rendering();
        if let Some(bytes) = cache.rendered(key, version, rendering) {
            return Ok(bytes.to_vec());
        }
        let bytes = self.codec.render(&reply);
        cache.keep_rendered(key, version, rendering, Arc::new(bytes.clone()));
        Ok(bytes)
    }

    /// `reply` with this request's decorations, in its codec.
    fn render(&self, reply: &Reply) -> Vec<u8> {
        if self.meta.is_empty() {
            self.codec.render(reply)
        } else {
            self.codec.render(&self.meta.decorate(reply.clone()))
        }
    }

    /// Submits a mutation through the one mechanism every mutating action
    /// shares: `TEST=TRUE` rolls it back, `REQUEST_ID` makes it idempotent,
    /// and the reply is rendered in the writer so it can be stored with
    /// the change.
    pub async fn mutate(&self, mutation: Mutation) -> Result<Vec<u8>, Error> {
        let codec = self.codec.clone();
        let meta = self.meta.clone();
        let idempotency = meta.request_id.clone().map(|request_id| IdempotencyKey {
            account_id: self.principal.account_id,
            request_id,
            fingerprint: self.fingerprint,
        });
        let job = Job {
            mutation,
            test: meta.test,
            idempotency,
            render: Box::new(move |outcome| codec.render(&meta.decorate(reply_of(outcome)))),
        };
        self.store.write(job).await
    }
}

/// The reply a mutation's outcome makes, the same for every action that
/// produces it.
fn reply_of(outcome: &Outcome) -> Reply {
    match outcome {
        Outcome::Order(o) => Reply::new(Payload::Dids(o.dids.clone()))
            .value("ORDER_ID", o.order_id.to_string())
            .value("CHARGED100", o.charged.0.to_string()),
        Outcome::Dids(dids) => Reply::new(Payload::Dids(dids.clone())),
        Outcome::Account(number) => {
            Reply::new(Payload::None).value("ACCOUNT_NUMBER", number.to_string())
        }
        Outcome::Reservation(r) => Reply::new(Payload::Reservation {
            id: r.id.to_string(),
            expires: r.expires_at,
            dids: r.dids.clone(),
        }),
        Outcome::Released(n) => Reply::default().value("RELEASED", n.to_string()),
        Outcome::Done => Reply::default(),
    }
}

/// The caller's context before the action has read its parameters.
pub(crate) struct Pending {
    pub store: Store,
    pub principal: Principal,
    pub codec: Arc<dyn Codec>,
    pub test: bool,
    pub request_id: Option<RequestId>,
    pub action: Action,
    pub settings: Arc<Settings>,
    pub cache: Option<Arc<ReplyCache>>,
}

impl Pending {
    fn finish(self, params: &Params) -> Ctx {
        Ctx {
            fingerprint: fingerprint(self.action, &self.principal, params),
            cache_key: cache_key(self.action, &self.principal, params),
            store: self.store,
            principal: self.principal,
            meta: Meta {
                test: self.test,
                request_id: self.request_id,
                ignored: params.unused(),
            },
            settings: self.settings,
            codec: self.codec,
            cache: self.cache,
            action: self.action,
        }
    }
}

/// Identifies "the same request" for idempotency: the action, the key's
/// account and every parameter except `SIGNATURE` (which may be recomputed
/// by a retrying client), in a canonical order.
fn fingerprint(action: Action, principal: &Principal, params: &Params) -> [u8; 32] {
    digest(action, Some(principal.account_id), params)
}

/// The key of a read's reply in the [`ReplyCache`]: the fingerprint, but
/// without the account for the catalog, which is the same for everyone
/// (so 1,000 accounts listing the same areas share one entry).
fn cache_key(action: Action, principal: &Principal, params: &Params) -> [u8; 32] {
    let account = match action {
        Action::CountriesList | Action::StatesList | Action::AreasList => None,
        _ => Some(principal.account_id),
    };
    digest(action, account, params)
}

fn digest(action: Action, account: Option<i64>, params: &Params) -> [u8; 32] {
    let mut items: Vec<&(String, String)> = params
        .all()
        .iter()
        .filter(|(n, _)| n != "SIGNATURE")
        .collect();
    items.sort();
    let mut h = Sha256::new();
    h.update(action.name().as_bytes());
    h.update([0]);
    if let Some(account) = account {
        h.update(account.to_le_bytes());
    }
    for (n, v) in items {
        h.update(n.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// Runs `action`: the one place the closed set of actions is matched.
pub(crate) async fn run(
    action: Action,
    mut params: Params,
    pending: Pending,
) -> Result<Vec<u8>, Error> {
    // A read action answers with a domain reply, rendered here.
    macro_rules! read {
        ($module:ident) => {{
            let request = $module::parse(&mut params)?;
            let ctx = pending.finish(&params);
            ctx.read_through($module::execute(&ctx, request)).await
        }};
    }
    // A mutating action's reply is rendered by the writer (see `Ctx::mutate`).
    macro_rules! write {
        ($module:ident) => {{
            let request = $module::parse(&mut params)?;
            let ctx = pending.finish(&params);
            $module::execute(&ctx, request).await
        }};
    }
    match action {
        Action::CountriesList => read!(countries_list),
        Action::StatesList => read!(states_list),
        Action::AreasList => read!(areas_list),
        Action::AccountGetBalance => read!(account_getbalance),
        Action::DidList => read!(did_list),
        Action::DidSearch => read!(did_search),
        Action::DidReserve => write!(did_reserve),
        Action::DidReserveCancel => write!(did_reserve_cancel),
        Action::DidOrder => write!(did_order),
        Action::DidUpdate => write!(did_update),
        Action::DidCancel => write!(did_cancel),
        Action::DidRestore => write!(did_restore),
        Action::DidMove => write!(did_move),
        Action::SubaccountCreate => write!(subaccount_create),
        Action::SubaccountDelete => write!(subaccount_delete),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(account_id: i64) -> Principal {
        Principal {
            key_id: crate::domain::KeyId::parse("0123456789abcdef").unwrap(),
            account_id,
            account_number: crate::domain::AccountNumber::parse("1000000001").unwrap(),
            root_id: account_id,
            signature: None,
        }
    }

    #[test]
    fn catalog_replies_are_shared_and_account_replies_are_not() {
        let params = Params::new(vec![("STATE_ID".into(), "US-CA".into())]);
        let (a, b) = (principal(1), principal(2));
        let areas = Action::AreasList;
        assert_eq!(cache_key(areas, &a, &params), cache_key(areas, &b, &params));
        for action in [Action::DidList, Action::AccountGetBalance] {
            assert_ne!(
                cache_key(action, &a, &params),
                cache_key(action, &b, &params)
            );
        }
        // Idempotency always tells accounts apart.
        assert_ne!(
            fingerprint(areas, &a, &params),
            fingerprint(areas, &b, &params)
        );
        let other = Params::new(vec![("STATE_ID".into(), "US-NY".into())]);
        assert_ne!(cache_key(areas, &a, &params), cache_key(areas, &a, &other));
    }

    #[test]
    fn names_round_trip_case_insensitively() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.name()), Some(a));
            assert_eq!(Action::parse(&a.name().to_lowercase()), Some(a));
        }
        assert_eq!(Action::parse("DID.TELEPORT"), None);
    }
}
