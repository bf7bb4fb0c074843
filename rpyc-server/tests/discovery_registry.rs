//! Discovery through RPyC's registry (no etcd needed): `connect_by_service` picks a live
//! instance, skips dead ones, and says what it tried when none answers; a server registered
//! with `register_with` is found by name and leaves at shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use rpyc::server::discovery::{from_url, Discovery};
use rpyc::server::registry::{RegistryClient, RegistryServer};
use rpyc::server::services::CalculatorService;
use rpyc::{Error, Value};

async fn registry() -> SocketAddr {
    let server = RegistryServer::bind_udp("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.serve());
    addr
}

/// A port nobody listens on.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn by_name_through_the_registry_skipping_the_dead() {
    let reg = registry().await;
    let d = from_url(&format!("udp://{reg}")).await.unwrap();
    assert_eq!(d.describe(), format!("udp://{reg}"));

    // Nothing registered: the error names the service and the registry.
    let err = rpyc::connect_by_service("calculator", &*d)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(text.contains("no live instance of calculator"), "{text}");
    assert!(text.contains("none listed"), "{text}");

    // Only a dead instance: the error lists it and what connecting to it said.
    let dead = dead_port();
    let client = RegistryClient::udp(reg);
    assert!(client.register(&["CALCULATOR"], dead).await.unwrap());
    let text = rpyc::connect_by_service("calculator", &*d)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains(&format!("127.0.0.1:{dead}")), "{text}");

    // A live server registered with `register_with`: found by name, the dead one skipped.
    let server = rpyc::Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .register_with(RegistryClient::udp(reg));
    let live = server.local_addr().unwrap().port();
    let stop = server.shutdown_handle();
    let task = tokio::spawn(server.serve(CalculatorService::new));
    for _ in 0..200 {
        if d.lookup("CALCULATOR").await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..5 {
        let conn = rpyc::connect_by_service("Calculator", &*d).await.unwrap();
        let root = conn.root().await.unwrap();
        assert_eq!(
            root.call_method("add", (2, 3)).await.unwrap(),
            Value::Int(5)
        );
    }
    // The blocking API from a thread of its own (outside the runtime, as blocking code runs).
    let blocking = tokio::task::spawn_blocking({
        let d = d.clone();
        move || {
            std::thread::spawn(move || {
                rpyc::connect_by_service_blocking("calculator", &*d).map(|c| c.is_closed())
            })
            .join()
            .unwrap()
        }
    });
    assert!(!blocking.await.unwrap().unwrap());

    // Shutdown unregisters it before the server stops.
    stop.shutdown();
    task.await.unwrap().unwrap();
    let left: Vec<u16> = d
        .lookup("CALCULATOR")
        .await
        .unwrap()
        .iter()
        .map(|i| i.port)
        .collect();
    assert_eq!(
        left,
        [dead],
        "the live server left at shutdown (port {live})"
    );
}
