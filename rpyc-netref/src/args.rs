//! The arguments of a call as the receiver gets them: [`Args`] (positional values and keyword
//! pairs, taken by parameter and converted), [`Rest`] (Python's `*args`) and [`IntoArgs`] (what
//! a caller may pass: tuples, `()`, `Vec<Value>`, `Args`).

use rpyc_core::{FromValue, IntoValue, RemoteException, Value};

/// Arguments of a call: positional values and keyword pairs.
///
/// ```
/// use rpyc::Args;
/// use rpyc::Value;
/// let mut a = Args::from((1i64, "x")).kwarg("by", 5i64);
/// assert_eq!(a.take::<i64>(0, "n").unwrap(), 1);
/// assert_eq!(a.take::<i64>(5, "by").unwrap(), 5); // found by keyword
/// assert_eq!(a.take::<Option<i64>>(7, "missing").unwrap(), None);
/// assert!(a.take::<i64>(8, "required").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    /// Positional arguments.
    pub pos: Vec<Value>,
    /// Keyword arguments, in the order given.
    pub kw: Vec<(String, Value)>,
}

impl Args {
    /// No arguments.
    pub fn new() -> Self {
        Args::default()
    }

    /// Adds a positional argument.
    pub fn arg(mut self, v: impl IntoValue) -> Self {
        self.pos.push(v.into_value());
        self
    }

    /// Adds a keyword argument.
    pub fn kwarg(mut self, name: impl Into<String>, v: impl IntoValue) -> Self {
        self.kw.push((name.into(), v.into_value()));
        self
    }

    /// Takes argument `name` (by keyword) or else the positional argument at `index`, converted
    /// to `T`. A missing argument is `None` for `Option<T>` and a `TypeError` otherwise; a
    /// wrong type is a `TypeError` naming the argument, the expected and the actual type.
    pub fn take<T: FromValue>(&mut self, index: usize, name: &str) -> Result<T, RemoteException> {
        let v = if let Some(p) = self.kw.iter().position(|(k, _)| k == name) {
            if index < self.pos.len() {
                return Err(RemoteException::type_error(format!(
                    "got multiple values for argument '{name}'"
                )));
            }
            Some(self.kw.remove(p).1)
        } else if index < self.pos.len() {
            Some(std::mem::take(&mut self.pos[index]))
        } else {
            None
        };
        match v {
            Some(v) => T::from_value(v)
                .map_err(|e| RemoteException::type_error(format!("argument '{name}': {e}"))),
            None => T::from_missing().ok_or_else(|| {
                RemoteException::type_error(format!("missing required argument: '{name}'"))
            }),
        }
    }

    /// Takes every positional argument from `index` on (Python's `*args`).
    pub fn rest(&mut self, index: usize) -> Vec<Value> {
        if index < self.pos.len() {
            self.pos.split_off(index)
        } else {
            Vec::new()
        }
    }

    /// Number of positional arguments.
    pub fn len(&self) -> usize {
        self.pos.len()
    }

    /// True when there are no arguments at all.
    pub fn is_empty(&self) -> bool {
        self.pos.is_empty() && self.kw.is_empty()
    }

    /// Fails with `TypeError` if more than `max` positional arguments were given or keywords
    /// remain that no parameter took (call after taking every parameter).
    pub fn check_no_extra(&self, max: usize, func: &str) -> Result<(), RemoteException> {
        if self.pos.len() > max {
            return Err(RemoteException::type_error(format!(
                "{func}() takes {max} positional arguments but {} were given",
                self.pos.len()
            )));
        }
        if let Some((k, _)) = self.kw.first() {
            return Err(RemoteException::type_error(format!(
                "{func}() got an unexpected keyword argument '{k}'"
            )));
        }
        Ok(())
    }
}

/// The remaining positional arguments, Python's `*args`.
///
/// A method parameter of this type (in `#[rpyc::object]` / `#[rpyc::service]` impls) receives
/// every positional argument after the regular parameters, so extra positional arguments are
/// not an error. It dereferences to the `Vec<Value>` it wraps.
///
/// ```
/// use rpyc::{Args, Rest};
/// let mut a = Args::from((1i64, 2i64, 3i64));
/// let first: i64 = a.take(0, "first").unwrap();
/// let rest = Rest(a.rest(1));
/// assert_eq!(first, 1);
/// assert_eq!(rest.len(), 2);
/// assert_eq!(rest.into_vec().len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rest(pub Vec<Value>);

impl Rest {
    /// The arguments, as a vector.
    pub fn into_vec(self) -> Vec<Value> {
        self.0
    }
}

impl std::ops::Deref for Rest {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.0
    }
}

/// Conversion of call arguments: tuples of values, `()`, `Vec<Value>` or [`Args`].
pub trait IntoArgs {
    /// Performs the conversion.
    fn into_args(self) -> Args;
}

impl IntoArgs for Args {
    fn into_args(self) -> Args {
        self
    }
}

impl IntoArgs for Vec<Value> {
    fn into_args(self) -> Args {
        Args {
            pos: self,
            kw: Vec::new(),
        }
    }
}

impl IntoArgs for () {
    fn into_args(self) -> Args {
        Args::default()
    }
}

macro_rules! tuple_args {
    ($( ($($n:tt $t:ident),+) ),* $(,)?) => {
        $(
            impl<$($t: IntoValue),+> IntoArgs for ($($t,)+) {
                fn into_args(self) -> Args {
                    Args { pos: vec![$(self.$n.into_value()),+], kw: Vec::new() }
                }
            }
            impl<$($t: IntoValue),+> From<($($t,)+)> for Args {
                fn from(t: ($($t,)+)) -> Args {
                    t.into_args()
                }
            }
        )*
    };
}
tuple_args! {
    (0 A),
    (0 A, 1 B),
    (0 A, 1 B, 2 C),
    (0 A, 1 B, 2 C, 3 D),
    (0 A, 1 B, 2 C, 3 D, 4 E),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G),
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H),
}
