//! From a decoded form ([`ApiRequest`]) to the core's typed [`Request`]:
//! the one table of Anveo action names, the options every action shares
//! (`TEST`, `REQUEST_ID`, `SIGNATURE`), and one function per action (in
//! the submodules) that turns [`Params`] into its [`Command`].

mod account;
mod catalog;
mod numbers;
mod order;

use didgate_core::command::{Command, Request};
use didgate_core::domain::{AccountNumber, RequestId};
use didgate_core::front::Decoded;
use didgate_core::{Error, ParamError};

use crate::params::Params;
use crate::view::XmlView;
use crate::wire::ApiRequest;

type DecodeFn = fn(&mut Params) -> Result<Command, ParamError>;

/// One action of this front.
struct Action {
    /// The canonical (upper-case) name; requests match it in any case.
    name: &'static str,
    /// Whether `REQUEST_ID` is this action's (idempotency): it must be
    /// known before the action's own parameters are read, so it cannot
    /// come from the decoded command. A test checks it against
    /// [`Command::is_mutating`].
    mutating: bool,
    decode: DecodeFn,
}

const fn action(name: &'static str, mutating: bool, decode: DecodeFn) -> Action {
    Action {
        name,
        mutating,
        decode,
    }
}

/// Every action this front implements. Names not here are `UNKNOWN_ACTION`.
const ACTIONS: [Action; 15] = [
    action("ANVEO.COUNTRIES.LIST", false, catalog::countries_list),
    action("ANVEO.STATES.LIST", false, catalog::states_list),
    action("ANVEO.AREAS.LIST", false, catalog::areas_list),
    action("DID.SEARCH", false, catalog::did_search),
    action("DID.RESERVE", true, order::did_reserve),
    action("DID.RESERVE.CANCEL", true, order::did_reserve_cancel),
    action("DID.ORDER", true, order::did_order),
    action("DID.LIST", false, numbers::did_list),
    action("DID.UPDATE", true, numbers::did_update),
    action("DID.CANCEL", true, numbers::did_cancel),
    action("DID.RESTORE", true, numbers::did_restore),
    action("DID.MOVE", true, numbers::did_move),
    action("ACCOUNT.GETBALANCE", false, account::account_getbalance),
    action("SUBACCOUNT.CREATE", true, account::subaccount_create),
    action("SUBACCOUNT.DELETE", true, account::subaccount_delete),
];

/// Action names are matched case-insensitively (PROTOCOL.md section 2).
fn lookup(name: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// `ACCOUNT_NUMBER`, which every DID action takes to act on a sub-account.
fn target(p: &mut Params) -> Result<Option<AccountNumber>, ParamError> {
    p.parse("ACCOUNT_NUMBER", AccountNumber::parse)
}

/// Turns a decoded form into what the server runs. Never fails: a wrong
/// action or parameter is reported in `request`, after the key is checked.
pub fn decode_request(wire: ApiRequest) -> Decoded {
    let ApiRequest {
        key,
        action: name,
        params,
    } = wire;
    let mut params = Params::new(params);
    // Always accepted (and so never listed as ignored); the core checks it
    // for accounts that have a signature secret, before any other error.
    let signature = params.get("SIGNATURE");
    let mut view = XmlView {
        signature: signature.clone(),
        ..XmlView::default()
    };
    let Some(action) = lookup(&name) else {
        return Decoded {
            key,
            signature,
            action: None,
            request: Err(Error::unknown_action(&name)),
            view: Box::new(view),
        };
    };
    let request = request(action, &mut params).map_err(Error::from);
    if let Ok(r) = &request {
        view.test = r.test;
        view.request_id = r.request_id.clone();
        view.ignored = params.unused();
    }
    Decoded {
        key,
        signature,
        action: Some(action.name),
        request,
        view: Box::new(view),
    }
}

/// The shared options first, then the action's own parameters, so a bad
/// `TEST` or `REQUEST_ID` is reported before anything else is read.
fn request(action: &Action, p: &mut Params) -> Result<Request, ParamError> {
    let test = p.flag("TEST", false)?;
    // Reads take no REQUEST_ID: there it is an ignored parameter.
    let request_id = if action.mutating {
        p.parse("REQUEST_ID", RequestId::parse)?
    } else {
        None
    };
    let command = (action.decode)(p)?;
    Ok(Request {
        command,
        test,
        request_id,
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_commands;
#[cfg(test)]
mod tests_refusals;
