//! Services: the root object each side exposes, with RPyC's naming and hooks.
//!
//! A [`Service`] is a [`LocalObject`] plus connection hooks and a name. The connection wraps it
//! in a root that also answers `get_service_name()` / `get_service_aliases()` and refuses
//! setattr/delattr (`AttributeError("access denied")`), exactly like `rpyc.Service`.

use std::sync::Arc;

use rpyc_core::{RemoteException, Value};

use crate::connection::Connection;
use crate::object::{Args, BoxFuture, CallContext, CallResult, LocalObject, Member};

/// The root object of a connection, with lifecycle hooks.
///
/// Implement [`LocalObject`] (usually with `#[rpyc::service]`) and then `Service`; every
/// method here has a default.
pub trait Service: LocalObject {
    /// Runs when a connection using this service starts (before any traffic).
    fn on_connect(&self, conn: &Connection) {
        let _ = conn;
    }

    /// Runs when the connection closes (no I/O is possible any more).
    fn on_disconnect(&self, conn: &Connection) {
        let _ = conn;
    }

    /// The names this service is known by (upper case); the first is its name. Default: the
    /// type name (after the last `.`) upper-cased, minus a trailing `SERVICE`.
    fn service_aliases(&self) -> Vec<String> {
        vec![default_service_name(self.type_name())]
    }
}

/// RPyC's naming rule: `"calc.CalculatorService"` → `"CALCULATOR"`.
///
/// ```
/// assert_eq!(rpyc::service::default_service_name("demo.AnswerService"), "ANSWER");
/// assert_eq!(rpyc::service::default_service_name("Foobar"), "FOOBAR");
/// ```
pub fn default_service_name(type_name: &str) -> String {
    let short = type_name
        .rsplit(['.', ':'])
        .next()
        .unwrap_or(type_name)
        .to_uppercase();
    match short.strip_suffix("SERVICE") {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => short,
    }
}

/// A service exposing nothing (the default for clients), named `VOID`.
#[derive(Debug, Clone, Copy, Default)]
pub struct VoidService;

impl LocalObject for VoidService {
    fn type_name(&self) -> &str {
        "rpyc_rs.VoidService"
    }
}

impl Service for VoidService {}

/// The connection's root object: the service plus RPyC's built-in root members.
pub(crate) struct ServiceRoot {
    pub(crate) service: Arc<dyn Service>,
}

const NAME: &str = "exposed_get_service_name";
const ALIASES: &str = "exposed_get_service_aliases";

impl LocalObject for ServiceRoot {
    fn type_name(&self) -> &str {
        self.service.type_name()
    }
    fn member_names(&self) -> Vec<String> {
        let mut m = self.service.member_names();
        m.push(NAME.into());
        m.push(ALIASES.into());
        m
    }
    fn has_member(&self, name: &str) -> bool {
        name == NAME || name == ALIASES || self.service.has_member(name)
    }
    fn get_member(&self, name: &str) -> Option<Member> {
        match name {
            NAME | ALIASES if !self.service.has_member(name) => Some(Member::Method),
            _ => self.service.get_member(name),
        }
    }
    fn call_method(
        self: Arc<Self>,
        name: &str,
        ctx: CallContext,
        args: Args,
    ) -> BoxFuture<CallResult> {
        // The built-ins, unless the service defines them itself (as `get_member` resolves).
        let r = match name {
            NAME if !self.service.has_member(name) => Value::Str(
                self.service
                    .service_aliases()
                    .into_iter()
                    .next()
                    .unwrap_or_default(),
            ),
            ALIASES if !self.service.has_member(name) => Value::Tuple(
                self.service
                    .service_aliases()
                    .into_iter()
                    .map(Value::Str)
                    .collect(),
            ),
            _ => return self.service.clone().call_method(name, ctx, args),
        };
        Box::pin(async move { Ok(r) })
    }
    fn call(self: Arc<Self>, ctx: CallContext, args: Args) -> BoxFuture<CallResult> {
        self.service.clone().call(ctx, args)
    }
    fn is_callable(&self) -> bool {
        self.service.is_callable()
    }
    fn set_member(&self, name: &str, value: Value) -> Result<(), RemoteException> {
        self.service.set_member(name, value)
    }
    fn del_member(&self, name: &str) -> Result<(), RemoteException> {
        self.service.del_member(name)
    }
    fn rpyc_getattr(&self, name: &str) -> Option<Result<Member, RemoteException>> {
        self.service.rpyc_getattr(name)
    }
    fn rpyc_setattr(&self, name: &str, value: &Value) -> Option<Result<(), RemoteException>> {
        Some(
            self.service
                .rpyc_setattr(name, value)
                .unwrap_or_else(|| Err(RemoteException::attribute_error("access denied"))),
        )
    }
    fn rpyc_delattr(&self, name: &str) -> Option<Result<(), RemoteException>> {
        Some(
            self.service
                .rpyc_delattr(name)
                .unwrap_or_else(|| Err(RemoteException::attribute_error("access denied"))),
        )
    }
    fn repr(&self) -> String {
        self.service.repr()
    }
    fn str(&self) -> String {
        self.service.str()
    }
    fn hash(&self) -> Option<i64> {
        self.service.hash()
    }
    fn protocol_methods(&self) -> Vec<String> {
        self.service.protocol_methods()
    }
}
