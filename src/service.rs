//! The front-neutral core of a request: authenticate, read the shared
//! parameters, run the action, and render the outcome or the error with
//! the codec of the front the request came through.

use std::sync::Arc;

use crate::action::{self, Action, Params, Pending, Settings};
use crate::api::{ApiRequest, Codec};
use crate::auth::Authenticator;
use crate::config::Config;
use crate::domain::RequestId;
use crate::error::{Error, ErrorCode};
use crate::store::Store;

/// The outcome of one request, ready for the transport and the log line.
pub struct Handled {
    pub body: Vec<u8>,
    /// The codec's media type.
    pub content_type: &'static str,
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
            code: Some(err.code()),
            action: None,
            account: None,
        }
    }
}

pub struct Service {
    store: Store,
    auth: Authenticator,
    settings: Arc<Settings>,
}

impl Service {
    pub fn new(store: Store, config: &Config) -> Self {
        let auth = Authenticator::new(store.clone(), config.hash_parallelism, config.key_recheck);
        Service {
            store,
            auth,
            settings: Arc::new(Settings {
                aging_secs: config.aging.as_secs().try_into().unwrap_or(i64::MAX),
                reservation_default_minutes: config.reservation_minutes,
                reservation_minute_secs: config.reservation_minute.as_secs().max(1).try_into().unwrap_or(60),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn handle(&self, request: ApiRequest, codec: Arc<dyn Codec>) -> Handled {
        let action = Action::parse(&request.action);
        let mut account = None;
        let result = self.run(request, action, codec.clone(), &mut account).await;
        match result {
            Ok(body) => Handled {
                body,
                content_type: codec.content_type(),
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
        account: &mut Option<String>,
    ) -> Result<Vec<u8>, Error> {
        let principal = self
            .auth
            .authenticate(request.key.as_deref().unwrap_or(""))
            .await?;
        *account = Some(principal.account_number.to_string());
        let action = action.ok_or_else(|| Error::UnknownAction(sanitize(&request.action)))?;
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
        };
        action::run(action, params, pending).await
    }
}

/// An unknown action name, cut and cleaned so an error never echoes a
/// payload.
fn sanitize(name: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect();
    if clean.is_empty() {
        "(empty)".into()
    } else {
        clean
    }
}
