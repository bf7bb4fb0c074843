//! The service a classic client offers the server: Python's `FakeSlaveService`, answered by a
//! Rust process that has no Python interpreter to hand out.
//!
//! A classic server that also runs RPyC's `MasterService` (`rpyc_classic.py` over stdio serves
//! `ClassicService`, which is both) reads four attributes of the client's root while the
//! connection starts: `getmodule`, `eval`, `execute` and `namespace`. A plain `VoidService`
//! client has none of them, so such a server fails in `on_connect` and closes the connection.
//! [`ClassicClientService`] has exactly those four and nothing else: `getmodule(name)` returns a
//! placeholder that refuses every attribute (never a real module), and `eval`, `execute` and
//! `namespace` read as `None`, as in Python's `FakeSlaveService`. Python's own
//! `rpyc.classic.connect` serves the whole client interpreter instead (`ClassicService`); a
//! Rust client never does.

use std::sync::Arc;

use rpyc_core::{RemoteException, Value};

use crate::object::{export, Args, BoxFuture, CallContext, CallResult, LocalObject, Member};
use crate::service::Service;

/// `getmodule`: a method answering a placeholder.
const GETMODULE: &str = "exposed_getmodule";
/// The members that read as `None`.
const NONE_MEMBERS: [&str; 3] = ["exposed_eval", "exposed_execute", "exposed_namespace"];

/// The client-side service of a classic connection (Python's `ClassicClient`, minus the
/// `MasterService` half, which lives in [`super::ClassicConnection`]).
///
/// It exposes four members and nothing else: `getmodule(name)` answers a placeholder object
/// that refuses every attribute (`AttributeError`), and `eval`, `execute` and `namespace` are
/// `None`. A classic server that installs `MasterService` on its side (as `rpyc_classic.py`
/// does over stdio) reads them while connecting and gets nothing it can use; a `SlaveService`
/// over TCP never asks. The connect functions of [`crate::classic`] serve it; use it with
/// [`crate::connect_with`] to build a classic connection by hand.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use rpyc::{classic::ClassicClientService, Config, NetRef, Value};
/// // What a server sees of a Rust classic client: the server's side of an in-process pair.
/// let (server_side, _client) = rpyc::connect_pair_with(ClassicClientService, Config::default()).await;
/// let client_root = server_side.root().await?;
/// assert_eq!(client_root.getattr("eval").await?, Value::None);
/// let os: NetRef = client_root.call_method("getmodule", ("os",)).await?.extract()?;
/// assert!(os.getattr("system").await.unwrap_err().is_remote("AttributeError"));
/// # Ok::<(), rpyc::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassicClientService;

impl LocalObject for ClassicClientService {
    fn type_name(&self) -> &str {
        "rpyc_rs.ClassicClient"
    }

    fn member_names(&self) -> Vec<String> {
        std::iter::once(GETMODULE)
            .chain(NONE_MEMBERS)
            .map(String::from)
            .collect()
    }

    fn has_member(&self, name: &str) -> bool {
        name == GETMODULE || NONE_MEMBERS.contains(&name)
    }

    fn get_member(&self, name: &str) -> Option<Member> {
        if name == GETMODULE {
            Some(Member::Method)
        } else if NONE_MEMBERS.contains(&name) {
            Some(Member::Value(Value::None))
        } else {
            None
        }
    }

    fn call_method(
        self: Arc<Self>,
        name: &str,
        _ctx: CallContext,
        args: Args,
    ) -> BoxFuture<CallResult> {
        let r = if name == GETMODULE {
            getmodule(args)
        } else {
            Err(RemoteException::no_attribute(self.type_name(), name))
        };
        Box::pin(async move { r })
    }
}

impl Service for ClassicClientService {}

/// `getmodule(name)`: one placeholder per call. Python passes a dotted name or a tuple of parts.
fn getmodule(mut args: Args) -> CallResult {
    let arg: Value = args.take(0, "name")?;
    args.check_no_extra(1, "getmodule")?;
    let name = match arg {
        Value::Str(s) => s,
        Value::Tuple(parts) => parts
            .iter()
            .map(|p| match p {
                Value::Str(s) => s.as_str(),
                other => other.type_name(),
            })
            .collect::<Vec<_>>()
            .join("."),
        other => {
            return Err(RemoteException::type_error(format!(
                "getmodule() expects a module name, not {}",
                other.type_name()
            )))
        }
    };
    let name = rpyc_core::vinegar::echoed_name(&name).into_owned();
    Ok(export(RefusedModule { name }))
}

/// What `getmodule` answers: stands for a module the client does not serve; every attribute
/// read, write or delete is an `AttributeError`.
struct RefusedModule {
    name: String,
}

impl RefusedModule {
    fn refusal(&self, name: &str) -> RemoteException {
        RemoteException::attribute_error(format!(
            "a Rust classic client serves no modules: {:?} has no attribute {:?}",
            self.name,
            rpyc_core::vinegar::echoed_name(name)
        ))
    }
}

impl LocalObject for RefusedModule {
    fn type_name(&self) -> &str {
        "rpyc_rs.RefusedModule"
    }
    fn rpyc_getattr(&self, name: &str) -> Option<Result<Member, RemoteException>> {
        Some(Err(self.refusal(name)))
    }
    fn rpyc_setattr(&self, name: &str, _value: &Value) -> Option<Result<(), RemoteException>> {
        Some(Err(self.refusal(name)))
    }
    fn rpyc_delattr(&self, name: &str) -> Option<Result<(), RemoteException>> {
        Some(Err(self.refusal(name)))
    }
    fn repr(&self) -> String {
        format!(
            "<placeholder for module {:?}: a Rust classic client serves no modules>",
            self.name
        )
    }
}
