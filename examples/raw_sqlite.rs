//! Baseline (b) of `bench/run`: what a naive one-transaction-per-request
//! design reaches on this disk.
//!
//! Opens a database made by the real binary (`didgate init` and
//! `inventory import`, plus one `account create`) with the same pragmas as
//! `src/store/mod.rs` (WAL, `synchronous=FULL`, `foreign_keys=ON`,
//! `busy_timeout` 5 s), then, from N threads, each with its own connection,
//! claims one number per transaction for a fixed time:
//!
//! ```text
//! BEGIN IMMEDIATE
//!   SELECT the lowest available e164 of the area
//!   SELECT the balance; INSERT the order; INSERT the ledger charge
//!   UPDATE the number to active (exactly one row)
//!   INSERT its history row; INSERT the idempotency record (~1 KiB reply)
//! COMMIT            -- one WAL fsync per claimed number
//! ```
//!
//! which is the same set of rows `DID.ORDER` with `QUANTITY=1` and a
//! `REQUEST_ID` writes. Prints one line of JSON: transactions, tx/s,
//! latency percentiles and busy timeouts.
//!
//! ```text
//! cargo run --release --example raw_sqlite -- DB AREA_ID THREADS SECONDS
//! ```

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

struct Args {
    db: String,
    area: String,
    threads: usize,
    seconds: f64,
}

fn parse_args() -> Result<Args, String> {
    let v: Vec<String> = std::env::args().skip(1).collect();
    if v.len() != 4 {
        return Err("usage: raw_sqlite DB AREA_ID THREADS SECONDS".into());
    }
    Ok(Args {
        db: v[0].clone(),
        area: v[1].clone(),
        threads: v[2].parse().map_err(|e| format!("THREADS: {e}"))?,
        seconds: v[3].parse().map_err(|e| format!("SECONDS: {e}"))?,
    })
}

/// The same configuration as `Db::open` in `src/store/mod.rs`.
fn open(path: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    assert!(mode.eq_ignore_ascii_case("wal"), "journal_mode is {mode}");
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// The buyer: the first top-level account, with its default forwarding.
struct Buyer {
    id: i64,
    forward_type: String,
    forward_to: String,
    monthly: i64,
    setup: i64,
}

fn buyer(conn: &Connection, area: &str) -> rusqlite::Result<Buyer> {
    let (id, forward_type, forward_to) = conn.query_row(
        "SELECT id, forward_type, forward_to FROM accounts WHERE parent_id IS NULL ORDER BY id LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let (monthly, setup) = conn.query_row(
        "SELECT monthly100, setup100 FROM area_rate_plans WHERE area_id = ?1 AND rate_plan_id = 'SU'",
        [area],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Buyer {
        id,
        forward_type,
        forward_to,
        monthly,
        setup,
    })
}

enum Claim {
    Done,
    OutOfStock,
}

/// One claim: one immediate transaction, one commit.
fn claim(
    conn: &mut Connection,
    area: &str,
    b: &Buyer,
    request_id: &str,
    reply: &[u8],
) -> rusqlite::Result<Claim> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let e164: Option<String> = tx
        .prepare_cached(
            "SELECT e164 FROM dids WHERE area_id = ?1 AND status = 'available' ORDER BY e164 LIMIT 1",
        )?
        .query_row([area], |r| r.get(0))
        .optional()?;
    let Some(e164) = e164 else {
        return Ok(Claim::OutOfStock);
    };
    let cost = b.monthly + b.setup;
    let balance: i64 = tx
        .prepare_cached("SELECT balance100 FROM accounts WHERE id = ?1")?
        .query_row([b.id], |r| r.get(0))?;
    assert!(balance >= cost, "the bench account ran out of credit");
    tx.prepare_cached(
        "INSERT INTO orders (account_id, billing_id, key_id, area_id, rate_plan_id, quantity, charged100, created_at)
         VALUES (?1, ?1, 'rawsqlite', ?2, 'SU', 1, ?3, ?4)",
    )?
    .execute(params![b.id, area, cost, now])?;
    let order_id = tx.last_insert_rowid();
    if cost > 0 {
        tx.prepare_cached(
            "INSERT INTO ledger (account_id, amount100, kind, order_id, key_id, memo, created_at)
             VALUES (?1, ?2, 'charge', ?3, 'rawsqlite', ?4, ?5)",
        )?
        .execute(params![
            b.id,
            -cost,
            order_id,
            format!("order {order_id}"),
            now
        ])?;
    }
    let changed = tx
        .prepare_cached(
            "UPDATE dids SET status = 'active', account_id = ?2, order_id = ?3, rate_plan_id = 'SU',
                    monthly100 = ?4, setup100 = ?5, title = '', forward_type = ?6, forward_to = ?7,
                    sms_url = '', sms_email = '', sms_phone = '', ordered_at = ?8, aging_until = NULL,
                    reservation_id = NULL
              WHERE e164 = ?1 AND status = 'available'",
        )?
        .execute(params![
            e164,
            b.id,
            order_id,
            b.monthly,
            b.setup,
            b.forward_type,
            b.forward_to,
            now
        ])?;
    assert_eq!(changed, 1, "number {e164} sold twice");
    tx.prepare_cached(
        "INSERT INTO number_history (e164, event, field, old_value, new_value, account_id, key_id, created_at)
         VALUES (?1, 'ordered', 'ORDER_ID', '', ?2, ?3, 'rawsqlite', ?4)",
    )?
    .execute(params![e164, order_id.to_string(), b.id, now])?;
    tx.prepare_cached(
        "INSERT INTO idempotency (account_id, request_id, fingerprint, response, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![b.id, request_id, &[0u8; 32][..], reply, now])?;
    tx.commit()?;
    Ok(Claim::Done)
}

#[derive(Default)]
struct Tally {
    done: u64,
    out_of_stock: u64,
    errors: u64,
    latencies_us: Vec<u64>,
}

fn worker(args: &Args, index: usize, deadline: Instant) -> Tally {
    let mut conn = open(&args.db).expect("open database");
    let b = buyer(&conn, &args.area).expect("a buyer account and the area's SU plan");
    // About the size of a DID.ORDER reply, which the server stores too.
    let reply = vec![b'x'; 1000];
    let mut t = Tally::default();
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let request_id = format!("raw-{}-{index}-{n}", std::process::id());
        let start = Instant::now();
        match claim(&mut conn, &args.area, &b, &request_id, &reply) {
            Ok(Claim::Done) => t.done += 1,
            Ok(Claim::OutOfStock) => {
                t.out_of_stock += 1;
                break;
            }
            // SQLITE_BUSY after busy_timeout: the naive design's failure mode.
            Err(_) => t.errors += 1,
        }
        t.latencies_us.push(start.elapsed().as_micros() as u64);
    }
    t
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.threads.max(1))
            .map(|i| {
                let args = &args;
                s.spawn(move || worker(args, i, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut all = Tally::default();
    for t in tallies {
        all.done += t.done;
        all.out_of_stock += t.out_of_stock;
        all.errors += t.errors;
        all.latencies_us.extend(t.latencies_us);
    }
    all.latencies_us.sort_unstable();
    println!(
        "{{\"threads\": {}, \"seconds\": {:.3}, \"tx\": {}, \"tx_per_s\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"busy_errors\": {}, \"out_of_stock\": {}}}",
        args.threads.max(1),
        elapsed,
        all.done,
        all.done as f64 / elapsed,
        percentile(&all.latencies_us, 0.50),
        percentile(&all.latencies_us, 0.99),
        all.errors,
        all.out_of_stock
    );
}
