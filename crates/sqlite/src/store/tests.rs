//! The store through the core's `Engine`: group commit, savepoints,
//! panics, the order of commit, version and answers, health, closing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use didgate_core::domain::{AccountNumber, ContainsPattern, E164, RequestId, now};
use didgate_core::engine::{Engine, Tx};
use didgate_core::outcome::Outcome;
use didgate_core::{DomainError, Error, StoreError};

use super::*;
use crate::testing::{self, new_account};

fn number(n: u32) -> AccountNumber {
    AccountNumber::parse(&format!("{:010}", 1_000_000_000 + n)).unwrap()
}

/// A job that creates account `n`, then returns `then`.
fn create(n: u32, then: fn() -> Result<Outcome, Error>) -> WriteJob {
    WriteJob {
        run: Box::new(move |tx| {
            tx.insert_account(&new_account(&number(n), None))?;
            then()
        }),
        test: false,
    }
}

fn exists(db: &Db, n: u32) -> bool {
    db.read(|r| Ok(r.account(&number(n))?.is_some())).unwrap()
}

fn open(path: &Path, options: StoreOptions) -> Store {
    Store::open(path, options).unwrap()
}

/// A job that reports it started, then waits to be released: the jobs
/// queued meanwhile form the next batch.
fn blocker() -> (WriteJob, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (started, on_start) = mpsc::channel();
    let (release, on_release) = mpsc::channel::<()>();
    let on_release = Mutex::new(on_release);
    let job = WriteJob {
        run: Box::new(move |_| {
            started.send(()).unwrap();
            on_release.lock().unwrap().recv().unwrap();
            Ok(Outcome::Done)
        }),
        test: false,
    };
    (job, on_start, release)
}

fn spawn_write(store: &Store, job: WriteJob) -> tokio::task::JoinHandle<Result<Outcome, Error>> {
    let store = store.clone();
    tokio::spawn(async move { store.write(job).await })
}

async fn wait_queued(store: &Store, n: usize) {
    while store.inner.writer.queued() < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_of_one_batch_succeed_fail_and_roll_back_alone() {
    let (_dir, path, db) = testing::catalog();
    let batches = Arc::new(Mutex::new(Vec::new()));
    let seen = batches.clone();
    let options = StoreOptions {
        on_batch: Some(Arc::new(move |n, _| seen.lock().unwrap().push(n))),
        ..StoreOptions::default()
    };
    let store = open(&path, options);
    let (job, started, release) = blocker();
    let blocked = spawn_write(&store, job);
    blocking::run(move || started.recv().unwrap()).await;
    let conflict = || Err(DomainError::Conflict("no".into()).into());
    let mut test_job = create(3, || Ok(Outcome::Done));
    test_job.test = true;
    let jobs = vec![
        create(1, || Ok(Outcome::Done)),
        create(2, conflict),
        test_job,
        create(4, || panic!("job bug")),
        create(5, || Ok(Outcome::Released(5))),
    ];
    let waiting: Vec<_> = jobs
        .into_iter()
        .map(|job| spawn_write(&store, job))
        .collect();
    wait_queued(&store, 5).await;
    release.send(()).unwrap();
    assert!(matches!(blocked.await.unwrap(), Ok(Outcome::Done)));
    let mut answers = Vec::new();
    for w in waiting {
        answers.push(w.await.unwrap());
    }
    assert!(matches!(answers[0], Ok(Outcome::Done)));
    assert!(matches!(
        answers[1],
        Err(Error::Domain(DomainError::Conflict(_)))
    ));
    assert!(
        matches!(answers[2], Ok(Outcome::Done)),
        "a test is answered"
    );
    assert!(
        matches!(&answers[3], Err(Error::Store(StoreError::Internal(m))) if m.contains("job bug")),
        "{:?}",
        answers[3]
    );
    assert!(matches!(answers[4], Ok(Outcome::Released(5))));
    let kept: Vec<bool> = (1..=5).map(|n| exists(&db, n)).collect();
    assert_eq!(kept, [true, false, false, false, true]);
    // The writer survived the panic.
    store.write(create(6, || Ok(Outcome::Done))).await.unwrap();
    assert!(exists(&db, 6));
    // Observers hear of a batch after its answers; closing waits for them.
    store.close().await;
    assert_eq!(*batches.lock().unwrap(), vec![1, 5, 1], "one batch of five");
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_come_after_the_commit_and_the_version_moves_first() {
    let (_dir, path, db) = testing::catalog();
    let store = open(&path, StoreOptions::default());
    for n in 1..=20 {
        let before = store.version();
        store.write(create(n, || Ok(Outcome::Done))).await.unwrap();
        assert!(store.version() > before, "version moved before the answer");
        // Another connection sees the change: it was committed.
        assert!(exists(&db, n));
    }
    // A test moves the version too (a batch was committed) but keeps nothing.
    let mut job = create(21, || Ok(Outcome::Done));
    job.test = true;
    store.write(job).await.unwrap();
    assert!(!exists(&db, 21));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_process_commit_moves_the_version_soon() {
    let (_dir, path, db) = testing::catalog();
    let store = open(&path, StoreOptions::default());
    let before = store.version();
    testing::add_area(&db, "FR", "fr-1");
    let deadline = std::time::Instant::now() + Store::EXTERNAL_DELAY * 10;
    while store.version() == before {
        assert!(std::time::Instant::now() < deadline, "commit not noticed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(store.external_delay(), Store::EXTERNAL_DELAY);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writer_stuck_on_a_batch_is_unhealthy_and_a_closed_one_too() {
    let (_dir, path, _db) = testing::catalog();
    let options = StoreOptions {
        writer_stall: Duration::from_millis(50),
        ..StoreOptions::default()
    };
    let store = open(&path, options);
    assert!(store.healthy());
    let (job, started, release) = blocker();
    let blocked = spawn_write(&store, job);
    blocking::run(move || started.recv().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(!store.healthy(), "stuck longer than the stall");
    release.send(()).unwrap();
    blocked.await.unwrap().unwrap();
    // The writer marks itself idle just after answering.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !store.healthy() {
        assert!(std::time::Instant::now() < deadline, "still unhealthy");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    store.close().await;
    assert!(!store.healthy());
    let refused = store.write(create(1, || Ok(Outcome::Done))).await;
    assert!(matches!(refused, Err(Error::Store(StoreError::Closed))));
    let refused = store.stock_by_area().await;
    assert!(matches!(refused, Err(Error::Store(StoreError::Closed))));
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_run_on_read_threads_and_raise_their_panics() {
    let (_dir, path, _db) = testing::catalog();
    let store = open(&path, StoreOptions::default());
    let engine: Arc<dyn Engine> = Arc::new(store.clone());
    let stock = engine
        .read_with(|r| Ok(r.lowest_available(&testing::area(), 100)?.len()))
        .await
        .unwrap();
    assert_eq!(stock, 10);
    let by_area = engine.stock_by_area().await.unwrap();
    assert_eq!(by_area, vec![("ny-212".into(), 10), ("us-800".into(), 3)]);
    let e = engine.clone();
    let task = tokio::spawn(async move {
        e.read_with(|_| -> Result<(), Error> { panic!("read bug") })
            .await
    });
    assert!(task.await.unwrap_err().is_panic());
    assert!(engine.read_with(|r| Ok(r.sweep_due(0)?)).await.is_ok());
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn searches_agree_on_read_threads_in_writes_and_in_a_db() {
    let (_dir, path, mut db) = testing::catalog();
    let owner = testing::account(&mut db, "1000000001", 0);
    let sold = E164::parse("12125550005").unwrap();
    db.transact(|tx| testing::sell(tx, &sold, owner, Default::default()))
        .unwrap();
    let store = open(&path, StoreOptions::default());
    let engine: Arc<dyn Engine> = Arc::new(store.clone());
    let pattern = ContainsPattern::parse("5550").unwrap();
    let search = {
        let pattern = pattern.clone();
        move |r: &mut dyn didgate_core::engine::Reads| {
            Ok(r.available_matching(&testing::area(), &pattern, 5)?)
        }
    };
    let on_reader = engine.read_with(search.clone()).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let got = seen.clone();
    let s = search.clone();
    engine
        .write_with(true, move |tx: &mut dyn Tx| {
            *got.lock().unwrap() = s(tx)?;
            Ok(Outcome::Done)
        })
        .await
        .unwrap();
    let in_writer = seen.lock().unwrap().clone();
    let in_db = db.read(search).unwrap();
    let want: Vec<_> = [
        "12125550001",
        "12125550002",
        "12125550003",
        "12125550004",
        "12125550006",
    ]
    .map(|e| E164::parse(e).unwrap())
    .into();
    assert_eq!(on_reader, want);
    assert_eq!(in_writer, want);
    assert_eq!(in_db, want);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_writer_prunes_idempotency_records_older_than_two_days() {
    let (_dir, path, mut db) = testing::catalog();
    let owner = testing::account(&mut db, "1000000001", 0);
    let (old, fresh) = (
        RequestId::parse("old").unwrap(),
        RequestId::parse("fresh").unwrap(),
    );
    let t = now();
    db.transact(|tx| {
        tx.remember(owner, &old, &[1; 32], &Outcome::Done, t - 49 * 3600)?;
        tx.remember(owner, &fresh, &[2; 32], &Outcome::Done, t - 47 * 3600)?;
        Ok(())
    })
    .unwrap();
    let store = open(&path, StoreOptions::default());
    // The first batch prunes (after its jobs); the second looks.
    store
        .write(create(100, || Ok(Outcome::Done)))
        .await
        .unwrap();
    let found = Arc::new(AtomicU64::new(0));
    let f = found.clone();
    let look = WriteJob {
        run: Box::new(move |tx| {
            let old_kept = tx.idempotency(owner, &old)?.is_some();
            let fresh_kept = tx.idempotency(owner, &fresh)?.is_some();
            f.store(
                u64::from(old_kept) * 10 + u64::from(fresh_kept),
                Ordering::SeqCst,
            );
            Ok(Outcome::Done)
        }),
        test: true,
    };
    store.write(look).await.unwrap();
    assert_eq!(found.load(Ordering::SeqCst), 1, "old pruned, fresh kept");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_commit_keeps_nothing_and_answers_every_job_unavailable() {
    let (_dir, path, db) = testing::catalog();
    // A ledger whose foreign key is checked only at COMMIT, so that a job
    // can pass its savepoint and still make the commit fail.
    db.conn
        .execute_batch(
            "DROP TABLE ledger;
             CREATE TABLE ledger (
                 id INTEGER PRIMARY KEY,
                 account_id INTEGER NOT NULL REFERENCES accounts(id) DEFERRABLE INITIALLY DEFERRED,
                 amount100 INTEGER NOT NULL, kind TEXT NOT NULL, order_id INTEGER,
                 key_id TEXT, memo TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL);",
        )
        .unwrap();
    let store = open(&path, StoreOptions::default());
    let (job, started, release) = blocker();
    let blocked = spawn_write(&store, job);
    blocking::run(move || started.recv().unwrap()).await;
    let orphan = WriteJob {
        run: Box::new(|tx| {
            tx.insert_ledger(&didgate_core::engine::LedgerEntry {
                account_id: 999,
                amount: 1,
                kind: didgate_core::engine::LedgerKind::Credit,
                order_id: None,
                key_id: None,
                memo: String::new(),
                at: 0,
            })?;
            Ok(Outcome::Done)
        }),
        test: false,
    };
    let good = spawn_write(&store, create(1, || Ok(Outcome::Done)));
    wait_queued(&store, 1).await;
    let bad = spawn_write(&store, orphan);
    wait_queued(&store, 2).await;
    release.send(()).unwrap();
    blocked.await.unwrap().unwrap();
    for answer in [good.await.unwrap(), bad.await.unwrap()] {
        assert!(
            matches!(answer, Err(Error::Store(StoreError::Unavailable(_)))),
            "{answer:?}"
        );
    }
    assert!(!exists(&db, 1), "nothing of the batch kept");
    // The next batch is served normally.
    store.write(create(2, || Ok(Outcome::Done))).await.unwrap();
    assert!(exists(&db, 2));
    store.close().await;
}
