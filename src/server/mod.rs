//! HTTP transport: accepts connections under the connection cap, applies
//! the header timeout, hands each request to `respond`, and shuts down
//! gracefully. The fronts and the engine are chosen here, once.

mod respond;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use didgate_core::engine::Engine;
use didgate_core::front::Front;
use didgate_core::service::Service;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::metrics::Metrics;
use didgate_core::Error;

/// What every connection shares.
pub(crate) struct App {
    service: Service,
    /// Every front, in registration order; the first answers paths no
    /// front serves.
    fronts: Vec<Box<dyn Front>>,
    config: Config,
    metrics: Arc<Metrics>,
}

/// The fronts this server speaks. Adding a front is one line here.
fn fronts() -> Vec<Box<dyn Front>> {
    vec![Box::new(didgate_anveo::Anveo), Box::new(didgate_json::Json)]
}

/// Opens the engine `config` names.
async fn open_engine(config: &Config, metrics: &Arc<Metrics>) -> Result<Arc<dyn Engine>, Error> {
    let observer = metrics.clone();
    let options = didgate_sqlite::StoreOptions {
        readers: config.readers,
        busy_timeout: config.busy_timeout,
        writer_stall: config.writer_stall,
        on_batch: Some(Arc::new(move |jobs, took| observer.batch(jobs, took))),
    };
    let path = config.db_path.clone();
    let store =
        didgate_core::blocking::run(move || didgate_sqlite::Store::open(&path, options)).await?;
    Ok(Arc::new(store))
}

/// Serves until `shutdown` completes, then stops accepting, lets requests
/// in flight finish (up to the grace period), lets the engine commit what
/// is queued and returns. Tests call this with a listener on port 0.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let metrics = Arc::new(Metrics::new());
    let engine = open_engine(&config, &metrics).await?;
    let app = Arc::new(App {
        service: Service::new(engine.clone(), &config.service()),
        fronts: fronts(),
        config,
        metrics,
    });
    let (stop_sweep, sweep_stopped) = tokio::sync::oneshot::channel::<()>();
    let sweeper = tokio::spawn(sweep(app.clone(), sweep_stopped));
    let graceful = GracefulShutdown::new();
    accept(&listener, &app, &graceful, shutdown).await;
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
    engine.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Accepts connections until `shutdown`, each under a connection slot.
async fn accept(
    listener: &TcpListener,
    app: &Arc<App>,
    graceful: &GracefulShutdown,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(app.config.header_timeout)
        .max_headers(app.config.max_headers)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(app.config.max_connections));
    tokio::pin!(shutdown);
    loop {
        // Waiting for a slot before accepting leaves extra clients in the
        // kernel's listen queue while existing connections keep working.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("semaphore never closed"),
            () = &mut shutdown => return,
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
            () = &mut shutdown => return,
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
}

/// Returns aged numbers and expired reservations to stock on its own,
/// without a request or a restart, until `stop` fires.
async fn sweep(app: Arc<App>, mut stop: tokio::sync::oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval(app.config.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = app.service.sweep().await {
                    tracing::warn!(error = %e, "sweep failed; retrying next tick");
                }
            }
            _ = &mut stop => return,
        }
    }
}
