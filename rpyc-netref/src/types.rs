//! `isinstance` and types of remote objects, as Python's netref classes answer them.
//!
//! Python's RPyC gives every netref a class built from the remote object's id pack
//! `(name_pack, class_id, instance_id)`: its `__class__` is the *local* class of the same
//! qualified name when there is one (always for builtins), so `isinstance(netref, list)` is
//! decided locally, with no request. `isinstance(obj, cls)` where `cls` is itself a netref of a
//! remote class compares class ids and, when they differ, asks the class's owner
//! (HANDLE_INSTANCECHECK). This module gives a [`NetRef`] the same answers:
//!
//! * [`NetRef::is_instance_of`]: by qualified name, locally, with the subclass relations of
//!   Python's builtin types and exceptions ([`builtin_bases`]) — a Rust process has no Python
//!   modules, so another name matches only itself;
//! * [`NetRef::isinstance`]: against a remote class, as `BaseNetref.__instancecheck__` does;
//! * [`NetRef::class_id_pack`], [`NetRef::is_class`], [`NetRef::remote_type`]: what the id
//!   pack says of the type, and the remote class itself.

use rpyc_core::message::Handler;
use rpyc_core::{IdPack, IntoValue, RemoteException};

use crate::error::Result;
use crate::netref::NetRef;

/// Python 3's builtin types and exceptions and their direct bases, by unqualified name (all in
/// module `builtins`); `object` is the base of everything and is not listed.
const BUILTIN_BASES: &[(&str, &[&str])] = &[
    ("bool", &["int"]),
    ("BaseException", &[]),
    ("BaseExceptionGroup", &["BaseException"]),
    ("GeneratorExit", &["BaseException"]),
    ("KeyboardInterrupt", &["BaseException"]),
    ("SystemExit", &["BaseException"]),
    ("Exception", &["BaseException"]),
    ("ExceptionGroup", &["BaseExceptionGroup", "Exception"]),
    ("ArithmeticError", &["Exception"]),
    ("FloatingPointError", &["ArithmeticError"]),
    ("OverflowError", &["ArithmeticError"]),
    ("ZeroDivisionError", &["ArithmeticError"]),
    ("AssertionError", &["Exception"]),
    ("AttributeError", &["Exception"]),
    ("BufferError", &["Exception"]),
    ("EOFError", &["Exception"]),
    ("ImportError", &["Exception"]),
    ("ModuleNotFoundError", &["ImportError"]),
    ("LookupError", &["Exception"]),
    ("IndexError", &["LookupError"]),
    ("KeyError", &["LookupError"]),
    ("MemoryError", &["Exception"]),
    ("NameError", &["Exception"]),
    ("UnboundLocalError", &["NameError"]),
    ("OSError", &["Exception"]),
    ("BlockingIOError", &["OSError"]),
    ("ChildProcessError", &["OSError"]),
    ("ConnectionError", &["OSError"]),
    ("BrokenPipeError", &["ConnectionError"]),
    ("ConnectionAbortedError", &["ConnectionError"]),
    ("ConnectionRefusedError", &["ConnectionError"]),
    ("ConnectionResetError", &["ConnectionError"]),
    ("FileExistsError", &["OSError"]),
    ("FileNotFoundError", &["OSError"]),
    ("InterruptedError", &["OSError"]),
    ("IsADirectoryError", &["OSError"]),
    ("NotADirectoryError", &["OSError"]),
    ("PermissionError", &["OSError"]),
    ("ProcessLookupError", &["OSError"]),
    ("TimeoutError", &["OSError"]),
    ("ReferenceError", &["Exception"]),
    ("RuntimeError", &["Exception"]),
    ("NotImplementedError", &["RuntimeError"]),
    ("RecursionError", &["RuntimeError"]),
    ("StopAsyncIteration", &["Exception"]),
    ("StopIteration", &["Exception"]),
    ("SyntaxError", &["Exception"]),
    ("IndentationError", &["SyntaxError"]),
    ("TabError", &["IndentationError"]),
    ("SystemError", &["Exception"]),
    ("TypeError", &["Exception"]),
    ("ValueError", &["Exception"]),
    ("UnicodeError", &["ValueError"]),
    ("UnicodeDecodeError", &["UnicodeError"]),
    ("UnicodeEncodeError", &["UnicodeError"]),
    ("UnicodeTranslateError", &["UnicodeError"]),
    ("Warning", &["Exception"]),
    ("BytesWarning", &["Warning"]),
    ("DeprecationWarning", &["Warning"]),
    ("EncodingWarning", &["Warning"]),
    ("FutureWarning", &["Warning"]),
    ("ImportWarning", &["Warning"]),
    ("PendingDeprecationWarning", &["Warning"]),
    ("ResourceWarning", &["Warning"]),
    ("RuntimeWarning", &["Warning"]),
    ("SyntaxWarning", &["Warning"]),
    ("UnicodeWarning", &["Warning"]),
    ("UserWarning", &["Warning"]),
    ("object", &[]),
    ("type", &[]),
    ("int", &[]),
    ("float", &[]),
    ("complex", &[]),
    ("str", &[]),
    ("bytes", &[]),
    ("bytearray", &[]),
    ("list", &[]),
    ("tuple", &[]),
    ("dict", &[]),
    ("set", &[]),
    ("frozenset", &[]),
    ("slice", &[]),
    ("range", &[]),
    ("memoryview", &[]),
    ("NoneType", &[]),
    ("function", &[]),
    ("builtin_function_or_method", &[]),
    ("method", &[]),
    ("generator", &[]),
    ("module", &[]),
];

/// The direct bases of builtin type `name` (`"KeyError"` or `"builtins.KeyError"`), or `None`
/// when `name` is not one of Python's builtin types and exceptions this module knows.
///
/// ```
/// assert_eq!(rpyc::types::builtin_bases("builtins.KeyError"), Some(&["LookupError"][..]));
/// assert_eq!(rpyc::types::builtin_bases("bool"), Some(&["int"][..]));
/// assert_eq!(rpyc::types::builtin_bases("mymodule.Thing"), None);
/// ```
pub fn builtin_bases(name: &str) -> Option<&'static [&'static str]> {
    let short = name.strip_prefix("builtins.").unwrap_or(name);
    BUILTIN_BASES
        .iter()
        .find(|(n, _)| *n == short)
        .map(|(_, bases)| *bases)
}

/// `name` without a leading `builtins.`.
fn short(name: &str) -> &str {
    name.strip_prefix("builtins.").unwrap_or(name)
}

/// Whether the type named `type_name` is `wanted` or a subclass of it, from the names alone:
/// the builtin hierarchy above, exact names for the rest, `object` for everything.
pub(crate) fn is_subclass_by_name(type_name: &str, wanted: &str) -> bool {
    let wanted = short(wanted);
    if wanted == "object" {
        return true;
    }
    let mut todo = vec![short(type_name)];
    // The table has no cycles; the bound is a guard, not a limit that matters.
    for _ in 0..64 {
        let Some(name) = todo.pop() else { break };
        if name == wanted {
            return true;
        }
        if let Some(bases) = builtin_bases(name) {
            todo.extend(bases.iter().copied());
        }
    }
    false
}

impl NetRef {
    /// Whether the remote object is a class (its id pack's instance id is 0), as Python's
    /// netrefs tell classes from instances.
    pub fn is_class(&self) -> bool {
        self.id_pack().instance_id == 0
    }

    /// The id pack of the object's class, `(name_pack, class_id, 0)`, as RPyC builds it to
    /// look up a netref class. For a class, its own id pack.
    pub fn class_id_pack(&self) -> IdPack {
        let id = self.id_pack();
        IdPack::new(id.name_pack.clone(), id.class_id, 0)
    }

    /// Python's `isinstance(obj, T)` for a local type `T` given by qualified name (`"list"`,
    /// `"builtins.KeyError"`, `"mymodule.Thing"`), decided locally with no request, as
    /// Python's netref classes decide it through their local `__class__`: the object's type
    /// name is `T` or, for builtins, a subclass of it (`bool` is an `int`, `KeyError` a
    /// `LookupError`, everything an `object`). Another name matches only itself: a Rust
    /// process has no Python modules to resolve it in.
    ///
    /// A class is an instance of `type` and `object` only. (Python's own netref answers
    /// `isinstance(remote_list_class, list)` with `True`, because a class's id pack carries
    /// the class's own name; this method does not repeat that.)
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let (client, _server) = rpyc::connect_pair_with(rpyc::testing::EchoService, Default::default()).await;
    /// let root = client.root().await.unwrap();
    /// assert!(root.is_instance_of("object"));
    /// assert!(!root.is_instance_of("builtins.list"));
    /// assert!(root.is_instance_of(root.type_name()));
    /// # });
    /// ```
    pub fn is_instance_of(&self, type_name: &str) -> bool {
        if self.is_class() {
            return matches!(short(type_name), "type" | "object");
        }
        is_subclass_by_name(self.type_name(), type_name)
    }

    /// Python's `isinstance(obj, class)` where `class` is a remote class (a netref of the same
    /// connection), as `BaseNetref.__instancecheck__` decides it: a `class` that is not a class
    /// is a `TypeError`; the same class id answers at once (an instance is one, a class is
    /// not); otherwise the class's owner is asked (HANDLE_INSTANCECHECK with this object's id
    /// pack). A Python peer answers from the name for its builtins (`bool` is an `int`) and
    /// `False` for the rest; rpyc-rs answers `False`.
    ///
    /// ```no_run
    /// # async fn demo() -> rpyc::Result<()> {
    /// // A classic Python server: its `int` class, and a remote `True`.
    /// let conn = rpyc::connect("127.0.0.1:18812").await?;
    /// let root = conn.root().await?;
    /// let int: rpyc::NetRef = root.call_method("eval", ("int",)).await?.extract()?;
    /// let n: rpyc::NetRef = root.call_method("eval", ("[1]",)).await?.extract()?;
    /// assert!(!n.isinstance(&int).await?);
    /// # Ok(()) }
    /// ```
    pub async fn isinstance(&self, class: &NetRef) -> Result<bool> {
        if !class.is_class() {
            return Err(RemoteException::type_error(
                "isinstance() arg 2 must be a class, type, or tuple of classes and types",
            )
            .into());
        }
        if class.id_pack().class_id == self.id_pack().class_id {
            return Ok(!self.is_class());
        }
        let answer = class
            .request(
                Handler::InstanceCheck,
                vec![class.into_value(), self.id_pack().to_value()],
            )
            .await?;
        Ok(answer.is_truthy())
    }

    /// The object's class as a reference (`obj.__class__`, HANDLE_GETATTR). The peer must let
    /// `__class__` be read: a classic server does (all attributes allowed); a default-config
    /// Python service does not (`__class__` is not a safe attribute) and answers
    /// `AttributeError`. [`NetRef::type_name`] and [`NetRef::class_id_pack`] need no request.
    pub async fn remote_type(&self) -> Result<NetRef> {
        Ok(self.getattr("__class__").await?.extract()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subclasses_by_name() {
        assert!(is_subclass_by_name("builtins.bool", "int"));
        assert!(is_subclass_by_name("builtins.bool", "builtins.object"));
        assert!(is_subclass_by_name(
            "builtins.ConnectionResetError",
            "OSError"
        ));
        assert!(is_subclass_by_name("builtins.ExceptionGroup", "Exception"));
        assert!(is_subclass_by_name("mod.Thing", "mod.Thing"));
        assert!(!is_subclass_by_name("mod.Thing", "Thing"));
        assert!(!is_subclass_by_name("builtins.int", "bool"));
        assert!(!is_subclass_by_name("builtins.KeyError", "ValueError"));
    }
}
