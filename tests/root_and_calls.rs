//! The root object and calls: what a user sees after `conn.root()` — the service's names and
//! aliases, methods with positional, keyword, optional and `*args` arguments, and the errors of
//! wrong arguments. The service is `support/shop.rs`; attributes are in `root_attributes.rs`,
//! returned objects in `objects_by_reference.rs`, hooks in `connection_hooks.rs`.

#[macro_use]
mod common;
#[path = "support/shop.rs"]
mod shop;

use common::{connect_default, Transport};
use rpyc::{Args, NetRef, Value};
use shop::{remote, shop, PlainService};

async fn root_and_service_names(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;
    assert_eq!(root.type_name(), "shop.ShopService");
    // While a reference is alive, `root()` gives the same proxy back.
    assert_eq!(conn.root().await?, root);

    assert_eq!(
        root.call_method("get_service_name", ()).await?,
        Value::str("SHOP")
    );
    let aliases: Vec<String> = root
        .call_method("get_service_aliases", ())
        .await?
        .extract()?;
    assert_eq!(
        aliases,
        ["SHOP", "STORE"],
        "aliases are upper-cased, in order"
    );
    // The exposed_ spelling works too, as in RPyC.
    assert_eq!(
        root.call_method("exposed_get_service_name", ()).await?,
        Value::str("SHOP")
    );

    // Default naming: the type name minus `Service`, upper-cased.
    let (plain, _server2) = connect_default(t, || PlainService).await;
    let proot = plain.root().await?;
    assert_eq!(proot.type_name(), "root_and_calls.PlainService");
    assert_eq!(
        proot.call_method("get_service_name", ()).await?,
        Value::str("PLAIN")
    );
    let aliases: Vec<String> = proot
        .call_method("get_service_aliases", ())
        .await?
        .extract()?;
    assert_eq!(aliases, ["PLAIN"]);
    assert_eq!(proot.call_method("ping", ()).await?, Value::str("pong"));
    Ok(())
}

async fn positional_and_keyword_arguments(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;

    assert_eq!(root.call_method("add", (2, 3)).await?, Value::Int(5));
    let by_keyword = Args::new().kwarg("b", 40).kwarg("a", 2);
    assert_eq!(root.call_method("add", by_keyword).await?, Value::Int(42));
    let mixed = Args::new().arg(10).kwarg("b", -4);
    assert_eq!(root.call_method("add", mixed).await?, Value::Int(6));
    // Through the exposed_ name.
    assert_eq!(
        root.call_method("exposed_add", (1, 1)).await?,
        Value::Int(2)
    );

    // Optional parameters: omitted, given by position, given by keyword.
    assert_eq!(
        root.call_method("greet", ("Ann",)).await?,
        Value::str("Hello, Ann!")
    );
    assert_eq!(
        root.call_method("greet", ("Ann", "Hi")).await?,
        Value::str("Hi, Ann!")
    );
    assert_eq!(
        root.call_method("greet", Args::new().arg("Bob").kwarg("times", 2))
            .await?,
        Value::str("Hello, Bob! Hello, Bob!")
    );
    assert_eq!(
        root.call_method("greet", ("Cy", Value::None)).await?,
        Value::str("Hello, Cy!"),
        "None for an optional parameter is 'not given'"
    );

    // A method exposed by its prefix, under both names; a Vec from a tuple.
    assert_eq!(
        root.call_method("total", (vec![1.5, 2.25],)).await?,
        Value::Float(3.75)
    );
    assert_eq!(
        root.call_method("exposed_total", (Vec::<f64>::new(),))
            .await?,
        Value::Float(0.0)
    );

    // *args.
    assert_eq!(
        root.call_method("count", ("things", 1, "two", 3.0)).await?,
        Value::str("things: 3")
    );
    assert_eq!(
        root.call_method("count", ("nothing",)).await?,
        Value::str("nothing: 0")
    );

    // A method read as an attribute is a callable reference.
    let add = root.getattr("add").await?.extract::<NetRef>()?;
    assert_eq!(add.call((20, 22)).await?, Value::Int(42));
    assert_eq!(
        add.call(Args::new().kwarg("a", 1).kwarg("b", 2)).await?,
        Value::Int(3)
    );
    assert!(add.repr().await?.contains("add"), "{}", add.repr().await?);
    Ok(())
}

async fn wrong_arguments(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = connect_default(t, shop).await;
    let root = conn.root().await?;

    // A wrong type names the argument, the expected and the actual type.
    let e = root.call_method("add", ("two", 3)).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    let msg = remote(&e).message();
    assert!(msg.contains("'a'"), "{msg}");
    assert!(msg.contains("int") && msg.contains("str"), "{msg}");

    let e = root
        .call_method("add", Args::new().arg(1).kwarg("b", 2.5))
        .await
        .unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    let msg = remote(&e).message();
    assert!(msg.contains("'b'") && msg.contains("float"), "{msg}");

    let e = root
        .call_method("greet", ("Ann", Value::Int(7)))
        .await
        .unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(remote(&e).message().contains("'greeting'"), "{e:?}");

    // Missing, extra and unknown arguments.
    let e = root.call_method("add", (1,)).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(remote(&e).message().contains("'b'"), "{e:?}");
    let e = root.call_method("add", (1, 2, 3)).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    let e = root
        .call_method("add", Args::new().arg(1).arg(2).kwarg("c", 3))
        .await
        .unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");
    assert!(remote(&e).message().contains("'c'"), "{e:?}");

    // Unknown and non-exposed methods.
    let e = root.call_method("subtract", (1, 2)).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    let e = root.call_method("restock", ()).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");
    let e = root.call_method("exposed_restock", ()).await.unwrap_err();
    assert!(e.is_remote("AttributeError"), "{e:?}");

    // A data attribute is not callable.
    let e = root.call_method("version", ()).await.unwrap_err();
    assert!(e.is_remote("TypeError"), "{e:?}");

    // The connection is fine afterwards.
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    Ok(())
}

transport_tests!(
    root_and_service_names,
    positional_and_keyword_arguments,
    wrong_arguments,
);
