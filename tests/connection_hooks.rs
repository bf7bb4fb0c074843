//! The service's connection hooks (`support/shop.rs`): `on_connect` and `on_disconnect` run
//! once a connection, whether the client closes, drops every handle, or the serving side drops
//! its last one.

#[macro_use]
mod common;
#[path = "support/shop.rs"]
mod shop;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::{connect_default, wait_until, Transport};
use rpyc::Value;
use shop::{Hooks, ShopService};

async fn connection_hooks(t: Transport) -> rpyc::Result<()> {
    let hooks = Arc::new(Hooks::default());
    let h = hooks.clone();
    let (conn, _server) = connect_default(t, move || ShopService::new(h.clone())).await;
    let root = conn.root().await?;
    assert_eq!(root.call_method("add", (1, 1)).await?, Value::Int(2));
    assert_eq!(hooks.connected.load(Ordering::SeqCst), 1);
    assert_eq!(hooks.disconnected.load(Ordering::SeqCst), 0);

    conn.close().await?;
    wait_until("on_disconnect ran", Duration::from_secs(5), || {
        hooks.disconnected.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(hooks.connected.load(Ordering::SeqCst), 1);

    // More connections, each run the hooks once, whether the client closes or just drops
    // every handle.
    for i in 2..=10 {
        let h = hooks.clone();
        let (conn, _server) = connect_default(t, move || ShopService::new(h.clone())).await;
        let root = conn.root().await?;
        root.call_method("add", (i, 0)).await?;
        assert_eq!(hooks.connected.load(Ordering::SeqCst), i);
        if i % 2 == 0 {
            conn.close().await?;
        } else {
            drop(root);
            drop(conn);
        }
        wait_until(
            &format!("on_disconnect ran for connection {i}"),
            Duration::from_secs(5),
            || hooks.disconnected.load(Ordering::SeqCst) == i,
        )
        .await;
    }
    Ok(())
}

transport_tests!(connection_hooks);

/// The server side of an in-process pair drops its last handle while the client is still
/// connected: the connection closes, and the service's `on_disconnect` must run (as Python's
/// `Connection.__del__` → `close()` → `on_disconnect`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_disconnect_runs_when_the_serving_side_drops_its_last_handle() -> rpyc::Result<()> {
    let hooks = Arc::new(Hooks::default());
    let (client, server) =
        rpyc::connect_pair_with(ShopService::new(hooks.clone()), rpyc::Config::default()).await;
    let root = client.root().await?;
    assert_eq!(root.call_method("add", (1, 2)).await?, Value::Int(3));
    assert_eq!(hooks.connected.load(Ordering::SeqCst), 1);
    drop(server);
    wait_until("the client saw the close", Duration::from_secs(5), || {
        client.is_closed()
    })
    .await;
    assert_eq!(
        hooks.disconnected.load(Ordering::SeqCst),
        1,
        "on_disconnect did not run"
    );
    Ok(())
}
