//! vinegar: exceptions on the wire.
//!
//! An EXCEPTION body is the int `1` (StopIteration), a legacy `str`, or the 4-tuple
//! `((module, class), args, attrs, traceback_text)`. Python rebuilds builtin classes
//! (`("builtins", "ValueError")` raises a real `ValueError`) and turns anything else into a
//! `GenericException` subclass named `module.class`.
//!
//! ```
//! use rpyc::core::vinegar::RemoteException;
//! let e = RemoteException::value_error("bad value");
//! assert_eq!(e.to_string(), "ValueError: bad value");
//! assert!(e.is("ValueError"));
//! ```

use std::fmt;

use crate::brine;
use crate::convert::FromValue;
use crate::error::{EncodeError, ProtocolError};
use crate::value::Value;

/// The int payload meaning StopIteration.
pub const EXC_STOP_ITERATION: i64 = 1;

/// How many characters of a name sent by the peer an error message repeats (then `…`).
pub const MAX_ECHOED_NAME: usize = 100;

/// `name` as an error message repeats it: whole up to [`MAX_ECHOED_NAME`] characters, else
/// its first [`MAX_ECHOED_NAME`] characters and `…`. Errors that quote a name the peer chose
/// (an unknown or refused attribute) use it, so the answer stays short whatever was asked.
///
/// ```
/// use rpyc::core::vinegar::{echoed_name, MAX_ECHOED_NAME};
/// assert_eq!(echoed_name("add"), "add");
/// let long = "é".repeat(1000);
/// let shown = echoed_name(&long);
/// assert_eq!(shown.chars().count(), MAX_ECHOED_NAME + 1);
/// assert!(shown.ends_with('…'));
/// ```
pub fn echoed_name(name: &str) -> std::borrow::Cow<'_, str> {
    match name.char_indices().nth(MAX_ECHOED_NAME) {
        None => std::borrow::Cow::Borrowed(name),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &name[..cut])),
    }
}

/// A decoded EXCEPTION body.
#[derive(Debug, Clone, PartialEq)]
pub enum ExceptionPayload {
    /// The int `1`: iteration ended.
    StopIteration,
    /// A legacy string exception.
    Legacy(String),
    /// A full exception.
    Exception(RemoteException),
}

impl ExceptionPayload {
    /// The brine value of the payload.
    pub fn to_value(&self) -> Value {
        match self {
            ExceptionPayload::StopIteration => Value::Int(EXC_STOP_ITERATION),
            ExceptionPayload::Legacy(s) => Value::Str(s.clone()),
            ExceptionPayload::Exception(e) => e.to_value(),
        }
    }

    /// Appends the brine encoding of the payload: the bytes of `brine::encode(&self.to_value())`
    /// without building that value.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            ExceptionPayload::StopIteration => {
                brine::encode_i64(EXC_STOP_ITERATION, out);
                Ok(())
            }
            ExceptionPayload::Legacy(s) => brine::encode_str(s, out),
            ExceptionPayload::Exception(e) => e.encode(out),
        }
    }

    /// Parses a payload.
    pub fn from_value(v: Value) -> Result<ExceptionPayload, ProtocolError> {
        match v {
            Value::Int(EXC_STOP_ITERATION) => Ok(ExceptionPayload::StopIteration),
            Value::Str(s) => Ok(ExceptionPayload::Legacy(s)),
            other => RemoteException::from_value(other).map(ExceptionPayload::Exception),
        }
    }

    /// The payload as an exception (StopIteration and legacy strings become full exceptions).
    pub fn into_exception(self) -> RemoteException {
        match self {
            ExceptionPayload::StopIteration => RemoteException::stop_iteration(),
            ExceptionPayload::Legacy(s) => RemoteException::new("builtins", "Exception", s),
            ExceptionPayload::Exception(e) => e,
        }
    }
}

impl From<RemoteException> for ExceptionPayload {
    fn from(e: RemoteException) -> Self {
        if e.module == "builtins" && e.class == "StopIteration" && e.args.is_empty() {
            ExceptionPayload::StopIteration
        } else {
            ExceptionPayload::Exception(e)
        }
    }
}

/// An exception as it travels: its class, arguments, extra attributes and traceback text.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteException {
    /// Module of the exception class (`"builtins"` for Python's builtin exceptions).
    pub module: String,
    /// Name of the exception class (`"ValueError"`).
    pub class: String,
    /// `exc.args`.
    pub args: Vec<Value>,
    /// Extra attributes `(name, value)` (e.g. `errno`); shown as `e.name` in Python.
    pub attrs: Vec<(String, Value)>,
    /// The formatted traceback text of the raising side (or `"<traceback denied>"`).
    pub traceback: String,
}

macro_rules! builtin_ctors {
    ($($fn:ident => $name:literal),* $(,)?) => {
        $(
            #[doc = concat!("A builtin `", $name, "` with one message argument.")]
            pub fn $fn(msg: impl Into<String>) -> Self {
                Self::builtin($name, msg)
            }
        )*
    };
}

impl RemoteException {
    /// An exception of `module.class` with one string argument.
    pub fn new(
        module: impl Into<String>,
        class: impl Into<String>,
        msg: impl Into<String>,
    ) -> Self {
        RemoteException {
            module: module.into(),
            class: class.into(),
            args: vec![Value::Str(msg.into())],
            attrs: Vec::new(),
            traceback: String::new(),
        }
    }

    /// A builtin exception (`("builtins", class)`) with one string argument.
    pub fn builtin(class: &str, msg: impl Into<String>) -> Self {
        Self::new("builtins", class, msg)
    }

    builtin_ctors! {
        value_error => "ValueError",
        type_error => "TypeError",
        attribute_error => "AttributeError",
        index_error => "IndexError",
        runtime_error => "RuntimeError",
        zero_division_error => "ZeroDivisionError",
        not_implemented_error => "NotImplementedError",
        timeout_error => "TimeoutError",
        overflow_error => "OverflowError",
        permission_error => "PermissionError",
        connection_error => "ConnectionError",
        eof_error => "EOFError",
    }

    /// `KeyError(key)`: the key is the single argument (Python shows its repr).
    pub fn key_error(key: Value) -> Self {
        RemoteException {
            module: "builtins".into(),
            class: "KeyError".into(),
            args: vec![key],
            attrs: Vec::new(),
            traceback: String::new(),
        }
    }

    /// Python's `AttributeError` for a missing member:
    /// `'{type_name}' object has no attribute '{name}'`.
    ///
    /// The name comes from the peer, so it is echoed once (in the message; no `e.name`
    /// attribute repeats it) and cut to [`MAX_ECHOED_NAME`] characters: a 1 MiB name gets a
    /// short answer, not a long one.
    ///
    /// ```
    /// use rpyc::core::vinegar::RemoteException;
    /// let e = RemoteException::no_attribute("Root", "nope");
    /// assert_eq!(e.to_string(), "AttributeError: 'Root' object has no attribute 'nope'");
    /// let long = "x".repeat(1 << 20);
    /// assert!(RemoteException::no_attribute("Root", &long).message().len() < 200);
    /// ```
    pub fn no_attribute(type_name: &str, name: &str) -> Self {
        Self::attribute_error(format!(
            "'{type_name}' object has no attribute '{}'",
            echoed_name(name)
        ))
    }

    /// `StopIteration()`.
    pub fn stop_iteration() -> Self {
        RemoteException {
            module: "builtins".into(),
            class: "StopIteration".into(),
            args: Vec::new(),
            attrs: Vec::new(),
            traceback: String::new(),
        }
    }

    /// Sets the arguments.
    pub fn with_args(mut self, args: Vec<Value>) -> Self {
        self.args = args;
        self
    }

    /// Adds an attribute (`e.name` on the Python side).
    pub fn with_attr(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attrs.push((name.into(), value.into()));
        self
    }

    /// Sets the traceback text.
    pub fn with_traceback(mut self, tb: impl Into<String>) -> Self {
        self.traceback = tb.into();
        self
    }

    /// True if the class name is `class` (any module), e.g. `e.is("KeyError")`.
    pub fn is(&self, class: &str) -> bool {
        self.class == class
    }

    /// `"module.class"` (just `"class"` for builtins).
    pub fn type_name(&self) -> String {
        if self.module == "builtins" {
            self.class.clone()
        } else {
            format!("{}.{}", self.module, self.class)
        }
    }

    /// The message: the first argument as text (what Python's `str(e)` usually shows).
    pub fn message(&self) -> String {
        match self.args.as_slice() {
            [] => String::new(),
            [Value::Str(s)] => s.clone(),
            [one] => one.repr(),
            many => Value::Tuple(many.to_vec()).repr(),
        }
    }

    /// The value of an attribute sent with the exception.
    pub fn attr(&self, name: &str) -> Option<&Value> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The brine value of the 4-tuple payload; args and attr values that cannot travel by value
    /// are replaced by their `repr`, as Python does.
    pub fn to_value(&self) -> Value {
        let dumpable = |v: &Value| {
            if v.is_dumpable() {
                v.clone()
            } else {
                Value::Str(v.repr())
            }
        };
        Value::Tuple(vec![
            Value::Tuple(vec![
                Value::Str(self.module.clone()),
                Value::Str(self.class.clone()),
            ]),
            Value::Tuple(self.args.iter().map(dumpable).collect()),
            Value::Tuple(
                self.attrs
                    .iter()
                    .map(|(n, v)| Value::Tuple(vec![Value::Str(n.clone()), dumpable(v)]))
                    .collect(),
            ),
            Value::Str(self.traceback.clone()),
        ])
    }

    /// Appends the brine encoding of the 4-tuple payload: the bytes of
    /// `brine::encode(&self.to_value())` without building (and cloning into) that value.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let dumpable = |v: &Value, out: &mut Vec<u8>| {
            if v.is_dumpable() {
                brine::encode(v, out)
            } else {
                brine::encode_str(&v.repr(), out)
            }
        };
        brine::encode_tuple_header(4, out)?;
        brine::encode_tuple_header(2, out)?;
        brine::encode_str(&self.module, out)?;
        brine::encode_str(&self.class, out)?;
        brine::encode_tuple_header(self.args.len(), out)?;
        for a in &self.args {
            dumpable(a, out)?;
        }
        brine::encode_tuple_header(self.attrs.len(), out)?;
        for (n, v) in &self.attrs {
            brine::encode_tuple_header(2, out)?;
            brine::encode_str(n, out)?;
            dumpable(v, out)?;
        }
        brine::encode_str(&self.traceback, out)
    }

    /// Parses the 4-tuple payload.
    pub fn from_value(v: Value) -> Result<RemoteException, ProtocolError> {
        let bad =
            |what: &str| ProtocolError::Malformed(format!("invalid exception payload: {what}"));
        let Value::Tuple(t) = v else {
            return Err(bad("not a tuple"));
        };
        let [names, args, attrs, tb]: [Value; 4] =
            t.try_into().map_err(|_| bad("expected 4 items"))?;
        let (module, class) = <(String, String)>::from_value(names)
            .map_err(|e| bad(&format!("expected (module, class) strs: {e}")))?;
        let Value::Tuple(args) = args else {
            return Err(bad("args must be a tuple"));
        };
        let attrs = Vec::<(String, Value)>::from_value(attrs)
            .map_err(|e| bad(&format!("attrs must be (name, value) pairs: {e}")))?;
        let traceback = match tb {
            Value::Str(s) => s,
            Value::None => String::new(),
            _ => return Err(bad("traceback must be str")),
        };
        Ok(RemoteException {
            module,
            class,
            args,
            attrs,
            traceback,
        })
    }
}

impl fmt::Display for RemoteException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = self.message();
        if msg.is_empty() {
            write!(f, "{}", self.type_name())
        } else {
            write!(f, "{}: {}", self.type_name(), msg)
        }
    }
}

impl std::error::Error for RemoteException {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_captured_payload_parses() {
        // §11.3: what a real Python server sends for ValueError("bad value").
        let v = Value::Tuple(vec![
            Value::Tuple(vec![Value::str("builtins"), Value::str("ValueError")]),
            Value::Tuple(vec![Value::str("bad value")]),
            Value::Tuple(vec![
                Value::Tuple(vec![
                    Value::str("add_note"),
                    Value::str("<built-in method add_note>"),
                ]),
                Value::Tuple(vec![Value::str("_remote_version"), Value::str("6.0.2")]),
            ]),
            Value::str("<traceback denied>"),
        ]);
        let e = ExceptionPayload::from_value(v.clone())
            .unwrap()
            .into_exception();
        assert!(e.is("ValueError"));
        assert_eq!(e.message(), "bad value");
        assert_eq!(e.attr("_remote_version"), Some(&Value::str("6.0.2")));
        assert_eq!(e.to_value(), v);
        assert_eq!(e.to_string(), "ValueError: bad value");
    }

    #[test]
    fn stop_iteration_shortcut() {
        assert_eq!(
            ExceptionPayload::from_value(Value::Int(1)).unwrap(),
            ExceptionPayload::StopIteration
        );
        assert_eq!(
            ExceptionPayload::from(RemoteException::stop_iteration()).to_value(),
            Value::Int(1)
        );
    }

    #[test]
    fn custom_exception_with_attrs() {
        let e = RemoteException::new("rustpeer.errors", "QuotaExceeded", "limit 5")
            .with_attr("code", 42i64);
        assert_eq!(e.to_string(), "rustpeer.errors.QuotaExceeded: limit 5");
        let back = RemoteException::from_value(e.to_value()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn no_attribute_matches_python() {
        let e = RemoteException::no_attribute("Root", "missing");
        assert!(e.is("AttributeError"));
        assert_eq!(e.module, "builtins");
        assert_eq!(e.message(), "'Root' object has no attribute 'missing'");
        assert!(e.attrs.is_empty());
        assert_eq!(RemoteException::from_value(e.to_value()).unwrap(), e);
    }

    /// A 1 MiB name is echoed once, cut to `MAX_ECHOED_NAME` characters: the encoded
    /// exception stays small.
    #[test]
    fn no_attribute_echoes_a_long_name_once_and_short() {
        let long = format!("{}tail", "n".repeat(1 << 20));
        let e = RemoteException::no_attribute("Root", &long);
        let cut = format!("{}…", "n".repeat(MAX_ECHOED_NAME));
        assert_eq!(
            e.message(),
            format!("'Root' object has no attribute '{cut}'")
        );
        let mut bytes = Vec::new();
        e.encode(&mut bytes).unwrap();
        assert!(bytes.len() < 300, "{} bytes", bytes.len());
        assert_eq!(echoed_name("short"), "short");
        assert_eq!(
            echoed_name(&"a".repeat(MAX_ECHOED_NAME)),
            "a".repeat(MAX_ECHOED_NAME)
        );
    }

    /// The direct encoder writes exactly the bytes of encoding `to_value()`, also for args and
    /// attrs that travel as their repr and for long tuples.
    #[test]
    fn encode_matches_to_value() {
        #[derive(Debug)]
        struct Thing;
        impl crate::value::Opaque for Thing {
            fn type_name(&self) -> &str {
                "Thing"
            }
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
            fn as_any_arc(
                self: std::sync::Arc<Self>,
            ) -> std::sync::Arc<dyn std::any::Any + Send + Sync> {
                self
            }
        }
        let obj = || Value::Object(crate::value::Object::new(Thing));
        let payloads = [
            ExceptionPayload::StopIteration,
            ExceptionPayload::Legacy("old style".into()),
            ExceptionPayload::Exception(RemoteException::stop_iteration()),
            ExceptionPayload::Exception(
                RemoteException::new("rustpeer.errors", "QuotaExceeded", "limit 5")
                    .with_args((0..300).map(Value::Int).collect())
                    .with_attr("code", 42i64)
                    .with_attr("obj", obj())
                    .with_attr("nested", Value::Tuple(vec![Value::None, obj()]))
                    .with_traceback("Traceback (from rust peer):\n"),
            ),
            ExceptionPayload::Exception(
                RemoteException::value_error("x").with_args(vec![obj(), Value::bytes(&b"b"[..])]),
            ),
        ];
        for p in payloads {
            let mut direct = Vec::new();
            p.encode(&mut direct).unwrap();
            assert_eq!(direct, brine::dump(&p.to_value()).unwrap(), "{p:?}");
        }
    }

    #[test]
    fn malformed_payloads() {
        assert!(ExceptionPayload::from_value(Value::Int(7)).is_err());
        assert!(ExceptionPayload::from_value(Value::Tuple(vec![Value::None; 4])).is_err());
        let payload = |names: Value, attrs: Value| {
            Value::Tuple(vec![names, Value::Tuple(vec![]), attrs, Value::str("")])
        };
        let names = || Value::Tuple(vec![Value::str("builtins"), Value::str("ValueError")]);
        let bad_payloads = [
            payload(
                Value::Tuple(vec![Value::str("m"), Value::Int(1)]),
                Value::Tuple(vec![]),
            ),
            payload(Value::Tuple(vec![Value::str("m")]), Value::Tuple(vec![])),
            payload(names(), Value::None),
            payload(names(), Value::Tuple(vec![Value::Int(1)])),
            payload(
                names(),
                Value::Tuple(vec![Value::Tuple(vec![Value::Int(1), Value::None])]),
            ),
        ];
        for v in bad_payloads {
            assert!(
                matches!(
                    RemoteException::from_value(v.clone()),
                    Err(ProtocolError::Malformed(_))
                ),
                "{v:?}"
            );
        }
    }
}
