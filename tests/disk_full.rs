//! A full disk: the server runs on a tiny tmpfs (in a private mount
//! namespace made with `unshare`, so nothing leaks to the host); when the
//! filesystem fills up, a mutation is answered `UNAVAILABLE` (503) and
//! nothing uncommitted is acknowledged; when space comes back, service
//! resumes without a restart.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{DIDGATE, KillOnDrop, NY_AREA, call_at, connect_within};

const SCRIPT: &str = r#"
mount -t tmpfs -o size=3M tmpfs "$DIR" || exit 1
cp "$SEED" "$DIR/d.db" || exit 1
"$BIN" --db "$DIR/d.db" serve --listen "$ADDR" 2>"$DIR/log" &
SERVER=$!
echo started
# Commands from the test on stdin: fill the disk, free it, or stop.
while read -r cmd; do
  case "$cmd" in
    fill) dd if=/dev/zero of="$DIR/filler" bs=4k 2>/dev/null || true; echo filled ;;
    free) rm -f "$DIR/filler"; echo freed ;;
    stop) kill -TERM "$SERVER"; wait "$SERVER"; echo "stopped $?"; exit 0 ;;
  esac
done
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_is_unavailable_and_service_resumes_when_space_returns() {
    // A seed database with the demo inventory and account, made outside.
    let seed_dir = tempfile::tempdir().unwrap();
    let seed = seed_dir.path().join("seed.db");
    let demo = {
        let mut db = didgate::store::Db::open(&seed).unwrap();
        didgate::admin::demo_setup(&mut db).unwrap()
    };
    // Fold the WAL into the main file so one file carries everything.
    drop(
        rusqlite::Connection::open(&seed)
            .unwrap()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"),
    );
    let mount_dir = tempfile::tempdir().unwrap();
    let addr = common::free_addr();
    let child = Command::new("unshare")
        // A private PID namespace too: if the test fails and the shell is
        // killed, the server inside dies with it.
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
            SCRIPT,
        ])
        .env("DIR", mount_dir.path())
        .env("SEED", &seed)
        .env("BIN", DIDGATE)
        .env("ADDR", addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) runs");
    // Kills the namespace's shell (and so the server) even if the test fails.
    let mut guard = KillOnDrop(child);
    let mut commands = guard.0.stdin.take().unwrap();
    let mut replies = BufReader::new(guard.0.stdout.take().unwrap()).lines();
    assert_eq!(replies.next().unwrap().unwrap(), "started");
    let mut say = |cmd: &str, expect: &str| {
        writeln!(commands, "{cmd}").unwrap();
        commands.flush().unwrap();
        let line = replies
            .next()
            .expect("the namespace shell answers")
            .unwrap();
        assert_eq!(line, expect);
    };

    let key = demo.api_key.as_str();
    let call = |action: &'static str, params: Vec<(&'static str, &'static str)>| async move {
        call_at(addr, key, action, &params).await
    };
    drop(connect_within(addr, Duration::from_secs(10)));
    let order = vec![("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", NY_AREA)];
    call("DID.ORDER", order.clone()).await.ok();

    say("fill", "filled");
    // Keep ordering until SQLite runs out of pages: every refused order
    // is a 503 UNAVAILABLE, and no order is acknowledged without being kept.
    let mut refused = 0;
    let mut acknowledged = Vec::new();
    for _ in 0..40 {
        let r = call("DID.ORDER", order.clone()).await;
        match r.code().as_deref() {
            None => acknowledged.extend(r.e164s()),
            Some("UNAVAILABLE") => {
                assert_eq!(r.status, 503, "{}", r.body);
                // The SQLite detail ("database or disk is full") stays in
                // the server log.
                assert!(!r.body.contains("disk is full"), "{}", r.body);
                refused += 1;
                if refused >= 3 {
                    break;
                }
            }
            other => panic!("unexpected {other:?}: {}", r.body),
        }
    }
    assert!(refused >= 3, "the full disk refused orders");
    // Reads still work while the disk is full.
    call("ACCOUNT.GETBALANCE", vec![]).await.ok();

    say("free", "freed");
    let r = call("DID.ORDER", order.clone()).await.ok();
    acknowledged.extend(r.e164s());

    // Every acknowledged number is owned, and the money adds up.
    let list = call("DID.LIST", vec![]).await.ok();
    let owned = list.e164s();
    for n in &acknowledged {
        assert!(owned.contains(n), "acknowledged {n} is missing");
    }
    assert_eq!(
        owned.len(),
        acknowledged.len() + 1,
        "nothing refused was kept"
    );
    let balance: i64 = call("ACCOUNT.GETBALANCE", vec![])
        .await
        .value("BALANCE100")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(balance, 10_000 - 398 * owned.len() as i64);
    // SIGTERM is a graceful stop: exit status 0.
    say("stop", "stopped 0");
}
