//! Call forwarding settings, checked by type as the contract lists them.

use super::ids::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ForwardType {
    Phone,
    SipUri,
    Callflow,
    SipRegistered,
    Trunk,
}

impl ForwardType {
    const ALL: [ForwardType; 5] = [
        Self::Phone,
        Self::SipUri,
        Self::Callflow,
        Self::SipRegistered,
        Self::Trunk,
    ];

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| "must be one of PHONE, SIP_URI, CALLFLOW, SIP_REGISTERED, TRUNK".into())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "PHONE",
            Self::SipUri => "SIP_URI",
            Self::Callflow => "CALLFLOW",
            Self::SipRegistered => "SIP_REGISTERED",
            Self::Trunk => "TRUNK",
        }
    }
}

/// A forwarding type with a target that has been checked against it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Forwarding {
    kind: ForwardType,
    target: String,
}

impl Forwarding {
    /// A forwarding as it was stored after [`Forwarding::parse`] checked
    /// it; `None` for no forwarding (an empty type).
    pub fn from_stored(kind: &str, target: &str) -> Option<Self> {
        ForwardType::parse(kind).ok().map(|kind| Forwarding {
            kind,
            target: target.to_owned(),
        })
    }

    /// Checks `target` against the rules of `kind`; the error says what a
    /// valid target of that type looks like.
    pub fn parse(kind: ForwardType, target: &str) -> Result<Self, ParseError> {
        let ok = match kind {
            ForwardType::Phone => is_digits(target, 7, 15),
            ForwardType::SipUri => {
                let parts: Vec<&str> = target.split(',').map(str::trim).collect();
                parts.len() <= 2 && parts.iter().all(|p| is_sip_uri(p))
            }
            ForwardType::Callflow => {
                (8..=64).contains(&target.len())
                    && target.bytes().all(|b| b.is_ascii_alphanumeric())
            }
            ForwardType::SipRegistered => {
                target.eq_ignore_ascii_case("ACCOUNT") || target.eq_ignore_ascii_case("E164")
            }
            ForwardType::Trunk => {
                (1..=64).contains(&target.len())
                    && target
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            }
        };
        if !ok {
            return Err(match kind {
                ForwardType::Phone => "a PHONE target must be 7 to 15 digits",
                ForwardType::SipUri => {
                    "a SIP_URI target must be user@host[:port], at most two separated by a comma"
                }
                ForwardType::Callflow => "a CALLFLOW target must be 8 to 64 letters and digits",
                ForwardType::SipRegistered => "a SIP_REGISTERED target must be ACCOUNT or E164",
                ForwardType::Trunk => {
                    "a TRUNK target must be 1 to 64 letters, digits, '-', '_' or '.'"
                }
            }
            .into());
        }
        let target = match kind {
            ForwardType::SipRegistered => target.to_ascii_uppercase(),
            ForwardType::SipUri => target
                .split(',')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(","),
            _ => target.to_owned(),
        };
        Ok(Self { kind, target })
    }

    pub fn kind(&self) -> ForwardType {
        self.kind
    }

    pub fn target(&self) -> &str {
        &self.target
    }
}

fn is_digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// `user@host[:port]`, where the user part may hold the `$[E164]$`
/// placeholder that the switch replaces with the called number.
fn is_sip_uri(s: &str) -> bool {
    let Some((user, hostport)) = s.split_once('@') else {
        return false;
    };
    let user_ok = !user.is_empty()
        && user.len() <= 64
        && user.replace("$[E164]$", "0").bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'~' | b'*' | b'#')
        });
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (hostport, None),
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    user_ok && host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_each_type() {
        let ok = |k, t| Forwarding::parse(k, t).is_ok();
        assert!(ok(ForwardType::Phone, "12125551234"));
        assert!(!ok(ForwardType::Phone, "12-34"));
        assert!(ok(ForwardType::SipUri, "$[E164]$@sip.example.com:5060"));
        assert!(ok(ForwardType::SipUri, "a@b.example, c@10.0.0.1"));
        assert!(!ok(ForwardType::SipUri, "a@b,c@d,e@f"));
        assert!(!ok(ForwardType::SipUri, "no-at-sign"));
        assert!(!ok(ForwardType::SipUri, "a@host:99999"));
        assert!(!ok(ForwardType::SipUri, "a@ho st"));
        assert!(ok(
            ForwardType::Callflow,
            "8c25e06faf2b98erts3gdtb83df91b307ff287f1"
        ));
        assert!(!ok(ForwardType::Callflow, "short"));
        assert!(ok(ForwardType::SipRegistered, "account"));
        assert!(!ok(ForwardType::SipRegistered, "other"));
        assert!(ok(ForwardType::Trunk, "trunk-1"));
        assert!(!ok(ForwardType::Trunk, "bad trunk"));
    }

    #[test]
    fn type_names_are_case_insensitive() {
        assert_eq!(ForwardType::parse("sip_uri").unwrap(), ForwardType::SipUri);
        assert!(ForwardType::parse("EMAIL").is_err());
    }
}
