//! Helpers every query module uses: statements prepared once per
//! connection, errors classified, stored text parsed back into the
//! domain's types.

use didgate_core::engine::StoreResult;
use rusqlite::{Connection, Params, Row};

use crate::classify::Classified;

/// Runs one statement without parameters, prepared once per connection:
/// the transaction and savepoint statements run on every read and twice
/// per job, and parsing them each time showed in the profiles.
pub(crate) fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs a cached statement; how many rows it changed.
pub(crate) fn execute(conn: &Connection, sql: &str, params: impl Params) -> StoreResult<usize> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .classified()
}

/// The one row a cached query returns (no row is an error).
pub(crate) fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<T> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params, f))
        .classified()
}

/// The row a cached query returns, if any.
pub(crate) fn optional<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Option<T>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params, f).optional())
        .classified()
}

/// Every row a cached query returns.
pub(crate) fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_map(params, f)?.collect())
        .classified()
}

/// Column `idx` of `row`, parsed with a domain type's parser. A stored
/// value that does not parse is a bug (the schema's CHECKs and the
/// parsers agree), classified as internal.
pub(crate) fn parsed<T>(
    row: &Row<'_>,
    idx: usize,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    parse(&text).map_err(|reason| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("stored value {text:?} {reason}").into(),
        )
    })
}

/// Like [`parsed`], for a nullable column.
pub(crate) fn parsed_opt<T>(
    row: &Row<'_>,
    idx: usize,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> rusqlite::Result<Option<T>> {
    match row.get_ref(idx)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => parsed(row, idx, parse).map(Some),
    }
}

/// A count as the interface's `u64` (SQLite counts are never negative).
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
