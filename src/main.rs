//! The `didgate` binary: command line, logging and signals. Everything
//! else lives in the library.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use didgate::admin;
use didgate::domain::Money100;
use didgate::store::Db;

/// Sells and provisions phone numbers (DIDs) over Anveo's XML API.
///
/// Start with `didgate serve --demo`: it prints a key and a curl command
/// that buys a number.
#[derive(Parser)]
#[command(name = "didgate", version)]
struct Cli {
    /// The SQLite database; created at the current schema if missing.
    #[arg(long, env = "DIDGATE_DB", default_value = "didgate.db", global = true)]
    db: PathBuf,
    /// Log format.
    #[arg(long, env = "DIDGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Create or migrate the database, then exit.
    Init,
    /// Create accounts and credit them.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Create and revoke API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Load countries, areas, rate plans and numbers.
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Print the history of a number: orders, changes with old and new
    /// values, cancellations, restores, moves and returns to stock.
    History {
        /// The number, E.164 digits.
        #[arg(long)]
        e164: String,
    },
    /// Write a consistent copy of the (possibly live) database.
    Backup {
        /// Where to write the copy; must not exist.
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DIDGATE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Serve a fresh throwaway database with demo inventory and account
    /// (ignores --db) and print a ready-to-paste curl order.
    #[arg(long)]
    demo: bool,
    /// Largest request body in bytes (413 above it).
    #[arg(long, env = "DIDGATE_BODY_LIMIT", default_value_t = 65536)]
    body_limit: usize,
    /// Seconds a client has to send the request head.
    #[arg(long, env = "DIDGATE_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a client has to send the request body (408 after).
    #[arg(long, env = "DIDGATE_BODY_TIMEOUT", default_value_t = 30)]
    body_timeout: u64,
    /// Most header lines a request may carry (431 above it).
    #[arg(long, env = "DIDGATE_MAX_HEADERS", default_value_t = 64)]
    max_headers: usize,
    /// Connections served at once; more wait to be accepted.
    #[arg(long, env = "DIDGATE_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Seconds a verified key is trusted before it is re-checked (the
    /// delay before a revocation takes effect).
    #[arg(long, env = "DIDGATE_KEY_RECHECK", default_value_t = 2)]
    key_recheck: u64,
    /// Days a canceled number ages (restorable by its last owner) before
    /// it returns to stock.
    #[arg(long, env = "DIDGATE_AGING_DAYS", default_value_t = 30)]
    aging_days: u64,
    /// Minutes a reservation holds its numbers when DID.RESERVE gives no
    /// MINUTES (1 to 60).
    #[arg(long, env = "DIDGATE_RESERVATION_MINUTES", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(1..=60))]
    reservation_minutes: u32,
    /// Failed authentications one client address may make in a burst
    /// before it gets 429 for keys it has not used successfully before.
    #[arg(long, env = "DIDGATE_AUTH_FAILURES", default_value_t = 20)]
    auth_failures: u32,
    /// Seconds over which that burst refills.
    #[arg(long, env = "DIDGATE_AUTH_FAILURE_WINDOW", default_value_t = 60)]
    auth_failure_window: u64,
    /// Run every read against the database instead of answering repeated
    /// reads from memory while nothing has changed (for measurements).
    #[arg(long, env = "DIDGATE_NO_READ_CACHE")]
    no_read_cache: bool,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account and print its number and first API key.
    Create {
        #[arg(long)]
        name: String,
        /// Make it a sub-account of this account.
        #[arg(long)]
        parent: Option<String>,
        /// Opening credit in hundredths (top-level accounts only).
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        credit100: i64,
        /// Default forwarding type of new numbers (PHONE, SIP_URI, CALLFLOW, SIP_REGISTERED, TRUNK).
        #[arg(long, requires = "forward_to")]
        forward_type: Option<String>,
        /// Default forwarding target of new numbers.
        #[arg(long, requires = "forward_type")]
        forward_to: Option<String>,
        /// The account's e-mail (what SIGNATURE is computed over).
        #[arg(long, default_value = "")]
        email: String,
        /// Require Anveo's SIGNATURE (hex HMAC-SHA1 of --email with this
        /// secret) on every request of this account.
        #[arg(long, requires = "email")]
        signature_secret: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Add a ledger credit to a top-level account.
    Credit {
        #[arg(long)]
        account: String,
        /// Amount in hundredths (1000 is 10.00); must be positive.
        #[arg(long, allow_negative_numbers = true)]
        amount100: i64,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create another API key for an account.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key; running servers refuse it within seconds.
    Revoke {
        #[arg(long)]
        key_id: String,
    },
}

#[derive(Subcommand)]
enum InventoryCommand {
    /// Import catalog.csv and numbers.csv in one transaction.
    Import {
        #[arg(long)]
        catalog: PathBuf,
        #[arg(long)]
        numbers: Option<PathBuf>,
    },
}

fn main() {
    limit_retained_memory();
    let cli = Cli::parse();
    let logs = init_tracing(cli.log_format);
    let result = run(cli);
    logs.finish();
    if let Err(e) = result {
        eprintln!("didgate: {e:#}");
        std::process::exit(1);
    }
}

/// Argon2 allocates 19 MiB per key verification. glibc serves such blocks
/// with mmap, but after the first one is freed it raises its mmap threshold
/// to that size, and later blocks come from per-thread heap arenas that are
/// never given back: measured, 1,000 key verifications left the server at
/// 1.8 GB resident. A fixed threshold keeps every large block mmapped and
/// returned on free (measured peak with the same load: 49 MiB).
fn limit_retained_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called once,
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// The log writer's thread and what it could not write.
struct Logs {
    guard: tracing_appender::non_blocking::WorkerGuard,
    dropped: tracing_appender::non_blocking::ErrorCounter,
}

impl Logs {
    /// Says how many lines were dropped, then writes out the lines still
    /// queued (waiting a second at most: stderr may be the reason).
    fn finish(self) {
        let dropped = self.dropped.dropped_lines();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "log lines were dropped because stderr could not keep up"
            );
        }
        drop(self.guard);
    }
}

/// Log lines are written to stderr by a thread of their own: a request
/// logs a line, and a write that blocks (a full pipe to journald, or a
/// file on a disk busy with the database's checkpoints) must not stall
/// the async worker serving it and every connection on that worker. When
/// more than [`LOG_BUFFER`] lines wait, new ones are dropped and counted
/// rather than slowing the server down.
fn init_tracing(format: LogFormat) -> Logs {
    // The queue is allocated whole at start, 32 bytes a line: the
    // library's default of 128,000 lines cost 4 MiB of the memory budget.
    // 16,384 lines are half a second of requests at full load.
    const LOG_BUFFER: usize = 16_384;
    let filter = tracing_subscriber::EnvFilter::try_from_env("DIDGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal, never in files or journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_BUFFER)
        .thread_name("didgate-log")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Logs { guard, dropped }
}

fn print_key(created: &admin::CreatedKey, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(created)?);
    } else {
        println!("account_number {}", created.account_number);
        println!("key_id {}", created.key_id);
        println!("api_key {}", created.api_key);
        eprintln!("the api key is shown only now: store it safely");
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    let open =
        || Db::open(&cli.db).with_context(|| format!("cannot open database {}", cli.db.display()));
    match cli.command {
        Command::Serve(args) => serve(cli.db, args),
        Command::Init => {
            open()?;
            println!(
                "database {} is at schema version {}",
                cli.db.display(),
                didgate::store::migrate::latest_version()
            );
            Ok(())
        }
        Command::Account(AccountCommand::Create {
            name,
            parent,
            credit100,
            forward_type,
            forward_to,
            email,
            signature_secret,
            json,
        }) => {
            let parent = parent.as_deref().map(admin::parse_account).transpose()?;
            let credit = Money100::parse(&credit100.to_string())
                .map_err(|e| anyhow::anyhow!("--credit100 {e}"))?;
            let fwd = admin::forwarding(forward_type.as_deref(), forward_to.as_deref())?;
            let signing = admin::Signing {
                email,
                secret: signature_secret,
            };
            let created =
                admin::create_account_with(&mut open()?, &name, parent, credit, fwd, signing)?;
            print_key(&created, json)
        }
        Command::Account(AccountCommand::Credit { account, amount100 }) => {
            let account = admin::parse_account(&account)?;
            let balance = admin::credit(&mut open()?, &account, Money100(amount100))?;
            println!("account {account} balance {}", balance.to_decimal());
            Ok(())
        }
        Command::Key(KeyCommand::Create { account, json }) => {
            let account = admin::parse_account(&account)?;
            print_key(&admin::create_key(&mut open()?, &account)?, json)
        }
        Command::Key(KeyCommand::Revoke { key_id }) => {
            admin::revoke_key(&mut open()?, &key_id)?;
            println!("key {key_id} revoked");
            Ok(())
        }
        Command::Inventory(InventoryCommand::Import { catalog, numbers }) => {
            let stats = admin::import_files(&mut open()?, &catalog, numbers.as_deref())?;
            println!(
                "imported {} catalog rows; {} numbers read, {} new",
                stats.catalog_rows, stats.numbers_read, stats.numbers_added
            );
            Ok(())
        }
        Command::History { e164 } => {
            let e164 =
                didgate::domain::E164::parse(&e164).map_err(|e| anyhow::anyhow!("--e164 {e}"))?;
            let entries = open()?.reader().history(&e164)?;
            if entries.is_empty() {
                println!("no history for {e164}");
            }
            for h in entries {
                let change = if h.field.is_empty() {
                    String::new()
                } else {
                    format!(" {}: {:?} -> {:?}", h.field, h.old_value, h.new_value)
                };
                let account = if h.account_number.is_empty() {
                    "-"
                } else {
                    &h.account_number
                };
                let key = if h.key_id.is_empty() { "-" } else { &h.key_id };
                println!(
                    "{} {} account {account} key {key}{change}",
                    didgate::domain::format_time(h.at),
                    h.event
                );
            }
            Ok(())
        }
        Command::Backup { to } => {
            open()?.backup_to(&to)?;
            println!("backup written to {}", to.display());
            Ok(())
        }
    }
}

fn serve(db: PathBuf, args: ServeArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let demo_db = args
            .demo
            .then(|| std::env::temp_dir().join(format!("didgate-demo-{}.db", std::process::id())));
        let db = match &demo_db {
            Some(path) => {
                remove_db(path);
                let created = admin::demo_setup(&mut Db::open(path)?)?;
                print_demo(addr, path, &created);
                path.clone()
            }
            None => db,
        };
        let mut config = didgate::Config::new(db);
        config.body_limit = args.body_limit;
        config.header_timeout = Duration::from_secs(args.header_timeout);
        config.body_timeout = Duration::from_secs(args.body_timeout);
        config.max_connections = args.max_connections.max(1);
        config.max_headers = args.max_headers.max(8);
        config.key_recheck = Duration::from_secs(args.key_recheck);
        config.aging = Duration::from_secs(args.aging_days.saturating_mul(86_400));
        config.reservation_minutes = args.reservation_minutes;
        config.auth_failures = args.auth_failures;
        config.auth_failure_window = Duration::from_secs(args.auth_failure_window.max(1));
        config.read_cache = !args.no_read_cache;
        tracing::info!(%addr, db = %config.db_path.display(), "serving");
        let result = didgate::server::run(listener, config, shutdown_signal()).await;
        if let Some(path) = demo_db {
            remove_db(&path);
        }
        result.map_err(anyhow::Error::from)
    })
}

fn remove_db(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn print_demo(addr: std::net::SocketAddr, path: &std::path::Path, created: &admin::CreatedKey) {
    println!(
        "didgate demo: throwaway database {} (removed on exit)",
        path.display()
    );
    println!(
        "demo account {} with balance {}",
        created.account_number,
        admin::DEMO_CREDIT.to_decimal()
    );
    println!("demo key {}", created.api_key);
    println!();
    println!("Buy the seed's number (New York, 212) with:");
    println!();
    println!(
        "curl -s http://{addr}/api/v3.asp -H 'Content-Type: application/xml' -d '{}'",
        admin::demo_order_xml(&created.api_key)
    );
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
}
