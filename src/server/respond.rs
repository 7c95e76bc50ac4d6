//! One request: route it to the front that serves its path, read the body
//! within the limits, let the front decode it, run it through the core's
//! service, let the front render the result, and log one line (never a
//! key). The server's own paths (`/healthz`, `/metrics`) are answered here
//! in plain text, in no front's format.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use didgate_core::front::{Body, Front, Headers, HttpReply, HttpRequest};
use didgate_core::service::Credentials;
use didgate_core::{Error, StoreError};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;

use super::App;

/// What a request came to, for the transport and the log line.
struct Routed {
    reply: HttpReply,
    action: Option<&'static str>,
    account: Option<String>,
    /// The contract code of an error, `None` on success.
    code: Option<&'static str>,
}

impl Routed {
    fn plain(reply: HttpReply) -> Self {
        Routed {
            reply,
            action: None,
            account: None,
            code: None,
        }
    }

    fn error(front: &dyn Front, e: &Error) -> Self {
        log_failure(e);
        Routed {
            code: Some(e.code().as_str()),
            ..Routed::plain(front.render_error(None, e))
        }
    }
}

/// Storage and bug details reach the log here, for every front and every
/// path, and never the client.
fn log_failure(e: &Error) {
    use didgate_core::ErrorCode;
    if matches!(e.code(), ErrorCode::Internal | ErrorCode::Unavailable) {
        tracing::error!(error = ?e, "request failed");
    }
}

struct HeaderLookup<'a>(&'a HeaderMap);

impl Headers for HeaderLookup<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(HeaderValue::as_bytes)
    }
}

fn text(status: u16, body: &'static str) -> HttpReply {
    HttpReply {
        status,
        content_type: "text/plain; charset=utf-8",
        headers: Vec::new(),
        body: Body::Owned(body.as_bytes().to_vec()),
    }
}

impl App {
    /// Answers one request. A panic while handling it becomes an
    /// `INTERNAL` reply instead of a dropped connection; it is caught in
    /// place rather than by running the request in a task of its own,
    /// which cost a task and a wake-up per request.
    pub(super) async fn respond(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Full<Bytes>> {
        use futures_util::FutureExt;
        let start = Instant::now();
        let method = req.method().clone();
        // The path only: the GET form carries the key in the query string.
        let path = req.uri().path().to_owned();
        let routed = std::panic::AssertUnwindSafe(self.route(req, peer.ip()))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                tracing::error!("request handler panicked");
                let err = Error::Store(StoreError::Internal("handler panicked".into()));
                Routed::error(
                    self.front_for(&path).map_or(&*self.fronts[0], |(f, _)| f),
                    &err,
                )
            });
        let elapsed = start.elapsed();
        let code = routed.code.unwrap_or("OK");
        self.metrics.request(
            routed.action.unwrap_or(self.label(&path)),
            code,
            elapsed.as_secs_f64(),
        );
        tracing::info!(
            target: "didgate::request",
            peer = %peer.ip(),
            method = %method,
            path = %path,
            action = routed.action.unwrap_or("-"),
            account = routed.account.as_deref().unwrap_or("-"),
            code,
            status = routed.reply.status,
            latency_us = elapsed.as_micros() as u64,
        );
        to_response(routed.reply)
    }

    /// Requests without an action are counted under their path, and any
    /// path we do not serve under one label, so a client cannot grow the
    /// metrics without bound.
    fn label(&self, path: &str) -> &'static str {
        match path {
            "/healthz" => "/healthz",
            "/metrics" => "/metrics",
            _ => self
                .fronts
                .iter()
                .find(|f| f.route(path).is_some())
                .map_or("other", |f| f.name()),
        }
    }

    fn front_for(&self, path: &str) -> Option<(&dyn Front, &'static [&'static str])> {
        self.fronts
            .iter()
            .find_map(|f| f.route(path).map(|methods| (&**f, methods)))
    }

    async fn route(&self, req: Request<Incoming>, peer: IpAddr) -> Routed {
        let path = req.uri().path();
        match (req.method(), path) {
            (&Method::GET, "/healthz") => Routed::plain(self.health()),
            (_, "/healthz") => Routed::plain(not_allowed(text(405, "use GET\n"), &["GET"])),
            // Metrics reveal traffic and stock: only the machine itself (a
            // local Prometheus or an SSH tunnel) may read them.
            (&Method::GET, "/metrics") if peer.is_loopback() => Routed::plain(self.metrics().await),
            _ => match self.front_for(path) {
                None => Routed::error(&*self.fronts[0], &Error::NoRoute),
                Some((front, methods)) if !methods.iter().any(|m| *m == req.method().as_str()) => {
                    let mut routed = Routed::error(front, &Error::MethodNotAllowed(methods[0]));
                    routed.reply = not_allowed(routed.reply, methods);
                    routed
                }
                Some((front, _)) => self.serve(front, req, peer).await,
            },
        }
    }

    fn health(&self) -> HttpReply {
        if self.service.engine().healthy() {
            text(200, "ok\n")
        } else {
            text(503, "storage unavailable\n")
        }
    }

    async fn metrics(&self) -> HttpReply {
        match self.service.engine().stock_by_area().await {
            Ok(stock) => HttpReply {
                status: 200,
                content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
                headers: Vec::new(),
                body: Body::Owned(self.metrics.render(&stock).into_bytes()),
            },
            Err(e) => {
                log_failure(&e);
                text(503, "storage unavailable\n")
            }
        }
    }

    /// Reads, decodes, runs and renders a request for `front`.
    async fn serve(&self, front: &dyn Front, req: Request<Incoming>, peer: IpAddr) -> Routed {
        let (parts, body) = req.into_parts();
        let body = match self.read_body(&parts.headers, body).await {
            Ok(body) => body,
            Err(e) => return Routed::error(front, &e),
        };
        let request = HttpRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &HeaderLookup(&parts.headers),
            body: &body,
        };
        let decoded = match front.decode(&request) {
            Ok(decoded) => decoded,
            Err(e) => return Routed::error(front, &e),
        };
        let credentials = Credentials {
            key: decoded.key.as_deref(),
            signature: decoded.signature.as_deref(),
        };
        let answer = self
            .service
            .handle(credentials, decoded.request, peer)
            .await;
        let account = answer.account.map(|a| a.to_string());
        let (reply, code) = match &answer.result {
            Ok(executed) => (front.render(&decoded.view, executed), None),
            Err(e) => {
                log_failure(e);
                (
                    front.render_error(Some(&decoded.view), e),
                    Some(e.code().as_str()),
                )
            }
        };
        Routed {
            reply,
            action: decoded.action,
            account,
            code,
        }
    }

    /// Reads the body within the size and time limits. A declared length
    /// over the limit is refused before a byte of the body is read.
    async fn read_body(&self, headers: &HeaderMap, body: Incoming) -> Result<Bytes, Error> {
        let limit = self.config.body_limit;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(Error::TooLarge(limit));
        }
        let timeout = self.config.body_timeout;
        let collected = tokio::time::timeout(timeout, Limited::new(body, limit).collect())
            .await
            .map_err(|_| Error::BodyTimeout(timeout))?;
        match collected {
            Ok(body) => Ok(body.to_bytes()),
            Err(e) if e.is::<LengthLimitError>() => Err(Error::TooLarge(limit)),
            Err(_) => Err(Error::Malformed("could not read the request body".into())),
        }
    }
}

/// A 405 names the methods the path accepts (HTTP requires `Allow`).
fn not_allowed(mut reply: HttpReply, methods: &[&str]) -> HttpReply {
    reply.headers.push(("allow", methods.join(", ")));
    reply
}

fn to_response(reply: HttpReply) -> Response<Full<Bytes>> {
    let status = reply.status;
    let body = match reply.body {
        Body::Owned(v) => Bytes::from(v),
        Body::Shared(v) => Bytes::from_owner(ArcBytes(v)),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if matches!(status, 408 | 413) {
        // The rest of the body was not read; the connection cannot be reused.
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if status == 503 && !headers.contains_key(header::RETRY_AFTER) {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// A cached rendering shared with the read cache: the reply's bytes are
/// the cache's, not a copy.
struct ArcBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
