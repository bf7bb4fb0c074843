//! The ping deadline against Python's rpyc 6.0.2: a Python server answers our pings (an idle
//! connection to it is kept); a Python client answers our server's pings while it serves in
//! the background (`BgServingThread`), and an idle one without is cut, as documented.

#[path = "support/py_server.rs"]
mod py_server;

use std::sync::Arc;
use std::time::Duration;

use py_server::python::run_python_client_with;
use py_server::PyServer;
use rpyc::server::services::CalculatorService;
use rpyc::{Config, Value};

fn pinging() -> Config {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_millis(100));
    config.ping_timeout = Duration::from_millis(400);
    config
}

#[tokio::test]
async fn a_python_server_answers_our_pings_and_an_idle_connection_is_kept() {
    let server = PyServer::start(false);
    let conn = rpyc::connect_with(server.addr.as_str(), Arc::new(rpyc::VoidService), pinging())
        .await
        .unwrap();
    let root = conn.root().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!conn.is_closed(), "{:?}", conn.close_reason());
    let sum = root.call_method("add", (2, 3)).await.unwrap();
    assert_eq!(sum, Value::Int(5));
}

#[test]
fn a_python_client_is_kept_while_it_serves_and_cut_when_idle_without() {
    let script = r#"
import os, time, rpyc
port = int(os.environ["PORT"])
served = rpyc.connect("127.0.0.1", port)
bg = rpyc.BgServingThread(served)
idle = rpyc.connect("127.0.0.1", port)
assert idle.root.add(1, 1) == 2
time.sleep(1.5)
assert served.root.add(1, 2) == 3, "kept: it answered the pings"
try:
    idle.root.add(2, 2)
    raise SystemExit("the idle client without a serving thread was not cut")
except (EOFError, ConnectionError, OSError):
    pass
bg.stop()
"#;
    run_python_client_with(pinging(), CalculatorService::new, script);
}
