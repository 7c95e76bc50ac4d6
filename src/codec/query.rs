//! Anveo's GET form: `GET /api/v2.asp?userkey=K&action=A&param[NAME]=V`,
//! the same actions with parameters in the query string. Replies are the
//! XML ones.

use crate::api::ApiRequest;
use crate::error::Error;

/// More parameters than any action takes, as for the XML envelope.
const MAX_PARAMETERS: usize = 256;

fn malformed(msg: impl Into<String>) -> Error {
    Error::Malformed(msg.into())
}

/// One `application/x-www-form-urlencoded` component: `+` is a space and
/// `%XX` a byte; the bytes must be UTF-8 (a lossy decoding would turn bad
/// bytes into U+FFFD and could not tell them from a real U+FFFD).
fn component(raw: &str) -> Result<String, Error> {
    let plus = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| malformed("query string is not valid UTF-8"))
}

/// Decodes the query string (without the leading `?`).
pub fn decode(query: &str) -> Result<ApiRequest, Error> {
    let mut key = None;
    let mut action = None;
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (component(name)?, component(value)?);
        let lower = name.to_ascii_lowercase();
        if lower == "userkey" {
            if key.replace(value.trim().to_owned()).is_some() {
                return Err(malformed("userkey is given twice"));
            }
        } else if lower == "action" {
            if action.replace(value.trim().to_owned()).is_some() {
                return Err(malformed("action is given twice"));
            }
        } else if let Some(inner) = lower
            .strip_prefix("param[")
            .and_then(|r| r.strip_suffix(']'))
        {
            let pname = inner.to_ascii_uppercase();
            let ok = (1..=64).contains(&pname.len())
                && pname
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if !ok {
                return Err(malformed(
                    "param[NAME]: NAME must be 1 to 64 letters, digits, '.', '_' or '-'",
                ));
            }
            if params.iter().any(|(n, _)| *n == pname) {
                return Err(malformed(format!("parameter {pname} is given twice")));
            }
            if params.len() >= MAX_PARAMETERS {
                return Err(malformed(format!(
                    "too many parameters: at most {MAX_PARAMETERS}"
                )));
            }
            params.push((pname, value.trim().to_owned()));
        }
        // Other query keys (cache busters, tracking tags) are not ours.
    }
    let action = action
        .filter(|a| !a.is_empty())
        .ok_or_else(|| malformed("give action=NAME in the query string"))?;
    Ok(ApiRequest {
        key: key.filter(|k| !k.is_empty()),
        action,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_get_form() {
        let r = decode("userkey=K&action=DID.ORDER&param[DID_TYPE]=GEOGRAPHIC&param%5Btitle%5D=a%20%26%20b&x=1").unwrap();
        assert_eq!(r.key.as_deref(), Some("K"));
        assert_eq!(r.action, "DID.ORDER");
        assert_eq!(
            r.params,
            vec![
                ("DID_TYPE".into(), "GEOGRAPHIC".into()),
                ("TITLE".into(), "a & b".into())
            ]
        );
    }

    #[test]
    fn refuses_repeats_and_a_missing_action() {
        assert!(decode("userkey=K").is_err());
        assert!(decode("action=A&action=B").is_err());
        assert!(decode("action=A&param[X]=1&param[x]=2").is_err());
        assert!(decode("action=A&param[]=1").is_err());
        assert!(decode("action=A&param[X]=%FF").is_err());
        let r = decode("action=A&param[X]=%EF%BF%BD").unwrap();
        assert_eq!(r.params[0].1, "\u{FFFD}");
    }
}
