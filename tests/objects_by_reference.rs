//! Objects returned by reference (the shop's carts, `support/shop.rs`): used through their
//! proxies, distinct per object, the owner's own object again when sent back, and `__exit__`
//! through HANDLE_CTXEXIT (what Python's `with` sends at the end of the block).

#[macro_use]
mod common;
#[path = "support/shop.rs"]
mod shop;

use common::{connect_default, Transport};
use rpyc::{Args, NetRef, Value};
use shop::shop;

async fn objects_by_reference(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;

    let cart = root
        .call_method("open_cart", ("ann",))
        .await?
        .extract::<NetRef>()?;
    assert_eq!(cart.type_name(), "shop.Cart");
    assert_eq!(cart.attr::<String>("owner").await?, "ann");
    assert_eq!(cart.call_method("put", ("apple",)).await?, Value::Int(1));
    assert_eq!(
        cart.call_method("put", Args::new().arg("pear").kwarg("qty", 4))
            .await?,
        Value::Int(5)
    );
    let items: Vec<(String, i64)> = cart.call_method("items", ()).await?.extract()?;
    assert_eq!(items, [("apple".to_string(), 1), ("pear".to_string(), 4)]);
    assert_eq!(cart.len().await?, 2);
    assert_eq!(cart.getitem(1).await?, Value::str("pear"));
    let e = cart.getitem(9).await.unwrap_err();
    assert!(e.is_remote("IndexError"), "{e:?}");
    assert_eq!(cart.repr().await?, "<Cart of ann with 2 items>");

    // Two carts are two objects.
    let other = root
        .call_method("open_cart", ("bob",))
        .await?
        .extract::<NetRef>()?;
    assert_ne!(other, cart);
    assert_eq!(other.len().await?, 0);

    // Sent back to its owner, a reference is the owner's own object again: it comes back as
    // the very same proxy.
    let back = root
        .call_method("echo", (cart.clone(),))
        .await?
        .extract::<NetRef>()?;
    assert_eq!(back, cart);
    assert_eq!(back.len().await?, 2);
    let pair = root.call_method("echo", ((&other, &cart),)).await?;
    let (a, b): (NetRef, NetRef) = pair.extract()?;
    assert_eq!((a, b), (other, cart));
    Ok(())
}

/// HANDLE_CTXEXIT (what Python's `with` sends at the end of the block) calls `__exit__` under
/// the policy with the exception class and two `None`s.
async fn context_manager_exit(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;
    let cart = root
        .call_method("open_cart", ("ann",))
        .await?
        .extract::<NetRef>()?;
    cart.call_method("put", ("apple",)).await?;
    let ctxexit = |obj: &NetRef| {
        conn.sync_request(
            rpyc::core::message::Handler::CtxExit,
            vec![rpyc::IntoValue::into_value(obj.clone()), Value::None],
        )
    };
    assert_eq!(ctxexit(&cart).await?, Value::Bool(false));
    assert_eq!(cart.len().await?, 0);
    // An object without `__exit__`: the attribute error of a failed lookup.
    let e = ctxexit(&root).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    Ok(())
}

transport_tests!(context_manager_exit, objects_by_reference);
