//! The operator CLI as scripts call it (OPERATIONS.md): exact command and
//! flag names, one-line errors with a non-zero exit, nothing half done.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{DIDGATE, didgate};
use didgate::domain::AccountNumber;
use didgate::store::Db;

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[track_caller]
fn fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "unexpected success: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "errors are one line: {err}"
    );
    err
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("one JSON object")
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const CATALOG: &str = "country_id,country_name,state_id,state_name,state_code,area_id,area_name,area_code,did_type,rate_plan_id,rate_plan_name,monthly100,setup100
US,UNITED STATES,US-NY,New York,NY,ny-212,New York,212,GEOGRAPHIC,SU,Service Unlimited,149,249
FR,FRANCE,,,,fr-1,Paris,1,GEOGRAPHIC,SU,Service Unlimited,100,0
";

#[test]
fn init_twice_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let first = ok(&didgate(&db, &["init"]));
    let second = ok(&didgate(&db, &["init"]));
    assert!(first.contains("schema version"));
    assert_eq!(first, second);
}

#[test]
fn account_create_json_prints_number_key_and_key_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let v = json(&didgate(
        &db,
        &[
            "account",
            "create",
            "--name",
            "Acme",
            "--credit100",
            "500",
            "--forward-type",
            "PHONE",
            "--forward-to",
            "12125550000",
            "--json",
        ],
    ));
    let number = v["account_number"].as_str().unwrap();
    assert!(AccountNumber::parse(number).is_ok());
    assert!(
        v["api_key"]
            .as_str()
            .unwrap()
            .starts_with(&format!("dg_{}_", v["key_id"].as_str().unwrap()))
    );
    let balance = Db::open(&db)
        .unwrap()
        .reader()
        .balance_of(&AccountNumber::parse(number).unwrap())
        .unwrap();
    assert_eq!(balance.0, 500);
    // The key itself is never stored, only its hash.
    let raw = std::fs::read(&db).unwrap();
    let key = v["api_key"].as_str().unwrap().as_bytes();
    assert!(!raw.windows(key.len()).any(|w| w == key));
}

#[test]
fn credit_goes_through_the_ledger_and_refuses_sub_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let top = json(&didgate(
        &db,
        &["account", "create", "--name", "Top", "--json"],
    ));
    let top = top["account_number"].as_str().unwrap().to_owned();
    let out = ok(&didgate(
        &db,
        &[
            "account",
            "credit",
            "--account",
            &top,
            "--amount100",
            "1234",
        ],
    ));
    assert!(out.contains("12.34"), "{out}");
    let sub = json(&didgate(
        &db,
        &[
            "account", "create", "--name", "Sub", "--parent", &top, "--json",
        ],
    ));
    let sub = sub["account_number"].as_str().unwrap().to_owned();
    assert!(
        fails(&didgate(
            &db,
            &["account", "credit", "--account", &sub, "--amount100", "1"]
        ))
        .contains("sub-account")
    );
    fails(&didgate(
        &db,
        &["account", "credit", "--account", &top, "--amount100", "0"],
    ));
    fails(&didgate(
        &db,
        &["account", "credit", "--account", &top, "--amount100", "-5"],
    ));
    fails(&didgate(
        &db,
        &[
            "account",
            "credit",
            "--account",
            "9999999999",
            "--amount100",
            "5",
        ],
    ));
    fails(&didgate(
        &db,
        &[
            "account",
            "create",
            "--name",
            "Sub2",
            "--parent",
            &top,
            "--credit100",
            "5",
        ],
    ));
    let reader_db = Db::open(&db).unwrap();
    let r = reader_db.reader();
    let top = AccountNumber::parse(&top).unwrap();
    assert_eq!(r.balance_of(&top).unwrap(), r.ledger_sum(&top).unwrap());
    assert_eq!(r.balance_of(&top).unwrap().0, 1234);
}

#[test]
fn key_create_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let a = json(&didgate(
        &db,
        &["account", "create", "--name", "A", "--json"],
    ));
    let k = json(&didgate(
        &db,
        &[
            "key",
            "create",
            "--account",
            a["account_number"].as_str().unwrap(),
            "--json",
        ],
    ));
    assert_eq!(k["account_number"], a["account_number"]);
    assert_ne!(k["key_id"], a["key_id"]);
    ok(&didgate(
        &db,
        &["key", "revoke", "--key-id", k["key_id"].as_str().unwrap()],
    ));
    fails(&didgate(
        &db,
        &["key", "revoke", "--key-id", "0000000000000000"],
    ));
    fails(&didgate(
        &db,
        &["key", "revoke", "--key-id", "not-a-key-id"],
    ));
    fails(&didgate(&db, &["key", "create", "--account", "12345"]));
}

#[test]
fn inventory_import_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let catalog = write(dir.path(), "catalog.csv", CATALOG);
    let numbers = write(
        dir.path(),
        "numbers.csv",
        "e164,area_id\n12125550001,ny-212\n12125550002,ny-212\n33100000001,fr-1\n",
    );
    let args = [
        "inventory",
        "import",
        "--catalog",
        catalog.to_str().unwrap(),
        "--numbers",
        numbers.to_str().unwrap(),
    ];
    assert!(ok(&didgate(&db, &args)).contains("3 new"));
    assert!(ok(&didgate(&db, &args)).contains("0 new"));
    let d = Db::open(&db).unwrap();
    assert_eq!(d.reader().counted_stock("ny-212").unwrap(), (2, 2));
    assert_eq!(d.reader().countries(None).unwrap().len(), 2);
}

/// The import inserts numbers a hundred per statement: files longer than
/// a batch, ending in a partial one, with a number repeated inside a batch
/// and areas mixed, must count and store exactly as row by row did.
#[test]
fn import_counts_across_batches_and_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let catalog = write(dir.path(), "catalog.csv", CATALOG);
    let mut rows = String::from("e164,area_id\n");
    for i in 0..250 {
        rows.push_str(&format!("1212555{i:04},ny-212\n"));
        if i == 110 {
            // The same number again, inside the same batch of a hundred.
            rows.push_str("12125550105,ny-212\n");
        }
        if i % 7 == 0 {
            rows.push_str(&format!("3310000{i:04},fr-1\n"));
        }
    }
    let numbers = write(dir.path(), "numbers.csv", &rows);
    let run = |numbers: &Path| {
        let (catalog, numbers) = (catalog.to_str().unwrap(), numbers.to_str().unwrap());
        ok(&didgate(
            &db,
            &[
                "inventory",
                "import",
                "--catalog",
                catalog,
                "--numbers",
                numbers,
            ],
        ))
    };
    // 250 + 1 repeat + 36 French numbers read; the repeat is not new.
    let out = run(&numbers);
    assert!(out.contains("287 numbers read, 286 new"), "{out}");
    let d = Db::open(&db).unwrap();
    assert_eq!(d.reader().counted_stock("ny-212").unwrap(), (250, 250));
    assert_eq!(d.reader().counted_stock("fr-1").unwrap(), (36, 36));
    drop(d);
    assert!(run(&numbers).contains("0 new"));
    // One new number among known ones still updates its area's counters.
    rows.push_str("12125559999,ny-212\n");
    let more = write(dir.path(), "more.csv", &rows);
    assert!(run(&more).contains("288 numbers read, 1 new"));
    let d = Db::open(&db).unwrap();
    assert_eq!(d.reader().counted_stock("ny-212").unwrap(), (251, 251));
    assert_eq!(d.reader().counted_stock("fr-1").unwrap(), (36, 36));
}

#[test]
fn bad_number_row_names_file_and_line_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let catalog = write(dir.path(), "catalog.csv", CATALOG);
    let numbers = write(
        dir.path(),
        "numbers.csv",
        "e164,area_id\n12125550001,ny-212\n12x,ny-212\n",
    );
    let err = fails(&didgate(
        &db,
        &[
            "inventory",
            "import",
            "--catalog",
            catalog.to_str().unwrap(),
            "--numbers",
            numbers.to_str().unwrap(),
        ],
    ));
    assert!(err.contains("numbers.csv:3"), "{err}");
    let d = Db::open(&db).unwrap();
    // Nothing at all was imported, not even the catalog.
    assert!(d.reader().countries(None).unwrap().is_empty());
}

#[test]
fn unknown_area_and_extra_columns_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let catalog = write(dir.path(), "catalog.csv", CATALOG);
    let numbers = write(
        dir.path(),
        "numbers.csv",
        "e164,area_id\n12125550001,nowhere\n",
    );
    let err = fails(&didgate(
        &db,
        &[
            "inventory",
            "import",
            "--catalog",
            catalog.to_str().unwrap(),
            "--numbers",
            numbers.to_str().unwrap(),
        ],
    ));
    assert!(err.contains("numbers.csv:2"), "{err}");
    let extra = write(
        dir.path(),
        "extra.csv",
        &CATALOG.replace("setup100\n", "setup100,extra\n"),
    );
    let err = fails(&didgate(
        &db,
        &["inventory", "import", "--catalog", extra.to_str().unwrap()],
    ));
    assert!(err.contains("extra.csv:1"), "{err}");
    let bad = write(
        dir.path(),
        "bad.csv",
        &CATALOG.replace(",149,249", ",-1,249"),
    );
    let err = fails(&didgate(
        &db,
        &["inventory", "import", "--catalog", bad.to_str().unwrap()],
    ));
    assert!(
        err.contains("bad.csv:2") && err.contains("monthly100"),
        "{err}"
    );
    assert!(
        Db::open(&db)
            .unwrap()
            .reader()
            .countries(None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn backup_writes_a_consistent_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let a = json(&didgate(
        &db,
        &[
            "account",
            "create",
            "--name",
            "A",
            "--credit100",
            "700",
            "--json",
        ],
    ));
    let copy = dir.path().join("copy.db");
    ok(&didgate(&db, &["backup", "--to", copy.to_str().unwrap()]));
    let restored = Db::open(&copy).unwrap();
    assert_eq!(restored.integrity_check().unwrap(), "ok");
    let n = AccountNumber::parse(a["account_number"].as_str().unwrap()).unwrap();
    assert_eq!(restored.reader().balance_of(&n).unwrap().0, 700);
    // An existing target is never overwritten.
    fails(&didgate(&db, &["backup", "--to", copy.to_str().unwrap()]));
}

/// The commands of OPERATIONS.md (and `history`) with the flags the
/// contract names for each: scripts call them exactly so.
const COMMANDS: [(&[&str], &[&str]); 9] = [
    (&["serve"], &["--listen", "--demo"]),
    (&["init"], &[]),
    (
        &["account", "create"],
        &[
            "--name",
            "--parent",
            "--credit100",
            "--forward-type",
            "--forward-to",
            "--json",
        ],
    ),
    (&["account", "credit"], &["--account", "--amount100"]),
    (&["key", "create"], &["--account", "--json"]),
    (&["key", "revoke"], &["--key-id"]),
    (&["inventory", "import"], &["--catalog", "--numbers"]),
    (&["backup"], &["--to"]),
    (&["history"], &["--e164"]),
];

/// Whether clap's help text lists `flag` as an option of its own (the
/// first word of an option line), not merely mentions it in a description.
fn lists_option(help: &str, flag: &str) -> bool {
    help.lines().any(|line| {
        let line = line.trim_start();
        let line = match line.split_once(", ") {
            Some((short, rest)) if short.len() == 2 && short.starts_with('-') => rest,
            _ => line,
        };
        line.split_whitespace().next() == Some(flag)
    })
}

/// `didgate <command> --help` for every command: a command that
/// disappears (or is renamed) fails to parse, and one that loses a
/// documented flag no longer lists it.
#[test]
fn every_command_answers_help_with_its_own_flags() {
    for (command, flags) in COMMANDS {
        let name = command.join(" ");
        let out = Command::new(DIDGATE)
            .args(command)
            .arg("--help")
            .output()
            .expect("run didgate");
        assert!(
            out.status.success(),
            "didgate {name} --help: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let help = String::from_utf8(out.stdout).unwrap();
        // The help is the command's own, not its parent's or the top level's.
        assert!(
            help.contains(&format!("Usage: didgate {name} ")),
            "didgate {name} --help:\n{help}"
        );
        // Every command takes --db (OPERATIONS.md).
        for flag in flags.iter().chain(&["--db"]) {
            assert!(
                lists_option(&help, flag),
                "didgate {name} --help does not list {flag}:\n{help}"
            );
        }
    }
}

#[test]
fn top_level_help_lists_every_command() {
    let out = Command::new(DIDGATE).arg("--help").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let commands = text
        .split_once("Commands:")
        .unwrap_or_else(|| panic!("no command list in --help:\n{text}"))
        .1;
    for cmd in [
        "serve",
        "init",
        "account",
        "key",
        "inventory",
        "backup",
        "history",
    ] {
        assert!(
            commands
                .lines()
                .any(|l| l.split_whitespace().next() == Some(cmd)),
            "{cmd} missing from the commands of --help:\n{text}"
        );
    }
}

/// The flag check itself: an option line counts, a mention does not.
#[test]
fn lists_option_tells_options_from_mentions() {
    let help = "Usage: didgate serve [OPTIONS]\n\nOptions:\n      --listen <LISTEN>\n          Address (ignores --db)\n      --demo\n  -h, --help\n          Print help\n";
    assert!(lists_option(help, "--listen"));
    assert!(lists_option(help, "--demo"));
    assert!(lists_option(help, "--help"));
    assert!(!lists_option(help, "--db"));
    assert!(!lists_option(help, "--list"));
}
