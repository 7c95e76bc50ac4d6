//! The `FILTER.*` conditions on one account's numbers, as SQL.
//!
//! Only the filters given become conditions, so the common cases walk the
//! `dids_account (account_id, e164, status)` index without touching rows.
//! The SQL text is built from fixed fragments (so each combination is one
//! cached statement) and every value is a parameter.

use didgate_core::domain::{DidFilter, DidType};
use rusqlite::types::Value;

use crate::status;

/// `FROM … WHERE …` over `dids d` (joined with `areas a` only when the
/// type is filtered), and its parameters in order.
pub(crate) struct FilterSql {
    pub from_where: String,
    pub params: Vec<Value>,
}

pub(crate) fn filter_sql(account_id: i64, f: &DidFilter) -> FilterSql {
    let mut sql = String::from("dids d");
    if f.did_type.is_some() {
        sql.push_str(" JOIN areas a ON a.id = d.area_id");
    }
    sql.push_str(" WHERE d.account_id = ?1");
    let mut params = vec![Value::Integer(account_id)];
    let mut add = |fragment: &str, value: Option<&str>| {
        if let Some(v) = value {
            params.push(Value::Text(v.to_owned()));
            sql.push_str(&format!(" AND {fragment} ?{}", params.len()));
        }
    };
    // `*` means any run of digits in the contract and in GLOB alike, and
    // the pattern holds nothing but digits and `*`.
    add("d.e164 GLOB", f.e164.as_ref().map(|p| p.as_str()));
    add("a.did_type =", f.did_type.map(DidType::as_str));
    add("d.title =", f.title.as_deref());
    add("d.status =", f.status.map(status::filter_value));
    add("d.sms_url =", f.sms_url.as_deref());
    add("d.sms_email =", f.sms_email.as_deref());
    add("d.forward_type =", f.call_forward_type.as_deref());
    add("d.forward_to =", f.call_forward_to.as_deref());
    FilterSql {
        from_where: sql,
        params,
    }
}

#[cfg(test)]
mod tests {
    use didgate_core::domain::{DidStatus, E164Pattern};

    use super::*;

    #[test]
    fn only_given_filters_become_parameterised_conditions() {
        let plain = filter_sql(7, &DidFilter::default());
        assert_eq!(plain.from_where, "dids d WHERE d.account_id = ?1");
        let f = DidFilter {
            e164: Some(E164Pattern::parse("1212*").unwrap()),
            did_type: Some(DidType::TollFree),
            status: Some(DidStatus::Canceled),
            title: Some("x' OR 1 --".into()),
            ..DidFilter::default()
        };
        let sql = filter_sql(7, &f);
        assert_eq!(
            sql.from_where,
            "dids d JOIN areas a ON a.id = d.area_id WHERE d.account_id = ?1 \
             AND d.e164 GLOB ?2 AND a.did_type = ?3 AND d.title = ?4 AND d.status = ?5"
        );
        assert_eq!(sql.params[4], Value::Text("aging".into()));
        assert_eq!(sql.params[3], Value::Text("x' OR 1 --".into()));
    }
}
