//! The real `didgate` binary run as a child process: one-shot commands,
//! `serve` and the waits around it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper_util::rt::TokioIo;

/// The `didgate` binary this test run built.
pub const DIDGATE: &str = env!("CARGO_BIN_EXE_didgate");

/// Runs `didgate --db DB ARGS...` to completion, quietly (warnings only in
/// the log).
pub fn didgate(db: &Path, args: &[&str]) -> Output {
    Command::new(DIDGATE)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("DIDGATE_LOG", "warn")
        .output()
        .expect("run didgate")
}

/// `didgate --db DB serve --listen ADDR`, ready to spawn; the caller adds
/// flags, environment and pipes.
pub fn serve_command(db: &Path, addr: SocketAddr) -> Command {
    let mut command = Command::new(DIDGATE);
    command
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", &addr.to_string()]);
    command
}

/// A child process that is killed (and reaped) when dropped, so that a
/// failing assertion never leaves a server behind.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The HTTP status of `GET /healthz` at `addr`, or `None` when nothing
/// answered (nobody listening yet, or the connection died).
async fn healthz_status(addr: SocketAddr) -> Option<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    let req = Request::builder()
        .method("GET")
        .uri("/healthz")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), sender.send_request(req))
        .await
        .ok()?
        .ok()?;
    Some(resp.status().as_u16())
}

/// Polls `GET /healthz` at `addr` until it answers 200. `Err` says why it
/// did not: `child` exited first, or `within` passed.
pub async fn healthz_within(
    addr: SocketAddr,
    child: &mut Child,
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Err(format!("didgate exited before serving: {status}"));
        }
        let status = healthz_status(addr).await;
        if status == Some(200) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "didgate did not answer /healthz with 200 within {within:?} (last: {status:?})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the server at `addr` answers `/healthz` with 200, or panics
/// after `within` or if `child` exits first.
pub async fn wait_until_serving(addr: SocketAddr, child: &mut Child, within: Duration) {
    if let Err(e) = healthz_within(addr, child, within).await {
        panic!("{e}");
    }
}

/// Connects to `addr`, retrying until something listens there, or panics
/// after `within`. Unlike [`wait_until_serving`] it sends no request, so it
/// leaves no line in the server's request log.
pub fn connect_within(addr: SocketAddr, within: Duration) -> std::net::TcpStream {
    let deadline = Instant::now() + within;
    loop {
        match std::net::TcpStream::connect(addr) {
            Ok(stream) => return stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("server did not start: {e}"),
        }
    }
}

/// Waits for the process to exit, or kills it and panics after `within`.
pub fn wait_for_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("didgate did not exit within {within:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
