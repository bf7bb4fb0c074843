//! The root's attributes and descriptions: exposed data attributes, the service's setattr
//! hook (and roots and objects without one), missing attributes, `repr`/`str`/`dir` of the
//! root and of an object. The service is `support/shop.rs`.

#[macro_use]
mod common;
#[path = "support/shop.rs"]
mod shop;

use common::{connect_default, Transport};
use rpyc::{NetRef, Value};
use shop::{remote, shop, PlainService};

async fn attributes(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;

    assert_eq!(root.attr::<i64>("version").await?, 3);
    assert_eq!(root.getattr("exposed_version").await?, Value::Int(3));
    assert_eq!(root.attr::<String>("motto").await?, "buy low");

    // The service's setattr hook allows `motto` (a str)...
    root.setattr("motto", "buy high").await?;
    assert_eq!(root.attr::<String>("motto").await?, "buy high");
    // ... refuses another type with its own error ...
    let e = root.setattr("motto", 5).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(remote(&e).message().contains("must be a str"), "{e:?}");
    assert_eq!(root.attr::<String>("motto").await?, "buy high");
    // ... and every other name.
    let e = root.setattr("version", 4).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    assert_eq!(root.attr::<i64>("version").await?, 3);
    let e = root.delattr("motto").await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");

    // A missing attribute.
    let e = root.getattr("nonexistent").await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    assert!(remote(&e).message().contains("nonexistent"), "{e:?}");

    // A root without a setattr hook refuses setting anything.
    let (plain, _server2) = connect_default(t, || PlainService).await;
    let proot = plain.root().await?;
    let e = proot.setattr("anything", 1).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    let e = proot.setattr("ping", 1).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    assert_eq!(proot.call_method("ping", ()).await?, Value::str("pong"));

    // So does an object without one.
    let cart = root
        .call_method("open_cart", ("ann",))
        .await?
        .extract::<NetRef>()?;
    let e = cart.setattr("owner", "bob").await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    assert_eq!(cart.attr::<String>("owner").await?, "ann");
    Ok(())
}

async fn repr_str_dir(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;
    assert_eq!(root.repr().await?, "<ShopService v3>");
    assert_eq!(root.str().await?, "the shop");

    let names = root.dir().await?;
    for expected in [
        "add",
        "greet",
        "total",
        "count",
        "open_cart",
        "echo",
        "version",
        "motto",
        "get_service_name",
        "get_service_aliases",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for hidden in ["restock", "set_attribute", "show", "text", "hello", "bye"] {
        assert!(
            !names.iter().any(|n| n == hidden),
            "{hidden} listed in {names:?}"
        );
    }
    assert!(
        names.iter().all(|n| !n.starts_with("exposed_")),
        "exposed names are listed without their prefix: {names:?}"
    );
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, names, "dir is sorted, without duplicates");

    let cart = root
        .call_method("open_cart", ("ann",))
        .await?
        .extract::<NetRef>()?;
    assert_eq!(cart.repr().await?, "<Cart of ann with 0 items>");
    assert_eq!(
        cart.str().await?,
        "<Cart of ann with 0 items>",
        "str defaults to repr"
    );
    let cart_names = cart.dir().await?;
    for expected in ["owner", "put", "items", "__len__", "__getitem__"] {
        assert!(
            cart_names.iter().any(|n| n == expected),
            "{expected} missing from {cart_names:?}"
        );
    }
    assert!(!cart_names.iter().any(|n| n == "show"), "{cart_names:?}");
    Ok(())
}

transport_tests!(attributes, repr_str_dir);
