//! Our registry client against Python's own `UDPRegistryServer` / `TCPRegistryServer`
//! (`tests/python/py_registry.py`, through the repo's `.venv`, made on first use by
//! `scripts/setup-python.sh`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use rpyc_server::registry::RegistryClient;

#[path = "../../tests/support/python.rs"]
mod support;

struct PyRegistry {
    child: Child,
    addr: SocketAddr,
}

impl Drop for PyRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(mode: &str) -> PyRegistry {
    let repo = support::repo_root();
    let python = support::python();
    let mut child = Command::new(python)
        .arg(repo.join("tests/python/py_registry.py"))
        .args(["--mode", mode, "--listing"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the Python registry");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected output {line:?}"))
        .parse()
        .unwrap();
    PyRegistry { child, addr }
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
    scenario(RegistryClient::udp(reg.addr)).await;
}

#[tokio::test]
async fn against_python_tcp_registry() {
    let reg = start("tcp");
    scenario(RegistryClient::tcp(reg.addr)).await;
}
