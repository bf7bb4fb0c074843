//! An HA registry for unmodified Python: two `rpyc-registry --backend etcd://…` processes share
//! one etcd. A stock Python server registers through one; a stock Python client discovers,
//! lists and connects by service name through the other, and still does after the first
//! registry is killed. Needs the cargo feature `etcd` and an `etcd` binary.
#![cfg(feature = "etcd")]

#[path = "support/etcd.rs"]
mod etcd;
#[path = "../../tests/support/process.rs"]
mod process;
#[path = "../../tests/support/python.rs"]
mod python;

use std::process::{Command, Stdio};
use std::time::Duration;

use etcd::Etcd;
use process::Listening;
use rpyc::server::discovery::etcd::EtcdDiscovery;
use rpyc::server::discovery::Discovery;

fn registry(etcd: &Etcd, mode: &str) -> Listening {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rpyc-registry"));
    cmd.args([
        "--mode",
        mode,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--listing",
    ])
    .args(["--backend", &format!("etcd://{}", etcd.endpoint())]);
    Listening::start(cmd)
}

/// A stock Python `ThreadedServer` with `auto_register`, registering through `registrar`
/// (`"udp"` or `"tcp"`, port).
fn python_server(mode: &str, registrar_port: u16) -> Listening {
    let script = format!(
        r#"
import sys, rpyc
from rpyc.utils.server import ThreadedServer
from rpyc.utils.registry import UDPRegistryClient, TCPRegistryClient

class PyEchoService(rpyc.Service):
    ALIASES = ["PYECHO"]
    def exposed_echo(self, x):
        return x

Registrar = UDPRegistryClient if "{mode}" == "udp" else TCPRegistryClient
registrar = Registrar(ip="127.0.0.1", port={registrar_port})
server = ThreadedServer(PyEchoService, hostname="127.0.0.1", port=0,
                        auto_register=True, registrar=registrar)
print("listening on 127.0.0.1:%d" % server.port, flush=True)
server.start()
"#
    );
    let mut cmd = Command::new(python::python());
    cmd.args(["-c", &script]).stdin(Stdio::null());
    Listening::start(cmd)
}

/// A stock Python client, through the registry at `registrar_port`: discover, list and
/// connect_by_service; prints what it found.
fn python_client(mode: &str, registrar_port: u16) -> String {
    let script = format!(
        r#"
import rpyc
from rpyc.utils.registry import UDPRegistryClient, TCPRegistryClient
Registrar = UDPRegistryClient if "{mode}" == "udp" else TCPRegistryClient
registrar = Registrar(ip="127.0.0.1", port={registrar_port})
found = rpyc.discover("pyecho", registrar=registrar)
names = rpyc.list_services(registrar=registrar)
conn = rpyc.connect_by_service("PyEcho", registrar=registrar)
print(len(found), sorted(names), conn.root.echo(42))
"#
    );
    let out = Command::new(python::python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn scenario(mode: &str) {
    let etcd = Etcd::start();
    let first = registry(&etcd, mode);
    let second = registry(&etcd, mode);
    let server = python_server(mode, first.port());

    // The Python server registered through the first registry; it is stored in etcd, so the
    // second answers for it (and a Rust client of etcd sees it too).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let d = EtcdDiscovery::new(vec![etcd.endpoint()], Duration::from_secs(3)).unwrap();
    let found = rt.block_on(async {
        for _ in 0..300 {
            let found = d.lookup("PYECHO").await.unwrap();
            if !found.is_empty() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the Python server never appeared in etcd");
    });
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].port, server.port());
    assert_eq!(
        found[0].load, None,
        "RPyC's registry protocol carries no load"
    );

    assert_eq!(python_client(mode, second.port()), "1 ['PYECHO'] 42");
    drop(first); // killed
    assert_eq!(
        python_client(mode, second.port()),
        "1 ['PYECHO'] 42",
        "discovery still works with one registry process gone"
    );
}

#[test]
fn python_discovers_through_either_registry_over_udp() {
    scenario("udp");
}

#[test]
fn python_discovers_through_either_registry_over_tcp() {
    scenario("tcp");
}
