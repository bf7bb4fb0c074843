//! Python's dict views and iterators for maps that a Rust service hands out by reference.
//!
//! A Python client uses a by-reference map like a dict: `sorted(m.keys())`, `list(m.items())`,
//! `dict(m)`, `for k, v in m.items()`, `"a" in m.keys()`. [`DictView`] gives any map object
//! (anything whose `__iter__` yields its keys and whose `__getitem__` gives a value) `keys()`,
//! `values()` and `items()` that behave as Python's views: live (they see later changes),
//! iterable more than once, with `len` and `in`. [`ItemIterator`] is the iterator they return;
//! like every Python iterator, its `__iter__` returns itself.
//!
//! With the macros, `#[rpyc::object(mapping)]` adds the three views to a map type:
//!
//! ```
//! use std::sync::Mutex;
//! use rpyc::views::ItemIterator;
//! use rpyc::{RemoteException, Value};
//!
//! struct Settings(Mutex<Vec<(String, i64)>>);
//!
//! #[rpyc::object(mapping)]
//! impl Settings {
//!     #[exposed(name = "__getitem__")]
//!     fn get(&self, key: String) -> Result<i64, RemoteException> {
//!         let entries = self.0.lock().unwrap();
//!         let found = entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
//!         found.ok_or_else(|| RemoteException::key_error(Value::str(&key)))
//!     }
//!     #[exposed(name = "__iter__")]
//!     fn keys_iter(&self) -> ItemIterator {
//!         ItemIterator::new(self.0.lock().unwrap().iter().map(|(k, _)| Value::str(k)).collect())
//!     }
//!     #[exposed(name = "__len__")]
//!     fn len(&self) -> usize {
//!         self.0.lock().unwrap().len()
//!     }
//! }
//! ```

use std::sync::Arc;

use parking_lot::Mutex;
use rpyc_core::{RemoteException, Value};

use crate::fetch::{local_iterator, local_next_items};
use crate::object::{Args, CallContext, CallResult, LocalObject};

/// Which view of a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    /// `dict.keys()`.
    Keys,
    /// `dict.values()`.
    Values,
    /// `dict.items()`: `(key, value)` pairs.
    Items,
}

impl ViewKind {
    fn python_name(self) -> &'static str {
        match self {
            ViewKind::Keys => "dict_keys",
            ViewKind::Values => "dict_values",
            ViewKind::Items => "dict_items",
        }
    }
}

/// A live view of a map object, as Python's `dict.keys()`, `dict.values()`, `dict.items()`.
pub struct DictView {
    map: Arc<dyn LocalObject>,
    kind: ViewKind,
}

impl DictView {
    /// The view `kind` of `map` (an object whose `__iter__` yields keys and whose
    /// `__getitem__` gives values).
    pub fn new(map: Arc<dyn LocalObject>, kind: ViewKind) -> DictView {
        DictView { map, kind }
    }

    /// Every entry of the map now, as this view shows it (keys, values or pairs).
    async fn entries(&self, ctx: &CallContext) -> Result<Vec<Value>, RemoteException> {
        let it = local_iterator(ctx, self.map.clone()).await?;
        let keys = local_next_items(ctx, &it, usize::MAX).await?;
        if self.kind == ViewKind::Keys {
            return Ok(keys);
        }
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let v = self.map_call(ctx, "__getitem__", Some(k.clone())).await?;
            out.push(match self.kind {
                ViewKind::Items => Value::Tuple(vec![k, v]),
                _ => v,
            });
        }
        Ok(out)
    }

    /// Calls the map's own `name` (with `arg`, if any).
    async fn map_call(&self, ctx: &CallContext, name: &str, arg: Option<Value>) -> CallResult {
        let args = arg.map_or_else(Args::new, |a| Args::new().arg(a));
        self.map.clone().call_method(name, ctx.clone(), args).await
    }
}

#[rpyc_macros::object(name = "rpyc_rs.dict_view", crate = crate)]
impl DictView {
    /// `iter(view)`: a fresh iterator over the entries as they are now.
    #[exposed(name = "__iter__")]
    async fn iter(&self, ctx: &CallContext) -> Result<ItemIterator, RemoteException> {
        Ok(ItemIterator::new(self.entries(ctx).await?))
    }

    /// `len(view)`: the map's `__len__`, or the length of one iteration.
    #[exposed(name = "__len__")]
    async fn len(&self, ctx: &CallContext) -> CallResult {
        if self.map.has_member("__len__") {
            return self.map_call(ctx, "__len__", None).await;
        }
        Ok(Value::Int(self.entries(ctx).await?.len() as i64))
    }

    /// `x in view`: a key by the map's `__contains__`, a pair by `map[k] == v`, a value by
    /// iteration.
    #[exposed(name = "__contains__")]
    async fn contains(&self, ctx: &CallContext, x: Value) -> Result<bool, RemoteException> {
        match (self.kind, x) {
            (ViewKind::Keys, x) if self.map.has_member("__contains__") => Ok(self
                .map_call(ctx, "__contains__", Some(x))
                .await?
                .is_truthy()),
            (ViewKind::Items, Value::Tuple(kv)) => {
                let Ok([k, v]) = <[Value; 2]>::try_from(kv) else {
                    return Ok(false);
                };
                match self.map_call(ctx, "__getitem__", Some(k)).await {
                    Ok(found) => Ok(found == v),
                    Err(e) if e.is("KeyError") => Ok(false),
                    Err(e) => Err(e),
                }
            }
            (ViewKind::Items, _) => Ok(false),
            (_, x) => Ok(self.entries(ctx).await?.contains(&x)),
        }
    }

    #[rpyc(repr)]
    fn show(&self) -> String {
        format!("<{} view>", self.kind.python_name())
    }
}

/// An iterator over items computed in advance: what a view's (or a map's) `__iter__` returns.
/// Its `__next__` gives the next item (`StopIteration` at the end) and its `__iter__` returns
/// itself, so Python's `for`, `list`, `sorted` and `iter(it) is it` all work.
pub struct ItemIterator {
    items: Mutex<std::vec::IntoIter<Value>>,
}

impl ItemIterator {
    /// An iterator over `items`.
    pub fn new(items: Vec<Value>) -> ItemIterator {
        ItemIterator {
            items: Mutex::new(items.into_iter()),
        }
    }
}

#[rpyc_macros::object(name = "rpyc_rs.iterator", crate = crate)]
impl ItemIterator {
    /// The next item; `StopIteration` at the end. (`__iter__`, returning the iterator itself,
    /// comes from the macro.)
    #[exposed(name = "__next__", inline)]
    fn next(&self) -> Result<Value, RemoteException> {
        self.items
            .lock()
            .next()
            .ok_or_else(RemoteException::stop_iteration)
    }
}
