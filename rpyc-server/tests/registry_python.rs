//! Our registry client against Python's own `UDPRegistryServer` / `TCPRegistryServer`
//! (`tests/python/py_registry.py`, through the repo's `.venv`, made on first use by
//! `scripts/setup-python.sh`).

use std::process::{Command, Stdio};

use rpyc_server::registry::RegistryClient;

#[path = "../../tests/support/process.rs"]
mod process;
#[path = "../../tests/support/python.rs"]
mod support;
use process::Listening;

/// Python's registry (`tests/python/py_registry.py --mode MODE --listing`).
fn start(mode: &str) -> Listening {
    let mut cmd = Command::new(support::python());
    cmd.arg(support::repo_root().join("tests/python/py_registry.py"))
        .args(["--mode", mode, "--listing"])
        .stderr(Stdio::null());
    Listening::start(cmd)
}

async fn scenario(client: RegistryClient) {
    assert!(client
        .register(&["calc", "Calculator"], 18861)
        .await
        .unwrap());
    assert_eq!(
        client.discover("CALC").await.unwrap(),
        vec![("127.0.0.1".to_string(), 18861)]
    );
    let mut names = client
        .list(None)
        .await
        .unwrap()
        .expect("listing is enabled");
    names.sort();
    assert_eq!(names, ["CALC", "CALCULATOR"]);
    assert!(client.discover("missing").await.unwrap().is_empty());
    client.unregister(18861).await.unwrap();
    assert!(client.discover("calc").await.unwrap().is_empty());
}

#[tokio::test]
async fn against_python_udp_registry() {
    let reg = start("udp");
    scenario(RegistryClient::udp(reg.socket_addr())).await;
}

#[tokio::test]
async fn against_python_tcp_registry() {
    let reg = start("tcp");
    scenario(RegistryClient::tcp(reg.socket_addr())).await;
}
