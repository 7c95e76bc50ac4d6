//! What both Anveo request forms read before any action knows them: the
//! key, the action name and the named parameters. The XML envelope
//! (`envelope.rs`) and the GET form (`get_form.rs`) produce the same
//! [`ApiRequest`], so everything after them is shared.

use didgate_core::Error;

/// More parameters than any action takes, with room for ignored ones.
pub(crate) const MAX_PARAMETERS: usize = 256;

/// A request as a form decoded it, before any business meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// The presented API key: trimmed, `None` when absent or empty.
    pub key: Option<String>,
    /// The action name as sent (trimmed, never empty).
    pub action: String,
    /// Parameter names (upper case, unique) and trimmed values, in request
    /// order.
    pub params: Vec<(String, String)>,
}

pub(crate) fn malformed(msg: impl Into<String>) -> Error {
    Error::Malformed(msg.into())
}

/// An action or parameter name both forms accept: 1 to 64 letters,
/// digits, `.`, `_` or `-`.
pub(crate) fn is_wire_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Adds parameter `name` (already upper case) to `params`, refusing a
/// repeat and more than [`MAX_PARAMETERS`]: the checks both forms share.
pub(crate) fn push_param(
    params: &mut Vec<(String, String)>,
    name: String,
    value: String,
) -> Result<(), Error> {
    check_new_param(params, &name)?;
    params.push((name, value));
    Ok(())
}

/// The repeat and count checks of [`push_param`], for a decoder that
/// learns the name before the value (the envelope's start tag).
pub(crate) fn check_new_param(params: &[(String, String)], name: &str) -> Result<(), Error> {
    if params.iter().any(|(n, _)| n == name) {
        return Err(malformed(format!("parameter {name} is given twice")));
    }
    if params.len() >= MAX_PARAMETERS {
        return Err(malformed(format!(
            "too many parameters: at most {MAX_PARAMETERS}"
        )));
    }
    Ok(())
}
