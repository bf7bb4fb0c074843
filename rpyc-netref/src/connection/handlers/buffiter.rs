//! BUFFITER: a batch of an iteration, on its own task (a local iterator's `__next__` may take
//! time).

use std::sync::Arc;

use rpyc_core::message::Handler;
use rpyc_core::Value;

use super::{tri, Prepared};
use crate::connection::ConnInner;
use crate::fetch::{local_iterator, local_next_items};
use crate::object::LocalObject;

/// HANDLE_BUFFITER: up to `count` items from an iterator (`__next__`), or from a fresh
/// iterator of an iterable (`__iter__`), like `tuple(islice(obj, count))`; at most
/// [`crate::stream::MAX_BUFFITER_ITEMS`] items, whatever the count.
pub(crate) fn buffiter(inner: &Arc<ConnInner>, obj: Arc<dyn LocalObject>, count: i64) -> Prepared {
    let ctx = tri!(inner.context(), Handler::BuffIter);
    let count = count.clamp(0, crate::stream::MAX_BUFFITER_ITEMS as i64) as usize;
    Prepared::Spawn(
        Box::new(move || {
            Box::pin(async move {
                let it = local_iterator(&ctx, obj).await?;
                Ok(Value::Tuple(local_next_items(&ctx, &it, count).await?))
            })
        }),
        Handler::BuffIter,
    )
}
