//! Reads the inventory CSV files of OPERATIONS.md into domain rows and
//! hands them to the store in one transaction.

use std::io::{IsTerminal, Read};

use crate::domain::{AreaId, CountryId, DidType, E164, Money100, RatePlanId};
use crate::store::{CatalogRow, Db, ImportStats, NumberRow};
use didgate_core::Error;

const CATALOG_HEADER: [&str; 13] = [
    "country_id",
    "country_name",
    "state_id",
    "state_name",
    "state_code",
    "area_id",
    "area_name",
    "area_code",
    "did_type",
    "rate_plan_id",
    "rate_plan_name",
    "monthly100",
    "setup100",
];
const NUMBERS_HEADER: [&str; 2] = ["e164", "area_id"];

/// A named CSV source: a file, or an embedded fixture.
pub struct Source<R> {
    pub name: String,
    pub reader: R,
}

fn bad(file: &str, line: u64, reason: impl std::fmt::Display) -> Error {
    Error::Input(format!("{file}:{line}: {reason}"))
}

fn csv_reader<R: Read>(src: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::None)
        .from_reader(src)
}

fn check_header<R: Read>(r: &mut csv::Reader<R>, file: &str, want: &[&str]) -> Result<(), Error> {
    let header = r.headers().map_err(|e| bad(file, 1, e))?;
    let got: Vec<&str> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim())
        .collect();
    if got != want {
        return Err(bad(
            file,
            1,
            format!("header must be exactly {}", want.join(",")),
        ));
    }
    Ok(())
}

fn field<T>(file: &str, line: u64, what: &str, v: Result<T, String>) -> Result<T, Error> {
    v.map_err(|e| bad(file, line, format!("{what} {e}")))
}

fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

/// Parses the whole catalog (it is small: one row per area and plan).
pub fn read_catalog<R: Read>(src: Source<R>) -> Result<Vec<CatalogRow>, Error> {
    let file = src.name;
    let mut r = csv_reader(src.reader);
    check_header(&mut r, &file, &CATALOG_HEADER)?;
    let mut rows = Vec::new();
    for record in r.records() {
        let record = record.map_err(|e| bad(&file, e.position().map_or(0, |p| p.line()), e))?;
        let line = line_of(&record);
        let f = |i: usize| record.get(i).unwrap_or("").trim();
        let required = |i: usize| {
            let v = f(i);
            if v.is_empty() {
                Err(bad(&file, line, format!("{} is empty", CATALOG_HEADER[i])))
            } else {
                Ok(v.to_owned())
            }
        };
        let state = match (f(2), f(3), f(4)) {
            ("", "", "") => None,
            (id, name, code) if !id.is_empty() && !name.is_empty() => {
                Some((id.to_owned(), name.to_owned(), code.to_owned()))
            }
            _ => {
                return Err(bad(
                    &file,
                    line,
                    "state_id and state_name go together (both empty for countries without states)",
                ));
            }
        };
        rows.push(CatalogRow {
            country_id: field(&file, line, "country_id", CountryId::parse(f(0)))?,
            country_name: required(1)?,
            state,
            area_id: field(&file, line, "area_id", AreaId::parse(f(5)))?,
            area_name: required(6)?,
            area_code: f(7).to_owned(),
            did_type: field(&file, line, "did_type", DidType::parse(f(8)))?,
            rate_plan_id: field(&file, line, "rate_plan_id", RatePlanId::parse(f(9)))?,
            rate_plan_name: required(10)?,
            monthly: field(&file, line, "monthly100", Money100::parse(f(11)))?,
            setup: field(&file, line, "setup100", Money100::parse(f(12)))?,
        });
    }
    Ok(rows)
}

/// Streams the numbers file: a million rows never sit in memory at once.
pub fn read_numbers<R: Read>(
    src: Source<R>,
) -> Result<impl Iterator<Item = Result<NumberRow, Error>>, Error> {
    let file = src.name;
    let mut r = csv_reader(src.reader);
    check_header(&mut r, &file, &NUMBERS_HEADER)?;
    Ok(r.into_records().map(move |record| {
        let record = record.map_err(|e| bad(&file, e.position().map_or(0, |p| p.line()), e))?;
        let line = line_of(&record);
        let e164 = E164::parse(record.get(0).unwrap_or("").trim())
            .map_err(|e| bad(&file, line, format!("e164 {e}")))?;
        let area_id = AreaId::parse(record.get(1).unwrap_or("").trim())
            .map_err(|e| bad(&file, line, format!("area_id {e}")))?;
        Ok(NumberRow {
            e164,
            area_id,
            origin: format!("{file}:{line}"),
        })
    }))
}

/// Imports a catalog and optionally numbers, all or nothing. Shows a
/// progress spinner when stderr is a terminal.
pub fn import<C: Read, N: Read>(
    db: &mut Db,
    catalog: Source<C>,
    numbers: Option<Source<N>>,
) -> Result<ImportStats, Error> {
    let catalog = read_catalog(catalog)?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} numbers read ({per_sec})")
                .expect("valid template"),
        );
        Some(bar)
    } else {
        None
    };
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    };
    let stats = match numbers {
        Some(src) => db.import(&catalog, read_numbers(src)?, progress),
        None => db.import(&catalog, std::iter::empty(), progress),
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source<&[u8]> {
        Source {
            name: "t.csv".into(),
            reader: text.as_bytes(),
        }
    }

    #[test]
    fn catalog_rows_parse_and_errors_name_the_line() {
        let head = CATALOG_HEADER.join(",");
        let ok = format!(
            "{head}\nUS,UNITED STATES,US-NY,New York,NY,a.1,New York,212,GEOGRAPHIC,SU,Service Unlimited,149,249\nFR,FRANCE,,,,fr.1,Paris,1,NATIONAL,SU,Service Unlimited,100,0\n"
        );
        let rows = read_catalog(src(&ok)).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[1].state.is_none());
        let badrow = format!(
            "{head}\nUS,UNITED STATES,US-NY,New York,NY,a.1,New York,212,LOCAL,SU,Service Unlimited,149,249\n"
        );
        let e = read_catalog(src(&badrow)).err().unwrap().to_string();
        assert!(e.starts_with("t.csv:2:") && e.contains("did_type"), "{e}");
        let extra = format!("{head},extra\n");
        assert!(read_catalog(src(&extra)).is_err());
    }

    #[test]
    fn numbers_stream_and_report_bad_rows() {
        let rows: Vec<_> = read_numbers(src("e164,area_id\n12121111111,a\n12x,a\n"))
            .unwrap()
            .collect();
        assert!(rows[0].is_ok());
        let e = rows[1].as_ref().err().unwrap().to_string();
        assert!(e.starts_with("t.csv:3:"), "{e}");
        assert!(read_numbers(src("e164,area,extra\n")).is_err());
    }
}
