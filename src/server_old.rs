//! HTTP transport: accepts connections, applies the transport limits,
//! routes paths to codecs, and logs one line per request (never a key).

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::api::Codec;
use crate::codec::json::{self, JsonCodec, Rejection};
use crate::codec::query;
use crate::codec::xml::{self, XmlCodec};
use crate::config::Config;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::service::{Handled, Service};
use crate::store::Store;

struct App {
    service: Service,
    config: Config,
    xml: Arc<dyn Codec>,
    metrics: Arc<Metrics>,
}

/// Serves until `shutdown` completes, then stops accepting, lets requests
/// in flight finish (up to the grace period), flushes the writer and
/// returns. Tests call this with a listener on port 0.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let path = config.db_path.clone();
    let readers = config.readers;
    let metrics = Arc::new(Metrics::new());
    let observer = metrics.clone();
    let on_batch: crate::store::writer::BatchObserver =
        Arc::new(move |jobs, took| observer.batch(jobs, took));
    let store = crate::blocking::run(move || Store::open(&path, readers, Some(on_batch))).await?;
    let service = Service::new(store.clone(), &config);
    let app = Arc::new(App {
        service,
        config,
        xml: Arc::new(XmlCodec),
        metrics,
    });

    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(app.config.header_timeout)
        .max_headers(app.config.max_headers)
        .keep_alive(true);
    let (stop_sweep, sweep_stopped) = tokio::sync::oneshot::channel::<()>();
    let sweeper = tokio::spawn(sweep(
        store.clone(),
        app.config.sweep_interval,
        sweep_stopped,
    ));
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(app.config.max_connections));
    tokio::pin!(shutdown);

    loop {
        // Waiting for a slot before accepting leaves extra clients in the
        // kernel's listen queue while existing connections keep working.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("semaphore never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Usually out of file descriptors: back off, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let conn = http.serve_connection(
            TokioIo::new(stream),
            service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(app.respond(req, peer).await) }
            }),
        );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }

    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    let grace = app.config.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {grace:?}; closing them");
    }
    let _ = stop_sweep.send(());
    let _ = sweeper.await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Returns aged numbers and expired reservations to stock on its own,
/// without a request or a restart, until `stop` fires.
async fn sweep(
    store: Store,
    every: std::time::Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = store.sweep().await {
                    tracing::warn!(error = %e, "sweep failed; retrying next tick");
                }
            }
            _ = &mut stop => return,
        }
    }
}

impl App {
    /// Answers one request. A panic while handling it becomes an
    /// `INTERNAL` reply instead of a dropped connection; it is caught in
    /// place rather than by running the request in a task of its own,
    /// which cost a task and a wake-up per request.
    async fn respond(
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
            .await;
        let (status, handled) = match routed {
            Ok(done) => done,
            Err(_) => {
                tracing::error!("request handler panicked");
                let err = Error::Store(crate::error::StoreError::Internal(
                    "handler panicked".into(),
                ));
                let handled = if path == "/ws/apikey/call_function" {
                    Handled::error(&JsonCodec::new(None), &err)
                } else {
                    Handled::error(&*self.xml, &err)
                };
                (err.http_status(), handled)
            }
        };
        let elapsed = start.elapsed();
        let code = handled.code.map_or("OK", |c| c.as_str());
        // Requests without an action are counted under their path, and any
        // path we do not serve under one label, so a client cannot grow the
        // metrics without bound.
        let label = handled.action.unwrap_or(match path.as_str() {
            known @ ("/api/v3.asp"
            | "/api/xml"
            | "/api/v2.asp"
            | "/ws/apikey/call_function"
            | "/healthz"
            | "/metrics") => known,
            _ => "other",
        });
        self.metrics.request(label, code, elapsed.as_secs_f64());
        tracing::info!(
            target: "didgate::request",
            peer = %peer.ip(),
            method = %method,
            path = %path,
            action = handled.action.unwrap_or("-"),
            account = handled.account.as_deref().unwrap_or("-"),
            code,
            status,
            latency_us = elapsed.as_micros() as u64,
        );
        let mut response = Response::new(Full::new(Bytes::from(handled.body)));
        *response.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(handled.content_type),
        );
        if matches!(status, 408 | 413) {
            // The rest of the body was not read; the connection cannot be reused.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if status == 503 {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(wait) = handled.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        response
    }

    async fn route(&self, req: Request<Incoming>, peer: IpAddr) -> (u16, Handled) {
        let xml = &*self.xml;
        match (req.method(), req.uri().path()) {
            (&Method::POST, "/api/v3.asp" | "/api/xml") => match self.read_body(req).await {
                Ok(body) => self.serve(xml::decode(&body), self.xml.clone(), peer).await,
                Err(e) => (e.http_status(), Handled::error(xml, &e)),
            },
            (&Method::GET, "/api/v2.asp") => {
                self.serve(
                    query::decode(req.uri().query().unwrap_or("")),
                    self.xml.clone(),
                    peer,
                )
                .await
            }
            (&Method::GET, "/healthz") => {
                if self
                    .service
                    .store()
                    .writer_healthy(self.config.writer_stall)
                {
                    (
                        200,
                        Handled {
                            body: xml.render(&crate::domain::Reply::default()),
                            content_type: xml.content_type(),
                            retry_after: None,
                            code: None,
                            action: None,
                            account: None,
                        },
                    )
                } else {
                    let e = Error::Store(crate::error::StoreError::Closed);
                    (503, Handled::error(xml, &e))
                }
            }
            (&Method::POST, "/ws/apikey/call_function") => {
                let query = req.uri().query().unwrap_or("").to_owned();
                match self.read_body(req).await {
                    Ok(body) => match json::decode(&body, &query) {
                        Ok((request, method)) => {
                            self.serve(Ok(request), Arc::new(JsonCodec::new(Some(method))), peer)
                                .await
                        }
                        Err(Rejection::Malformed(e)) => {
                            self.serve(Err(e), Arc::new(JsonCodec::new(None)), peer)
                                .await
                        }
                        Err(Rejection::AfterAuth { key, error }) => {
                            let codec = JsonCodec::new(None);
                            let handled = self
                                .service
                                .reject_after_auth(key.as_deref(), error, &codec, peer)
                                .await;
                            (handled.code.map_or(200, |c| c.http_status()), handled)
                        }
                    },
                    Err(e) => (e.http_status(), Handled::error(&JsonCodec::new(None), &e)),
                }
            }
            (_, "/ws/apikey/call_function") => {
                let e = Error::MethodNotAllowed("POST");
                (e.http_status(), Handled::error(&JsonCodec::new(None), &e))
            }
            (_, "/api/v2.asp") => {
                let e = Error::MethodNotAllowed("GET");
                (e.http_status(), Handled::error(xml, &e))
            }
            (_, "/api/v3.asp" | "/api/xml") => {
                let e = Error::MethodNotAllowed("POST");
                (e.http_status(), Handled::error(xml, &e))
            }
            // Metrics reveal traffic and stock: only the machine itself (a
            // local Prometheus or an SSH tunnel) may read them.
            (&Method::GET, "/metrics") if peer.is_loopback() => {
                let stock = self.service.store().read(|r| r.stock_by_area()).await;
                match stock {
                    Ok(stock) => (
                        200,
                        Handled {
                            body: self.metrics.render(&stock).into_bytes(),
                            content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            retry_after: None,
                            code: None,
                            action: None,
                            account: None,
                        },
                    ),
                    Err(e) => (e.http_status(), Handled::error(xml, &e)),
                }
            }
            (_, "/healthz") => {
                let e = Error::MethodNotAllowed("GET");
                (e.http_status(), Handled::error(xml, &e))
            }
            _ => (404, Handled::error(xml, &Error::NoRoute)),
        }
    }

    /// Runs a decoded request, or answers the decoding error, in `codec`.
    async fn serve(
        &self,
        decoded: Result<crate::api::ApiRequest, Error>,
        codec: Arc<dyn Codec>,
        peer: IpAddr,
    ) -> (u16, Handled) {
        match decoded {
            Ok(request) => {
                let handled = self.service.handle(request, codec, peer).await;
                // Action and authentication errors travel with 200; storage
                // trouble and bugs with their own status.
                (handled.code.map_or(200, |c| c.http_status()), handled)
            }
            Err(e) => (e.http_status(), Handled::error(&*codec, &e)),
        }
    }

    /// Reads the body within the size and time limits. A declared length
    /// over the limit is refused before a byte of the body is read.
    async fn read_body(&self, req: Request<Incoming>) -> Result<Bytes, Error> {
        let limit = self.config.body_limit;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(Error::TooLarge(limit));
        }
        let timeout = self.config.body_timeout;
        let collected =
            tokio::time::timeout(timeout, Limited::new(req.into_body(), limit).collect())
                .await
                .map_err(|_| Error::BodyTimeout(timeout))?;
        match collected {
            Ok(body) => Ok(body.to_bytes()),
            Err(e) if e.is::<LengthLimitError>() => Err(Error::TooLarge(limit)),
            Err(_) => Err(Error::Malformed("could not read the request body".into())),
        }
    }
}
