//! The front-neutral core of a request: authenticate (under the limit on
//! failures), check Anveo's signature, then run the typed command: reads
//! in one snapshot (kept in the read cache while the database is
//! unchanged), mutations in one transaction with idempotency. Fronts
//! render what comes out.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Authenticator, Presented, signature_ok};
use crate::cache::{ReplyCache, Slot};
use crate::command::{Command, Kind, Request};
use crate::domain::{AccountNumber, Principal, now};
use crate::engine::Engine;
use crate::error::Error;
use crate::outcome::Executed;
use crate::ratelimit::FailureLimiter;
use crate::rules::{self, Ctx};
use crate::settings::Settings;

/// What the service needs to know of the server's configuration.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Argon2 verifications running at once.
    pub hash_parallelism: usize,
    /// How long a verified key is trusted before its row is read again.
    pub key_recheck: Duration,
    /// Failed authentications one address may make at once ...
    pub auth_failures: u32,
    /// ... refilled at that many per this window.
    pub auth_failure_window: Duration,
    /// Keep read outcomes while the database is unchanged.
    pub read_cache: bool,
    pub settings: Settings,
}

/// The credentials a front found in a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub key: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// A request's result, with the account it ran for (for the log line).
#[derive(Debug)]
pub struct Answer {
    pub account: Option<AccountNumber>,
    pub result: Result<Executed, Error>,
}

pub struct Service {
    engine: Arc<dyn Engine>,
    auth: Authenticator,
    limiter: FailureLimiter,
    settings: Settings,
    cache: Option<Arc<ReplyCache>>,
}

impl Service {
    pub fn new(engine: Arc<dyn Engine>, config: &ServiceConfig) -> Self {
        Service {
            auth: Authenticator::new(engine.clone(), config.hash_parallelism, config.key_recheck),
            limiter: FailureLimiter::new(config.auth_failures, config.auth_failure_window),
            cache: config.read_cache.then(Arc::default),
            settings: config.settings.clone(),
            engine,
        }
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// Handles one decoded request from `peer`. The credentials are checked
    /// first, so a caller without a valid key (or signature) gets
    /// `AUTH_FAILED` whatever else is wrong with the request.
    pub async fn handle(
        &self,
        credentials: Credentials<'_>,
        request: Result<Request, Error>,
        peer: IpAddr,
    ) -> Answer {
        let principal = match self.authenticate(credentials, peer).await {
            Ok(p) => p,
            Err(e) => {
                return Answer {
                    account: None,
                    result: Err(e),
                };
            }
        };
        let result = match request {
            Ok(request) => self.execute(&principal, request).await,
            Err(e) => Err(e),
        };
        Answer {
            account: Some(principal.account_number),
            result,
        }
    }

    /// The caller behind the credentials, under the per-address limit on
    /// failures: a key already proven is checked against the cache only (a
    /// client behind the same NAT as an attacker keeps working); any other
    /// key is refused before any database or Argon2 work while the address
    /// has no failures left, and a wrong key uses one up.
    async fn authenticate(&self, c: Credentials<'_>, peer: IpAddr) -> Result<Principal, Error> {
        let key = Presented::new(c.key.unwrap_or(""));
        let principal = if self.auth.is_verified(&key) {
            self.auth.authenticate(&key).await?
        } else {
            self.limiter.check(peer).map_err(Error::RateLimited)?;
            let result = self.auth.authenticate(&key).await;
            if matches!(result, Err(Error::AuthFailed)) {
                self.limiter.failed(peer);
            }
            result?
        };
        // Accepted and ignored unless the account has a signature secret,
        // in which case a missing or wrong one fails like a wrong key.
        match &principal.signature {
            Some(secret) if !signature_ok(secret, c.signature) => Err(Error::AuthFailed),
            _ => Ok(principal),
        }
    }

    /// Runs a command for `principal`: the one place commands are told
    /// apart by how they run.
    async fn execute(&self, principal: &Principal, request: Request) -> Result<Executed, Error> {
        match request.command.kind() {
            Kind::Mutation => self.mutate(principal, request).await,
            Kind::Search => self.read_fresh(principal, request.command).await,
            Kind::Catalog | Kind::Read => self.read_through(principal, request.command).await,
        }
    }

    async fn read_fresh(&self, principal: &Principal, command: Command) -> Result<Executed, Error> {
        let (principal, settings) = (principal.clone(), self.settings.clone());
        let outcome = self
            .engine
            .read_with(move |r| {
                let ctx = Ctx {
                    principal: &principal,
                    settings: &settings,
                    now: now(),
                };
                rules::read(r, &ctx, &command)
            })
            .await?;
        Ok(Executed {
            outcome: Arc::new(outcome),
            cached: None,
        })
    }

    /// A read's outcome: from the cache when the database has not changed
    /// since it was made, otherwise fresh (and kept).
    async fn read_through(
        &self,
        principal: &Principal,
        command: Command,
    ) -> Result<Executed, Error> {
        let Some(cache) = &self.cache else {
            return self.read_fresh(principal, command).await;
        };
        // The catalog is the same for everyone, so 1,000 accounts listing
        // the same areas share one entry.
        let account = (command.kind() != Kind::Catalog).then_some(principal.account_id);
        let key = rules::digest(account, &command);
        // Read before the query: a commit while it runs leaves the entry
        // stale rather than wrongly fresh.
        let version = self.engine.version();
        let outcome = match cache.get(&key, version) {
            Some(hit) => hit,
            None => {
                let fresh = self.read_fresh(principal, command).await?.outcome;
                cache.put(key, version, fresh.clone());
                fresh
            }
        };
        Ok(Executed {
            outcome,
            cached: Some(Slot::new(cache.clone(), key, version)),
        })
    }

    /// Runs a mutation in one transaction: `TEST=TRUE` rolls it back,
    /// `REQUEST_ID` makes it happen at most once.
    async fn mutate(&self, principal: &Principal, request: Request) -> Result<Executed, Error> {
        let Request {
            command,
            test,
            request_id,
        } = request;
        // A dry run is never recorded, so the same id may be used for real.
        let idempotency = request_id
            .filter(|_| !test)
            .map(|id| (id, rules::fingerprint(principal.account_id, &command)));
        let (principal, settings) = (principal.clone(), self.settings.clone());
        let outcome = self
            .engine
            .write_with(test, move |tx| {
                let ctx = Ctx {
                    principal: &principal,
                    settings: &settings,
                    now: now(),
                };
                let key = idempotency
                    .as_ref()
                    .map(|(id, fp)| (principal.account_id, id, *fp));
                rules::once(tx, key, ctx.now, |tx| rules::apply(tx, &ctx, &command))
            })
            .await?;
        Ok(Executed {
            outcome: Arc::new(outcome),
            cached: None,
        })
    }

    /// Returns numbers whose aging has ended, and numbers of expired
    /// reservations, to stock. Looks in a read snapshot first, so an idle
    /// server commits nothing.
    pub async fn sweep(&self) -> Result<(), Error> {
        let t = now();
        if !self.engine.read_with(move |r| Ok(r.sweep_due(t)?)).await? {
            return Ok(());
        }
        self.engine
            .write_with(false, move |tx| rules::sweep(tx, now()))
            .await
            .map(|_| ())
    }
}
