//! Local objects that the peer reaches by reference: the [`LocalObject`] trait, the
//! [`CallContext`] of a call, and by-reference exports ([`Exported`]). Call arguments are in
//! `args.rs`, closures the peer calls in `callback.rs`.
//!
//! One import points back up at the connection, on purpose: a [`CallContext`] holds the
//! [`Connection`] the call arrived on, because in symmetric RPC an object that is called must be
//! able to call the peer back. It is the only such loop in the crate.
//!
//! A service root, a `Counter` returned by a method, a closure passed as a callback: each is a
//! `LocalObject`. The connection applies the access policy (`rpyc::core::policy`) before it
//! asks an object for a member, so an object only lists its members; it never decides who may
//! see them. Members are named as RPyC names them: a method `exposed_add` is reached as `add`
//! or `exposed_add`; dunders such as `__len__` or `__getitem__` are members too, reachable
//! because they are in `safe_attrs`.
//!
//! Most objects are written with the `#[rpyc::object]` / `#[rpyc::service]` macros; the trait
//! can also be implemented by hand:
//!
//! ```
//! use std::sync::Arc;
//! use rpyc::{Args, BoxFuture, CallContext, Member, LocalObject};
//! use rpyc::{RemoteException, Value};
//!
//! struct Greeter;
//! impl LocalObject for Greeter {
//!     fn type_name(&self) -> &str { "demo.Greeter" }
//!     fn member_names(&self) -> Vec<String> { vec!["exposed_greet".into()] }
//!     fn get_member(&self, name: &str) -> Option<Member> {
//!         (name == "exposed_greet").then_some(Member::Method)
//!     }
//!     fn call_method(self: Arc<Self>, name: &str, _ctx: CallContext, mut args: Args)
//!         -> BoxFuture<Result<Value, RemoteException>> {
//!         let who = args.take::<String>(0, "who");
//!         Box::pin(async move { Ok(Value::str(format!("hello, {}", who?))) })
//!     }
//! }
//! ```

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rpyc_core::{IntoValue, Object, Opaque, RemoteException, Value};

pub use crate::args::{Args, IntoArgs, Rest};
pub use crate::callback::Callback;
use crate::connection::Connection;

/// A boxed, sendable future (what object methods return).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The result of calling something: a value, or an exception for the caller.
pub type CallResult = Result<Value, RemoteException>;

/// What a member lookup found.
#[derive(Debug, Clone)]
pub enum Member {
    /// A data attribute: its current value (a plain value or an object by reference).
    Value(Value),
    /// A method: GETATTR returns a bound method by reference, CALLATTR calls it directly.
    Method,
}

/// Where a call comes from: the connection it arrived on.
#[derive(Clone)]
pub struct CallContext {
    conn: Connection,
}

impl CallContext {
    /// A context for calls arriving on `conn`.
    pub fn new(conn: Connection) -> Self {
        CallContext { conn }
    }

    /// The connection the call arrived on (use it to call back into the peer).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Who is calling, as the server verified it: the peer's address, its TLS client
    /// certificate (subject, alternative names) and what the server's authenticator returned
    /// (RPyC's `conn._config['credentials']`). `None` on a client's connection.
    ///
    /// ```
    /// use rpyc::{CallContext, RemoteException};
    /// fn require_alice(ctx: &CallContext) -> rpyc::Result<()> {
    ///     match ctx.credentials().and_then(|c| c.common_name()) {
    ///         Some("alice") => Ok(()),
    ///         _ => Err(RemoteException::permission_error("alice only").into()),
    ///     }
    /// }
    /// ```
    pub fn credentials(&self) -> Option<&rpyc_core::Credentials> {
        self.conn.config().credentials.as_ref()
    }
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("conn", &self.conn.id())
            .finish()
    }
}

/// The former name of [`LocalObject`] (renamed: it is the trait of objects that live on *this*
/// side; [`crate::NetRef`] is the peer's). Kept so that existing code compiles.
pub use self::LocalObject as RemoteObject;

/// An object the peer can reach by reference.
///
/// Only `type_name` is required; an object with members lists them (`member_names`,
/// `get_member`, and `call_method` for methods; an object whose members are a fixed list of
/// methods only says `methods`). Everything else has RPyC's defaults (not callable, attributes read-only,
/// `repr` like `<demo.Greeter object>`).
pub trait LocalObject: Send + Sync + 'static {
    /// The dotted type name sent as the `name_pack` of the object's id (e.g. `"calc.Counter"`).
    fn type_name(&self) -> &str;

    /// Real names of the object's methods when they are a fixed list (`&["__iter__",
    /// "__next__"]`): then `member_names` and `get_member` need no code of their own. Default:
    /// none.
    fn methods(&self) -> &'static [&'static str] {
        &[]
    }

    /// Real names of every member (`exposed_add`, `value`, `__len__`, …). Default: `methods`.
    fn member_names(&self) -> Vec<String> {
        self.methods().iter().map(|m| m.to_string()).collect()
    }

    /// True if the object has a member with this real name. Used by the access policy on every
    /// access. Default: builds `member_names` and scans it; override it when that list is not
    /// cheap (the macros and `Dispatcher` do).
    fn has_member(&self, name: &str) -> bool {
        self.member_names().iter().any(|n| n == name)
    }

    /// Looks up a member by its real name (after the policy mapped it). Default: a method if
    /// `methods` lists it, else none.
    fn get_member(&self, name: &str) -> Option<Member> {
        self.methods().contains(&name).then_some(Member::Method)
    }

    /// The `method` label of a call of this object in metrics, if it is a method bound to an
    /// object (what GETATTR of a method returns). Default: none.
    fn method_label(&self) -> Option<&str> {
        None
    }

    /// Calls the method member `name` (a real name for which `get_member` returned
    /// [`Member::Method`]).
    fn call_method(
        self: Arc<Self>,
        name: &str,
        ctx: CallContext,
        args: Args,
    ) -> BoxFuture<CallResult> {
        let _ = (ctx, args);
        let err = RemoteException::no_attribute(self.type_name(), name);
        Box::pin(async move { Err(err) })
    }

    /// Calls the object itself (HANDLE_CALL). Default: `TypeError: object is not callable`.
    fn call(self: Arc<Self>, ctx: CallContext, args: Args) -> BoxFuture<CallResult> {
        let _ = (ctx, args);
        let err =
            RemoteException::type_error(format!("'{}' object is not callable", self.type_name()));
        Box::pin(async move { Err(err) })
    }

    /// True if [`LocalObject::call`] is implemented (adds `__call__` to INSPECT answers).
    fn is_callable(&self) -> bool {
        false
    }

    /// Sets a member after the policy allowed it. Default: `AttributeError`.
    fn set_member(&self, name: &str, value: Value) -> Result<(), RemoteException> {
        let _ = value;
        Err(RemoteException::attribute_error(format!(
            "can't set attribute '{}'",
            rpyc_core::vinegar::echoed_name(name)
        )))
    }

    /// Deletes a member after the policy allowed it. Default: `AttributeError`.
    fn del_member(&self, name: &str) -> Result<(), RemoteException> {
        Err(RemoteException::attribute_error(format!(
            "can't delete attribute '{}'",
            rpyc_core::vinegar::echoed_name(name)
        )))
    }

    /// Like RPyC's `_rpyc_getattr`: when it returns `Some`, it replaces the policy check and
    /// the lookup entirely (so it bypasses every config switch). Default `None`.
    fn rpyc_getattr(&self, name: &str) -> Option<Result<Member, RemoteException>> {
        let _ = name;
        None
    }

    /// Like RPyC's `_rpyc_setattr`: when it returns `Some`, it replaces the policy check and
    /// [`LocalObject::set_member`]. Default `None`.
    fn rpyc_setattr(&self, name: &str, value: &Value) -> Option<Result<(), RemoteException>> {
        let _ = (name, value);
        None
    }

    /// Like RPyC's `_rpyc_delattr`. Default `None`.
    fn rpyc_delattr(&self, name: &str) -> Option<Result<(), RemoteException>> {
        let _ = name;
        None
    }

    /// `repr(obj)` as the peer sees it.
    fn repr(&self) -> String {
        format!("<{} object>", self.type_name())
    }

    /// `str(obj)` as the peer sees it (defaults to the repr).
    fn str(&self) -> String {
        self.repr()
    }

    /// `hash(obj)`; `None` uses the object's identity.
    fn hash(&self) -> Option<i64> {
        None
    }

    /// The methods listed in INSPECT answers: Python builds its proxy class from them, so every
    /// protocol dunder the object supports (`__len__`, `__getitem__`, `__iter__`, `__next__`,
    /// `__contains__`, …) must be here. Default: the member names that are dunder methods.
    fn protocol_methods(&self) -> Vec<String> {
        self.member_names()
            .into_iter()
            .filter(|n| {
                n.starts_with("__")
                    && n.ends_with("__")
                    && matches!(self.get_member(n), Some(Member::Method))
            })
            .collect()
    }
}

/// A local object sent by reference: wrap any [`LocalObject`] to put it in a [`Value`].
///
/// Exporting the same `Arc` twice gives the peer the same reference (Python's `is` holds).
#[derive(Clone)]
pub struct Exported(pub(crate) Arc<dyn LocalObject>);

impl Exported {
    /// Wraps an object for sending by reference.
    pub fn new<T: LocalObject>(obj: T) -> Exported {
        Exported(Arc::new(obj))
    }

    /// Wraps a shared object (keeps its identity).
    pub fn from_arc(obj: Arc<dyn LocalObject>) -> Exported {
        Exported(obj)
    }

    /// The wrapped object.
    pub fn object(&self) -> &Arc<dyn LocalObject> {
        &self.0
    }

    /// The local object a value holds by reference, if it holds one.
    pub fn from_value_ref(v: &Value) -> Option<&Arc<dyn LocalObject>> {
        v.as_object()
            .and_then(|o| o.downcast_ref::<Exported>())
            .map(Exported::object)
    }
}

impl fmt::Debug for Exported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<local {}>", self.0.type_name())
    }
}

impl Opaque for Exported {
    fn type_name(&self) -> &str {
        self.0.type_name()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_arc(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl IntoValue for Exported {
    fn into_value(self) -> Value {
        Value::Object(Object(Arc::new(self)))
    }
}

/// Puts any object in a [`Value`], by reference.
pub fn export<T: LocalObject>(obj: T) -> Value {
    Exported::new(obj).into_value()
}

/// Puts a shared object in a [`Value`], by reference, keeping its identity.
pub fn export_arc(obj: Arc<dyn LocalObject>) -> Value {
    Exported(obj).into_value()
}

/// A method bound to its object, what GETATTR of a method returns (`builtins.method`).
pub(crate) struct BoundMethod {
    pub(crate) obj: Arc<dyn LocalObject>,
    pub(crate) name: String,
}

impl LocalObject for BoundMethod {
    fn type_name(&self) -> &str {
        "builtins.method"
    }
    fn call(self: Arc<Self>, ctx: CallContext, args: Args) -> BoxFuture<CallResult> {
        self.obj.clone().call_method(&self.name, ctx, args)
    }
    fn is_callable(&self) -> bool {
        true
    }
    fn method_label(&self) -> Option<&str> {
        Some(self.name.strip_prefix("exposed_").unwrap_or(&self.name))
    }
    fn repr(&self) -> String {
        let shown = self.name.strip_prefix("exposed_").unwrap_or(&self.name);
        format!(
            "<bound method {}.{} of {}>",
            self.obj.type_name(),
            shown,
            self.obj.repr()
        )
    }
}
