//! The public paths users had before the rpyc-netref renovation still name the same items
//! (new names sit beside them; see the CHANGELOG). This file only has to compile and run.

#[allow(unused_imports)]
use rpyc::connection::{connect, connect_pair, connect_pair_with, connect_with, local_peer_config};
#[allow(unused_imports)]
use rpyc::dispatch::{Dispatcher, Handler};
#[allow(unused_imports)]
use rpyc::tls::{client_config, tls_connect, tls_connect_with};
#[allow(unused_imports)]
use rpyc::transport::QuickAckStream;
#[allow(unused_imports)]
use rpyc::{object::RemoteObject, RemoteObject as OldName};

#[tokio::test]
async fn old_and_new_paths_name_the_same_items() {
    // `dispatch` and `dispatcher` are one module.
    let old = rpyc::dispatch::Dispatcher::new("t.Old").inline_function("one", || 1i64);
    let new: rpyc::dispatcher::Dispatcher = old;
    let (client, _server) =
        rpyc::connect_pair_with(new.into_service(&["T"]), Default::default()).await;
    let root = client.root().await.unwrap();
    assert_eq!(
        root.call_method("one", ()).await.unwrap(),
        rpyc::Value::Int(1)
    );
    // `Handler` is the former name of `IntoFunction`.
    fn takes<P, H: rpyc::dispatcher::IntoFunction<P>>(_: H) {}
    fn takes_old<P, H: Handler<P>>(h: H) {
        takes(h)
    }
    takes_old(|x: i64| x);
    // `RemoteObject` is the former name of `LocalObject`.
    fn local<T: rpyc::LocalObject>() {}
    fn old_name<T: RemoteObject>() {
        local::<T>()
    }
    old_name::<rpyc::testing::EchoService>();
    let cfg = local_peer_config(rpyc::Config::default(), true);
    assert!(!cfg.compress);
    assert_eq!(
        rpyc::transport::local_peer_config(rpyc::Config::default(), true).compress,
        cfg.compress
    );
}
