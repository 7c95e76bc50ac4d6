//! Transport limits that are not about the envelope: the connection cap
//! (extra clients wait, existing ones keep working), the header count
//! limit, a log of a whole run in JSON that never holds a key, and
//! requests answered while nobody reads the log.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{DIDGATE, KillOnDrop, TestServer, connect_within, serve_command, wait_for_exit};

fn raw_request(stream: &mut TcpStream, extra_headers: &str) {
    let body = "";
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: x\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
}

fn read_status(stream: &mut TcpStream) -> Option<u16> {
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).ok()?;
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_wait_while_existing_ones_keep_working() {
    let s = TestServer::start_with(|c| c.max_connections = 2).await;
    let addr = s.addr;
    tokio::task::spawn_blocking(move || {
        // Two keep-alive connections take both slots and keep working.
        let mut a = TcpStream::connect(addr).unwrap();
        let mut b = TcpStream::connect(addr).unwrap();
        for c in [&mut a, &mut b] {
            raw_request(c, "");
            assert_eq!(read_status(c), Some(200));
        }
        // A third client connects (the kernel queues it) but is not served
        // while the cap is reached.
        let mut waiting = TcpStream::connect(addr).unwrap();
        waiting
            .set_read_timeout(Some(Duration::from_millis(700)))
            .unwrap();
        raw_request(&mut waiting, "");
        assert_eq!(read_status(&mut waiting), None, "served over the cap");
        // The existing connections are unaffected.
        raw_request(&mut a, "");
        assert_eq!(read_status(&mut a), Some(200));
        // When one closes, the waiting client gets its slot and its answer.
        drop(b);
        waiting
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(read_status(&mut waiting), Some(200));
    })
    .await
    .unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_headers_are_refused() {
    let s = TestServer::start_with(|c| c.max_headers = 16).await;
    let addr = s.addr;
    tokio::task::spawn_blocking(move || {
        let mut ok = TcpStream::connect(addr).unwrap();
        raw_request(&mut ok, "X-A: 1\r\n");
        assert_eq!(read_status(&mut ok), Some(200));
        let many: String = (0..40).map(|i| format!("X-H{i}: v\r\n")).collect();
        let mut bad = TcpStream::connect(addr).unwrap();
        bad.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        raw_request(&mut bad, &many);
        assert_eq!(read_status(&mut bad), Some(431));
    })
    .await
    .unwrap();
    // The server is still there for everyone else.
    s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_logged_as_json_never_holds_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let run = |args: &[&str]| {
        let out = Command::new(DIDGATE)
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("DIDGATE_LOG", "info")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Every key this run generates, through every command that makes one.
    let mut keys = Vec::new();
    for credit in ["10000", "0"] {
        let v: serde_json::Value = serde_json::from_str(&run(&[
            "account",
            "create",
            "--name",
            "A",
            "--credit100",
            credit,
            "--json",
        ]))
        .unwrap();
        keys.push(v["api_key"].as_str().unwrap().to_owned());
        let k: serde_json::Value = serde_json::from_str(&run(&[
            "key",
            "create",
            "--account",
            v["account_number"].as_str().unwrap(),
            "--json",
        ]))
        .unwrap();
        keys.push(k["api_key"].as_str().unwrap().to_owned());
    }
    let addr = common::free_addr();
    // A readiness probe would be a request line of its own: wait for the
    // port only.
    let mut server = KillOnDrop(
        serve_command(&db, addr)
            .args(["--log-format", "json"])
            .env("DIDGATE_LOG", "debug")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    drop(connect_within(addr, Duration::from_secs(10)));
    // Valid and invalid uses of every key over every front.
    let mut requests = 0;
    for key in &keys {
        for (path, body) in [
            (
                "/api/v3.asp".to_owned(),
                common::envelope(key, "ACCOUNT.GETBALANCE", &[]),
            ),
            (
                "/api/v3.asp".to_owned(),
                common::envelope(key, "DID.TELEPORT", &[]),
            ),
            (
                format!("/api/v2.asp?userkey={key}&action=DID.LIST"),
                String::new(),
            ),
            (
                format!("/ws/apikey/call_function?apikey={key}"),
                r#"{"method": "number.list_all", "params": []}"#.into(),
            ),
            (
                format!("/ws/apikey/call_function?apikey={key}"),
                "{broken".into(),
            ),
        ] {
            let method = if path.starts_with("/api/v2.asp") {
                "GET"
            } else {
                "POST"
            };
            common::request(addr, method, &path, &[], body.into()).await;
            requests += 1;
        }
        // A key with one character changed is a wrong key, logged as such.
        let mut wrong = key.clone();
        wrong.pop();
        common::request(
            addr,
            "POST",
            "/api/v3.asp",
            &[],
            common::envelope(&wrong, "ACCOUNT.GETBALANCE", &[]).into(),
        )
        .await;
        requests += 1;
    }
    // SAFETY: sending SIGTERM to our own child process.
    unsafe {
        libc::kill(server.0.id() as i32, libc::SIGTERM);
    }
    let stderr = server.0.stderr.take().unwrap();
    let lines: Vec<String> = BufReader::new(stderr).lines().map(|l| l.unwrap()).collect();
    assert!(server.0.wait().unwrap().success(), "graceful stop exits 0");
    let mut request_lines = 0;
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["target"] == "didgate::request" {
            request_lines += 1;
            for field in ["action", "account", "code", "status", "latency_us", "path"] {
                assert!(!v["fields"][field].is_null(), "{field} missing: {line}");
            }
        }
        for key in &keys {
            // Neither the key, nor its secret half, nor a long prefix of it.
            let secret = &key[20..];
            assert!(
                !line.contains(key.as_str())
                    && !line.contains(secret)
                    && !line.contains(&key[..40]),
                "{line}"
            );
        }
    }
    assert_eq!(request_lines, requests, "one log line per request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_overflow_is_an_invalid_parameter_not_a_crash() {
    let s = TestServer::start().await;
    let huge = "18446744073709551616";
    let cases: [(&str, &[(&str, &str)]); 6] = [
        (
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", common::NY_AREA),
                ("QUANTITY", huge),
            ],
        ),
        (
            "DID.ORDER",
            &[
                ("DID_TYPE", "GEOGRAPHIC"),
                ("AREA_ID", common::NY_AREA),
                ("QUANTITY", "-1"),
            ],
        ),
        ("DID.LIST", &[("LIMIT", huge)]),
        ("DID.LIST", &[("OFFSET", "99999999999999999999999999")]),
        (
            "DID.SEARCH",
            &[("AREA_ID", common::NY_AREA), ("LIMIT", "4294967296")],
        ),
        (
            "DID.RESERVE",
            &[
                ("AREA_ID", common::NY_AREA),
                ("QUANTITY", "1"),
                ("MINUTES", huge),
            ],
        ),
    ];
    for (action, params) in cases {
        s.call(action, params).await.fails("INVALID_PARAMETER");
    }
    // Nothing was bought or held, and the server is still there.
    let r = s.call("ACCOUNT.GETBALANCE", &[]).await.ok();
    assert_eq!(r.value("BALANCE100").as_deref(), Some("10000"));
    s.stop().await;
}

/// Regression: request log lines were written to stderr on the async
/// workers, so a stderr nobody drained (a full pipe to journald, a log
/// file on a busy disk) stalled every request. Lines now queue for a
/// thread of their own and are dropped, not waited for, when it falls
/// behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_answered_while_nobody_reads_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let addr = common::free_addr();
    // stderr is a pipe this test never reads: it holds 64 KiB, a few
    // hundred lines at debug level.
    let mut server = KillOnDrop(
        serve_command(&db, addr)
            .env("DIDGATE_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    tokio::task::spawn_blocking(move || {
        let mut stream = connect_within(addr, Duration::from_secs(10));
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // The request goes out in several writes; without this each would
        // wait for the server's delayed acknowledgement.
        stream.set_nodelay(true).unwrap();
        // Each request logs a line of 150 bytes or more: 3,000 of them are
        // seven times what the pipe holds.
        for i in 0..3_000 {
            raw_request(&mut stream, "");
            assert_eq!(
                read_status(&mut stream),
                Some(200),
                "request {i} not answered"
            );
        }
    })
    .await
    .unwrap();
    // SAFETY: sending SIGTERM to our own child process.
    unsafe {
        libc::kill(server.0.id() as i32, libc::SIGTERM);
    }
    // It stops too, though its last lines cannot be written: the log
    // thread is given a second, not forever.
    let stopped =
        tokio::task::spawn_blocking(move || wait_for_exit(&mut server.0, Duration::from_secs(15)))
            .await
            .unwrap();
    assert!(stopped.success(), "{stopped}");
}
