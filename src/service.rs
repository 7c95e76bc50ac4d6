//! The front-neutral core of a request: authenticate, read the shared
//! parameters, run the action, and render the outcome or the error with
//! the codec of the front the request came through.

use std::net::IpAddr;
use std::sync::Arc;

use crate::action::{self, Action, Params, Pending, ReplyCache, Settings};
use crate::api::{ApiRequest, Codec};
use crate::auth::Authenticator;
use crate::config::Config;
use crate::domain::RequestId;
use crate::error::{Error, ErrorCode};
use crate::ratelimit::FailureLimiter;
use crate::store::Store;

/// The outcome of one request, ready for the transport and the log line.
pub struct Handled {
    pub body: Vec<u8>,
    /// The codec's media type.
    pub content_type: &'static str,
    /// Seconds for a `Retry-After` header (rate limited).
    pub retry_after: Option<u64>,
    /// `None` on success.
    pub code: Option<ErrorCode>,
    pub action: Option<&'static str>,
    pub account: Option<String>,
}

impl Handled {
    /// A failure before or outside any action (transport, envelope).
    pub fn error(codec: &dyn Codec, err: &Error) -> Handled {
        // Storage and bug details reach the log here, for every front and
        // every path, and never the client.
        if matches!(err.code(), ErrorCode::Internal | ErrorCode::Unavailable) {
            tracing::error!(error = ?err, "request failed");
        }
        Handled {
            body: codec.render_error(err.code(), &err.public_message()),
            content_type: codec.content_type(),
            retry_after: match err {
                Error::RateLimited(wait) => Some(*wait),
                _ => None,
            },
            code: Some(err.code()),
            action: None,
            account: None,
        }
    }
}

pub struct Service {
    store: Store,
    auth: Authenticator,
    limiter: FailureLimiter,
    settings: Arc<Settings>,
    cache: Option<Arc<ReplyCache>>,
}

impl Service {
    pub fn new(store: Store, config: &Config) -> Self {
        let auth = Authenticator::new(store.clone(), config.hash_parallelism, config.key_recheck);
        Service {
            store,
            auth,
            limiter: FailureLimiter::new(config.auth_failures, config.auth_failure_window),
            cache: config.read_cache.then(Arc::default),
            settings: Arc::new(Settings {
                aging_secs: config.aging.as_secs().try_into().unwrap_or(i64::MAX),
                reservation_default_minutes: config.reservation_minutes,
                reservation_minute_secs: config
                    .reservation_minute
                    .as_secs()
                    .max(1)
                    .try_into()
                    .unwrap_or(60),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Answers a request a codec could decode but not run: the key is
    /// checked first (with the same rate limit), so a caller without a
    /// valid key gets `AUTH_FAILED` whatever else is wrong.
    pub async fn reject_after_auth(
        &self,
        key: Option<&str>,
        error: Error,
        codec: &dyn Codec,
        peer: IpAddr,
    ) -> Handled {
        let auth = self.authenticate(key.unwrap_or(""), peer).await;
        match auth {
            Ok(principal) => Handled {
                account: Some(principal.account_number.to_string()),
                ..Handled::error(codec, &error)
            },
            Err(e) => Handled::error(codec, &e),
        }
    }

    /// The caller behind `key`, under the per-address limit on failures:
    /// a key already proven is checked against the cache only (a client
    /// behind the same NAT as an attacker keeps working); any other key is
    /// refused before any database or Argon2 work while the address has no
    /// failures left, and a wrong key uses one up.
    async fn authenticate(
        &self,
        key: &str,
        peer: IpAddr,
    ) -> Result<crate::domain::Principal, Error> {
        let key = crate::auth::Presented::new(key);
        if self.auth.is_verified(&key) {
            return self.auth.authenticate(&key).await;
        }
        self.limiter.check(peer).map_err(Error::RateLimited)?;
        let result = self.auth.authenticate(&key).await;
        if matches!(result, Err(Error::AuthFailed)) {
            self.limiter.failed(peer);
        }
        result
    }

    /// Handles one request from `peer`.
    pub async fn handle(
        &self,
        request: ApiRequest,
        codec: Arc<dyn Codec>,
        peer: IpAddr,
    ) -> Handled {
        let action = Action::parse(&request.action);
        let mut account = None;
        let result = self
            .run(request, action, codec.clone(), peer, &mut account)
            .await;
        match result {
            Ok(body) => Handled {
                body,
                content_type: codec.content_type(),
                retry_after: None,
                code: None,
                action: action.map(Action::name),
                account,
            },
            Err(err) => Handled {
                account,
                action: action.map(Action::name),
                ..Handled::error(&*codec, &err)
            },
        }
    }

    async fn run(
        &self,
        request: ApiRequest,
        action: Option<Action>,
        codec: Arc<dyn Codec>,
        peer: IpAddr,
        account: &mut Option<String>,
    ) -> Result<Vec<u8>, Error> {
        let key = request.key.as_deref().unwrap_or("");
        let principal = self.authenticate(key, peer).await?;
        *account = Some(principal.account_number.to_string());
        let action = action.ok_or_else(|| Error::unknown_action(&request.action))?;
        let mut params = Params::new(request.params);
        let test = params.flag("TEST", false)?;
        let request_id = if action.is_mutating() {
            params.parse("REQUEST_ID", RequestId::parse)?
        } else {
            None
        };
        // Accepted and ignored unless the account has a signature secret,
        // in which case a missing or wrong one fails like a wrong key.
        let signature = params.get("SIGNATURE");
        if let Some(key) = &principal.signature {
            if !crate::auth::signature_ok(key, signature.as_deref()) {
                return Err(Error::AuthFailed);
            }
        }
        let pending = Pending {
            store: self.store.clone(),
            principal,
            codec,
            test,
            request_id,
            action,
            settings: self.settings.clone(),
            cache: self.cache.clone(),
        };
        action::run(action, params, pending).await
    }
}
