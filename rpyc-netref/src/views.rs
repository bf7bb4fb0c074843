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
use crate::object::{export, Args, BoxFuture, CallContext, CallResult, Member, RemoteObject};

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
    map: Arc<dyn RemoteObject>,
    kind: ViewKind,
}

const VIEW_MEMBERS: [&str; 3] = ["__iter__", "__len__", "__contains__"];

impl DictView {
    /// The view `kind` of `map` (an object whose `__iter__` yields keys and whose
    /// `__getitem__` gives values).
    pub fn new(map: Arc<dyn RemoteObject>, kind: ViewKind) -> DictView {
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
            let v = self.value_of(ctx, k.clone()).await?;
            out.push(match self.kind {
                ViewKind::Items => Value::Tuple(vec![k, v]),
                _ => v,
            });
        }
        Ok(out)
    }

    async fn value_of(&self, ctx: &CallContext, key: Value) -> CallResult {
        self.map
            .clone()
            .call_method("__getitem__", ctx.clone(), Args::new().arg(key))
            .await
    }

    async fn len(&self, ctx: &CallContext) -> CallResult {
        if self.map.has_member("__len__") {
            return self
                .map
                .clone()
                .call_method("__len__", ctx.clone(), Args::new())
                .await;
        }
        Ok(Value::Int(self.entries(ctx).await?.len() as i64))
    }

    async fn contains(&self, ctx: &CallContext, x: Value) -> Result<bool, RemoteException> {
        match self.kind {
            ViewKind::Keys if self.map.has_member("__contains__") => Ok(self
                .map
                .clone()
                .call_method("__contains__", ctx.clone(), Args::new().arg(x))
                .await?
                .is_truthy()),
            ViewKind::Items => {
                let Value::Tuple(kv) = x else {
                    return Ok(false);
                };
                let Ok([k, v]) = <[Value; 2]>::try_from(kv) else {
                    return Ok(false);
                };
                match self.value_of(ctx, k).await {
                    Ok(found) => Ok(found == v),
                    Err(e) if e.is("KeyError") => Ok(false),
                    Err(e) => Err(e),
                }
            }
            _ => Ok(self.entries(ctx).await?.contains(&x)),
        }
    }
}

impl RemoteObject for DictView {
    fn type_name(&self) -> &str {
        match self.kind {
            ViewKind::Keys => "rpyc_rs.dict_keys",
            ViewKind::Values => "rpyc_rs.dict_values",
            ViewKind::Items => "rpyc_rs.dict_items",
        }
    }

    fn member_names(&self) -> Vec<String> {
        VIEW_MEMBERS.iter().map(|s| s.to_string()).collect()
    }

    fn has_member(&self, name: &str) -> bool {
        VIEW_MEMBERS.contains(&name)
    }

    fn get_member(&self, name: &str) -> Option<Member> {
        self.has_member(name).then_some(Member::Method)
    }

    fn call_method(
        self: Arc<Self>,
        name: &str,
        ctx: CallContext,
        mut args: Args,
    ) -> BoxFuture<CallResult> {
        let name = name.to_string();
        Box::pin(async move {
            match name.as_str() {
                "__iter__" => Ok(export(ItemIterator::new(self.entries(&ctx).await?))),
                "__len__" => self.len(&ctx).await,
                "__contains__" => {
                    let x: Value = args.take(0, "x")?;
                    Ok(Value::Bool(self.contains(&ctx, x).await?))
                }
                other => Err(RemoteException::no_attribute(self.type_name(), other)),
            }
        })
    }

    fn repr(&self) -> String {
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

impl rpyc_core::IntoValue for ItemIterator {
    /// The iterator, by reference.
    fn into_value(self) -> Value {
        export(self)
    }
}

impl rpyc_core::IntoValue for DictView {
    /// The view, by reference.
    fn into_value(self) -> Value {
        export(self)
    }
}

const ITER_MEMBERS: [&str; 2] = ["__iter__", "__next__"];

impl RemoteObject for ItemIterator {
    fn type_name(&self) -> &str {
        "rpyc_rs.iterator"
    }

    fn member_names(&self) -> Vec<String> {
        ITER_MEMBERS.iter().map(|s| s.to_string()).collect()
    }

    fn has_member(&self, name: &str) -> bool {
        ITER_MEMBERS.contains(&name)
    }

    fn get_member(&self, name: &str) -> Option<Member> {
        self.has_member(name).then_some(Member::Method)
    }

    fn call_method(
        self: Arc<Self>,
        name: &str,
        _ctx: CallContext,
        _args: Args,
    ) -> BoxFuture<CallResult> {
        let r = match name {
            "__next__" => self
                .items
                .lock()
                .next()
                .ok_or_else(RemoteException::stop_iteration),
            "__iter__" => Ok(crate::object::export_arc(self.clone())),
            other => Err(RemoteException::no_attribute(self.type_name(), other)),
        };
        Box::pin(std::future::ready(r))
    }
}
