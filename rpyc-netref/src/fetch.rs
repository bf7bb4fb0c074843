//! Fetching the content of containers that arrived by reference, in bulk.
//!
//! A Python peer sends its lists, dicts and sets by reference. Where a Rust type wants their
//! content (a `Vec<T>`, a `HashMap<K, V>`, a serde struct: see [`rpyc_core::content`]), this
//! module reads it with a fixed number of sequential round trips, never one per item:
//!
//! * an iterable: `__iter__` once, then BUFFITER batches of [`FETCH_BATCH`] items until a batch
//!   comes back shorter than asked (`2 + ⌈n/1024⌉` round trips at most);
//! * a mapping: its keys as above, then every value by `__getitem__`, all requests written in
//!   one burst before any reply is awaited (one more round trip);
//! * a record (a struct rpyc-rs sends by reference, `rpyc::ByRef`): `dir`, then every
//!   attribute, all requests in one burst; read as a mapping of names to values;
//! * nested containers the same way, every container of one level at once.
//!
//! Both directions use it: a service's method parameters ([`Args::fetch`], which the
//! `#[rpyc::object]` code calls before it converts arguments), and a client's
//! [`NetRef::fetch`](crate::NetRef::fetch). An object of our own that comes back (the peer
//! passes our map or list object as an argument) is read the same way, locally. What is read
//! is bounded: at most [`MAX_FETCHED_ITEMS`] items and [`MAX_FETCH_DEPTH`] levels of nesting
//! per value.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::future::{join_all, try_join_all, BoxFuture};
use rpyc_core::content::{container_kind, ContainerKind};
use rpyc_core::{Content, ConvertError, Dict, FromValue, RemoteException, Value};

use crate::error::{Error, Result};
use crate::netref::NetRef;
use crate::object::{Args, CallContext, Exported, LocalObject};

/// Items asked for in each BUFFITER when a whole container is wanted.
pub const FETCH_BATCH: usize = 1024;

/// The most items one value may bring (all containers inside it counted together): about
/// 4 million, so that what one argument can make the fetching side hold stays bounded.
pub const MAX_FETCHED_ITEMS: usize = 1 << 22;

/// The deepest nesting of by-reference containers one value may bring (a list that contains
/// itself stops here). Each level is one more future on the stack of the task that fetches.
pub const MAX_FETCH_DEPTH: usize = 32;

/// One parameter of a method, as the code the macros generate describes it: where its
/// argument is (`index`, or the keyword `name`) and the content its type wants.
#[derive(Clone, Copy)]
pub struct ArgContent {
    /// Position of the parameter (`usize::MAX` for keyword-only parameters).
    pub index: usize,
    /// Its name, which is also its keyword.
    pub name: &'static str,
    /// `<T as FromValue>::content`, called only when the argument holds a reference.
    pub content: fn() -> Content,
}

/// What one fetch may still read.
pub(crate) struct Budget {
    items: AtomicUsize,
    max_depth: usize,
}

impl Budget {
    /// The budget of one value read over `conn`.
    pub(crate) fn new(conn: &crate::Connection) -> Budget {
        Budget {
            items: AtomicUsize::new(MAX_FETCHED_ITEMS),
            max_depth: conn.config().decode_limits.max_depth.min(MAX_FETCH_DEPTH),
        }
    }

    fn take(&self, n: usize) -> Result<()> {
        let ok = self
            .items
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(n)
            })
            .is_ok();
        if ok {
            Ok(())
        } else {
            Err(ConvertError::Custom(format!(
                "the value holds more than {MAX_FETCHED_ITEMS} items"
            ))
            .into())
        }
    }
}

/// True if `v` holds a reference anywhere (the cheap test before any content is computed).
fn holds_reference(v: &Value) -> bool {
    match v {
        Value::Object(_) => true,
        Value::Tuple(items) | Value::FrozenSet(items) => items.iter().any(holds_reference),
        _ => false,
    }
}

/// Fetches what `content` wants of `v` (see the module docs) and returns the value to convert.
pub async fn fetch_value(ctx: &CallContext, v: Value, content: &Content) -> Result<Value> {
    if !holds_reference(&v) || !content.wants_fetch(&v) {
        return Ok(v);
    }
    let budget = Budget::new(ctx.conn());
    fetch(ctx, v, content, &budget, 0).await
}

fn fetch<'a>(
    ctx: &'a CallContext,
    v: Value,
    content: &'a Content,
    budget: &'a Budget,
    depth: usize,
) -> BoxFuture<'a, Result<Value>> {
    Box::pin(async move {
        if !content.wants_fetch(&v) {
            return Ok(v);
        }
        if depth >= budget.max_depth {
            return Err(ConvertError::Custom(format!(
                "containers nested deeper than {}",
                budget.max_depth
            ))
            .into());
        }
        match v {
            Value::Tuple(items) => Ok(Value::Tuple(
                fetch_items(ctx, items, content, budget, depth).await?,
            )),
            Value::FrozenSet(items) => Ok(Value::FrozenSet(
                fetch_items(ctx, items, content, budget, depth).await?,
            )),
            Value::Object(_) => {
                let source = Source::of(&v)?;
                let record = source.kind() == ContainerKind::Record
                    && matches!(content, Content::Map(..) | Content::Deep);
                if record {
                    // Attribute names to values, each value read as a map's would be.
                    let vc = match content {
                        Content::Map(_, v) => &**v,
                        _ => &Content::Deep,
                    };
                    let fields = source.fields(budget).await?;
                    let values = fields.into_iter().map(|(name, v)| async move {
                        let v = fetch(ctx, v, vc, budget, depth + 1).await;
                        v.map(|v| (Value::Str(name), v))
                    });
                    return Ok(Dict(try_join_all(values).await?).into_value());
                }
                let mapping = match content {
                    Content::Map(..) => source.kind() != ContainerKind::Iterable,
                    Content::Deep => source.kind() == ContainerKind::Mapping,
                    _ => false,
                };
                if mapping {
                    let (kc, vc) = match content {
                        Content::Map(k, v) => (&**k, &**v),
                        _ => (&Content::Deep, &Content::Deep),
                    };
                    let keys = source.items(ctx, budget).await?;
                    let values = source.values_of(ctx, &keys).await?;
                    let keys = join_all(
                        keys.into_iter()
                            .map(|k| fetch(ctx, k, kc, budget, depth + 1)),
                    );
                    let values = join_all(
                        values
                            .into_iter()
                            .map(|v| fetch(ctx, v, vc, budget, depth + 1)),
                    );
                    let (keys, values) = futures_util::future::join(keys, values).await;
                    let pairs = keys
                        .into_iter()
                        .zip(values)
                        .map(|(k, v)| Ok((k?, v?)))
                        .collect::<Result<Vec<_>>>()?;
                    Ok(Dict(pairs).into_value())
                } else {
                    let items = source.items(ctx, budget).await?;
                    // A sequence read for a map holds its (key, value) pairs.
                    let pair;
                    let items_content = match content {
                        Content::Map(k, v) => {
                            pair = Content::Tuple(vec![(**k).clone(), (**v).clone()]);
                            Content::Seq(Box::new(pair))
                        }
                        other => other.clone(),
                    };
                    Ok(Value::Tuple(
                        fetch_items(ctx, items, &items_content, budget, depth).await?,
                    ))
                }
            }
            other => Ok(other),
        }
    })
}

/// The items of a sequence, each fetched as `content` says of its position, all at once.
async fn fetch_items(
    ctx: &CallContext,
    items: Vec<Value>,
    content: &Content,
    budget: &Budget,
    depth: usize,
) -> Result<Vec<Value>> {
    let mapped = items.into_iter().enumerate().map(|(i, item)| async move {
        fetch(ctx, item, content.item(i), budget, depth + 1)
            .await
            .map_err(|e| at(e, format!("item {i}")))
    });
    try_join_all(mapped).await
}

/// Names the item a conversion failure is about; other errors pass unchanged.
fn at(e: Error, what: String) -> Error {
    match e {
        Error::Convert(c) => Error::Convert(c.at(what)),
        other => other,
    }
}

/// Where a by-reference container lives.
enum Source {
    /// The peer's object.
    Remote(NetRef),
    /// One of our own objects, sent back to us.
    Local(Arc<dyn LocalObject>),
}

impl Source {
    fn of(v: &Value) -> Result<Source> {
        if let Some(obj) = Exported::from_value_ref(v) {
            return Ok(Source::Local(obj.clone()));
        }
        Ok(Source::Remote(NetRef::from_value(v.clone())?))
    }

    fn kind(&self) -> ContainerKind {
        match self {
            Source::Remote(r) => container_kind(r.type_name()),
            Source::Local(obj) => container_kind(obj.type_name()),
        }
    }

    /// A record's attributes and their values: for the peer's object, `dir` and then every
    /// attribute, all requests in one burst.
    async fn fields(&self, budget: &Budget) -> Result<Vec<(String, Value)>> {
        match self {
            Source::Remote(r) => {
                let names = r.dir().await?;
                budget.take(names.len())?;
                let values = try_join_all(names.iter().map(|n| r.attr::<Value>(n))).await?;
                Ok(names.into_iter().zip(values).collect())
            }
            Source::Local(obj) => {
                let names = obj.member_names();
                budget.take(names.len())?;
                Ok(names
                    .into_iter()
                    .filter_map(|real| match obj.get_member(&real) {
                        Some(crate::object::Member::Value(v)) => {
                            let plain = real.strip_prefix("exposed_").unwrap_or(&real);
                            Some((plain.to_string(), v))
                        }
                        _ => None,
                    })
                    .collect())
            }
        }
    }

    /// Every item of one iteration (a mapping's keys).
    async fn items(&self, ctx: &CallContext, budget: &Budget) -> Result<Vec<Value>> {
        match self {
            Source::Remote(r) => read_remote(r, budget).await,
            Source::Local(obj) => {
                let it = local_iterator(ctx, obj.clone()).await?;
                let mut out = Vec::new();
                loop {
                    let batch = local_next_items(ctx, &it, FETCH_BATCH).await?;
                    budget.take(batch.len())?;
                    let done = batch.len() < FETCH_BATCH;
                    out.extend(batch);
                    if done {
                        return Ok(out);
                    }
                }
            }
        }
    }

    /// `obj[key]` for every key; for the peer's object, all requests in one burst.
    async fn values_of(&self, ctx: &CallContext, keys: &[Value]) -> Result<Vec<Value>> {
        match self {
            Source::Remote(r) => try_join_all(keys.iter().map(|k| r.getitem(k.clone()))).await,
            Source::Local(obj) => {
                let mut out = Vec::with_capacity(keys.len());
                for k in keys {
                    let args = Args::new().arg(k.clone());
                    out.push(
                        obj.clone()
                            .call_method("__getitem__", ctx.clone(), args)
                            .await
                            .map_err(Error::Remote)?,
                    );
                }
                Ok(out)
            }
        }
    }
}

/// Reads a peer's iterable to its end: `__iter__`, then BUFFITER batches until a short one.
pub(crate) async fn read_remote(r: &NetRef, budget: &Budget) -> Result<Vec<Value>> {
    let it = NetRef::from_value(r.call_method("__iter__", ()).await?)?;
    let mut out = Vec::new();
    loop {
        let batch = it.buffiter(FETCH_BATCH).await?;
        budget.take(batch.len())?;
        let done = batch.len() < FETCH_BATCH;
        out.extend(batch);
        if done {
            return Ok(out);
        }
    }
}

/// The iterator of a local object: itself if it has `__next__`, else what `__iter__` returns.
pub(crate) async fn local_iterator(
    ctx: &CallContext,
    obj: Arc<dyn LocalObject>,
) -> std::result::Result<Arc<dyn LocalObject>, RemoteException> {
    if obj.has_member("__next__") {
        return Ok(obj);
    }
    if !obj.has_member("__iter__") {
        return Err(RemoteException::type_error(format!(
            "'{}' object is not iterable",
            obj.type_name()
        )));
    }
    let v = obj
        .call_method("__iter__", ctx.clone(), Args::new())
        .await?;
    match Exported::from_value_ref(&v) {
        Some(it) if it.has_member("__next__") => Ok(it.clone()),
        _ => Err(RemoteException::type_error(
            "iter() returned a non-iterator",
        )),
    }
}

/// Up to `count` items from a local iterator (`__next__` until `StopIteration`).
pub(crate) async fn local_next_items(
    ctx: &CallContext,
    it: &Arc<dyn LocalObject>,
    count: usize,
) -> std::result::Result<Vec<Value>, RemoteException> {
    let mut items = Vec::new();
    while items.len() < count {
        match it
            .clone()
            .call_method("__next__", ctx.clone(), Args::new())
            .await
        {
            Ok(v) => items.push(v),
            Err(e) if e.is("StopIteration") => break,
            Err(e) => return Err(e),
        }
    }
    Ok(items)
}

impl Args {
    /// The argument of parameter `name` (by keyword) or at `index`, where [`Args::take`] finds
    /// it.
    fn slot(&mut self, index: usize, name: &str) -> Option<&mut Value> {
        match self.kw.iter().position(|(k, _)| k == name) {
            Some(p) => Some(&mut self.kw[p].1),
            None => self.pos.get_mut(index),
        }
    }

    /// True when some parameter's argument holds a reference where its type wants content
    /// (cheap when no argument holds a reference).
    pub fn wants_fetch(&self, params: &[ArgContent]) -> bool {
        params.iter().any(|p| {
            let v = match self.kw.iter().find(|(k, _)| k == p.name) {
                Some((_, v)) => Some(v),
                None => self.pos.get(p.index),
            };
            v.is_some_and(|v| holds_reference(v) && (p.content)().wants_fetch(v))
        })
    }

    /// Fetches, in place, the content that each parameter's type wants of its argument (see
    /// the module docs); then [`Args::take`] converts as usual. A failure is a `TypeError`
    /// naming the argument (and the item), or the peer's own exception.
    pub async fn fetch(
        &mut self,
        ctx: &CallContext,
        params: &[ArgContent],
    ) -> std::result::Result<(), RemoteException> {
        let mut wanted = Vec::new();
        for p in params {
            if let Some(slot) = self.slot(p.index, p.name) {
                if holds_reference(slot) {
                    let content = (p.content)();
                    if content.wants_fetch(slot) {
                        wanted.push((p, std::mem::take(slot), content));
                    }
                }
            }
        }
        let fetched = join_all(
            wanted
                .iter()
                .map(|(_, v, content)| fetch_value(ctx, v.clone(), content)),
        )
        .await;
        let mut first_err = None;
        for ((p, original, _), r) in wanted.into_iter().zip(fetched) {
            let value = match r {
                Ok(v) => v,
                Err(e) => {
                    first_err.get_or_insert_with(|| argument_error(p.name, e));
                    original
                }
            };
            if let Some(slot) = self.slot(p.index, p.name) {
                *slot = value;
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// [`Args::take`] after fetching the content `T` wants (for services that convert their
    /// arguments by hand).
    pub async fn take_fetched<T: FromValue>(
        &mut self,
        ctx: &CallContext,
        index: usize,
        name: &'static str,
    ) -> std::result::Result<T, RemoteException> {
        let param = ArgContent {
            index,
            name,
            content: T::content,
        };
        self.fetch(ctx, &[param]).await?;
        self.take(index, name)
    }
}

/// A fetch failure as the caller of a method sees it.
fn argument_error(name: &str, e: Error) -> RemoteException {
    match e {
        Error::Convert(c) => RemoteException::type_error(format!("argument '{name}': {c}")),
        Error::Remote(r) => r,
        other => RemoteException::from(other),
    }
}
