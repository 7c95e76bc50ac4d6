//! Anveo's GET form: `GET /api/v2.asp?userkey=K&action=A&param[NAME]=V`,
//! the same actions with parameters in the query string. Replies are the
//! XML ones, so the decoded form is the envelope's [`ApiRequest`].

use didgate_core::Error;

use crate::wire::{ApiRequest, is_wire_name, malformed, push_param};

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

/// What the query string says so far.
#[derive(Default)]
struct Form {
    key: Option<String>,
    action: Option<String>,
    params: Vec<(String, String)>,
}

/// Decodes the query string (without the leading `?`).
pub fn decode(query: &str) -> Result<ApiRequest, Error> {
    let mut form = Form::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        form.pair(&component(name)?, component(value)?)?;
    }
    let action = form
        .action
        .filter(|a| !a.is_empty())
        .ok_or_else(|| malformed("give action=NAME in the query string"))?;
    Ok(ApiRequest {
        key: form.key.filter(|k| !k.is_empty()),
        action,
        params: form.params,
    })
}

impl Form {
    fn pair(&mut self, name: &str, value: String) -> Result<(), Error> {
        let lower = name.to_ascii_lowercase();
        if lower == "userkey" {
            if self.key.replace(value.trim().to_owned()).is_some() {
                return Err(malformed("userkey is given twice"));
            }
        } else if lower == "action" {
            if self.action.replace(value.trim().to_owned()).is_some() {
                return Err(malformed("action is given twice"));
            }
        } else if let Some(inner) = lower
            .strip_prefix("param[")
            .and_then(|r| r.strip_suffix(']'))
        {
            let pname = inner.to_ascii_uppercase();
            if !is_wire_name(&pname) {
                return Err(malformed(
                    "param[NAME]: NAME must be 1 to 64 letters, digits, '.', '_' or '-'",
                ));
            }
            push_param(&mut self.params, pname, value.trim().to_owned())?;
        }
        // Other query keys (cache busters, tracking tags) are not ours.
        Ok(())
    }
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
        assert!(decode("userkey=A&userkey=B&action=A").is_err());
        assert!(decode("action=A&param[X]=1&param[x]=2").is_err());
        assert!(decode("action=A&param[]=1").is_err());
        assert!(decode("action=A&param[X]=%FF").is_err());
        let r = decode("action=A&param[X]=%EF%BF%BD").unwrap();
        assert_eq!(r.params[0].1, "\u{FFFD}");
    }

    #[test]
    fn plus_is_a_space_and_blank_keys_are_absent() {
        let r = decode("userkey=+&ACTION=+A+&param[T]=a+b+").unwrap();
        assert_eq!(r.key, None);
        assert_eq!(r.action, "A");
        assert_eq!(r.params, vec![("T".into(), "a b".into())]);
        assert!(decode("action=+").is_err());
    }

    #[test]
    fn errors_never_echo_the_query() {
        for q in [
            "userkey=SECRET&userkey=SECRET&action=A",
            "action=A&param[SECRET!]=1",
            "userkey=SECRET",
        ] {
            match decode(q) {
                Err(e @ Error::Malformed(_)) => {
                    assert!(!e.public_message().contains("SECRET"), "{q}: {e}")
                }
                other => panic!("{q}: {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_too_many_parameters() {
        let mut q = String::from("action=A");
        for i in 0..=crate::wire::MAX_PARAMETERS {
            q.push_str(&format!("&param[P{i}]=v"));
        }
        match decode(&q) {
            Err(Error::Malformed(m)) => assert!(m.contains("at most 256"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
