//! `rpyc-server --metrics ADDR` under a known load: the Prometheus endpoint's numbers are what
//! the test did, and `rpyc-server --status ADDR` shows the connection and the method.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

#[path = "../../tests/support/process.rs"]
mod process;
#[path = "../../tests/support/python.rs"]
mod support;

/// The server, killed when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `rpyc-server --service test --port 0 --metrics 127.0.0.1:0`: its RPyC and metrics
/// addresses.
fn start() -> (Running, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rpyc-server"))
        .args([
            "--service",
            "test",
            "--port",
            "0",
            "--metrics",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut line, mut metrics) = (String::new(), None);
    while metrics.is_none() {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "no metrics line");
        metrics = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .map(str::to_string);
    }
    line.clear();
    out.read_line(&mut line).unwrap();
    let rpyc = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    (Running(child), rpyc, metrics.unwrap())
}

/// The value of the sample `line_start` (name and labels, exactly) in a scrape.
fn sample(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {line_start} in:\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_metrics_endpoint_counts_what_the_clients_did() {
    let (_server, addr, metrics) = start();
    let conn = rpyc::connect(addr.as_str()).await.unwrap();
    let root = conn.root().await.unwrap();
    const CALLS: i64 = 20;
    const ERRORS: usize = 3;
    for i in 0..CALLS {
        let r: i64 = root
            .call_method("add", (i, 1))
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(r, i + 1);
    }
    for _ in 0..ERRORS {
        let e = root.call_method("add", ("x", 1)).await.unwrap_err();
        assert!(e.is_remote("TypeError"), "{e}");
    }
    let text = rpyc_server::status::http_get(&metrics, "/metrics")
        .await
        .unwrap();
    let add = r#"{handler="callattr",method="add"}"#;
    assert_eq!(
        sample(&text, &format!("rpyc_requests_total{add}")),
        (CALLS as usize + ERRORS) as f64
    );
    assert_eq!(
        sample(
            &text,
            r#"rpyc_request_errors_total{handler="callattr",method="add",exception="TypeError"}"#
        ),
        ERRORS as f64
    );
    assert_eq!(
        sample(&text, &format!("rpyc_request_duration_seconds_count{add}")),
        (CALLS as usize + ERRORS) as f64
    );
    assert!(text.contains("# TYPE rpyc_request_duration_seconds histogram"));
    assert_eq!(
        sample(&text, r#"rpyc_requests_total{handler="getroot"}"#),
        1.0
    );
    assert_eq!(sample(&text, "rpyc_connections_accepted_total"), 1.0);
    assert_eq!(sample(&text, "rpyc_connections_open"), 1.0);
    assert_eq!(sample(&text, "rpyc_requests_in_flight"), 0.0);
    assert!(sample(&text, "rpyc_objects_exported") >= 1.0);
    assert!(sample(&text, "rpyc_bytes_received_total") > 0.0);
    assert!(sample(&text, "rpyc_bytes_sent_total") > 0.0);

    // The live view, as `rpyc-server --status` prints it.
    let out = Command::new(env!("CARGO_BIN_EXE_rpyc-server"))
        .args(["--status", &metrics, "--once"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains("1 open connection, 1 accepted, 0 refused"),
        "{page}"
    );
    assert!(page.contains("TOP METHODS BY CALLS"), "{page}");
    let add_row = page
        .lines()
        .find(|l| l.starts_with("add (callattr)"))
        .unwrap();
    assert_eq!(add_row.split_whitespace().nth(2), Some("23"), "{page}");
    println!("{page}");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn python_calls_count_under_their_method_and_random_names_add_no_series() {
    let (_server, addr, metrics) = start();
    let (host, port) = addr.rsplit_once(':').unwrap();
    // A stock Python client: `root.add(1, 2)` is a GETATTR of `add`, then a CALL of the bound
    // method; then 300 names that no service exposes, and one exception class per name.
    let script = r#"
import os, rpyc
c = rpyc.connect(os.environ["HOST"], int(os.environ["PORT"]))
for i in range(7):
    assert c.root.add(i, 1) == i + 1
refused = 0
for i in range(300):
    try:
        getattr(c.root, "nope_%d" % i)
    except AttributeError:
        refused += 1
print(refused)
"#;
    let out = support::run_python_script(
        script,
        &[("HOST", host.to_string()), ("PORT", port.to_string())],
    )
    .await;
    assert_eq!(out, ["300"]);
    let text = rpyc_server::status::http_get(&metrics, "/metrics")
        .await
        .unwrap();
    assert_eq!(
        sample(&text, r#"rpyc_requests_total{handler="call",method="add"}"#),
        7.0
    );
    assert_eq!(
        sample(
            &text,
            r#"rpyc_requests_total{handler="getattr",method="add"}"#
        ),
        7.0
    );
    // Python's netref asks twice for a name it cannot get (`__getattribute__`, then
    // `__getattr__`): every one of those requests is an AttributeError counted under `other`.
    let refused = sample(
        &text,
        r#"rpyc_requests_total{handler="getattr",method="other"}"#,
    );
    assert!(refused >= 300.0, "{refused}");
    assert_eq!(
        sample(
            &text,
            r#"rpyc_request_errors_total{handler="getattr",method="other",exception="AttributeError"}"#
        ),
        refused
    );
    assert!(
        !text.contains("nope_"),
        "a refused name became a label:\n{text}"
    );
    // getroot, inspect, getattr add, call add, del, getattr other (nothing per refused name).
    let series = text
        .lines()
        .filter(|l| l.starts_with("rpyc_requests_total{"))
        .count();
    assert!(series <= 6, "{series} request series:\n{text}");
}

#[tokio::test]
async fn the_status_document_totals_every_connection_and_lists_the_100_most_active() {
    let (_server, addr, metrics) = start();
    let mut conns = Vec::new();
    for _ in 0..120 {
        let conn = rpyc::connect(addr.as_str()).await.unwrap();
        let root = conn.root().await.unwrap();
        conns.push((conn, root));
    }
    // One client with a call in flight: `block(2)` holds it for two seconds.
    let (_, busy_root) = &conns[7];
    let call = busy_root.call_method("block", (2.0,));
    let (doc, called) = tokio::join!(
        async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            rpyc_server::status::http_get(&metrics, "/status.json")
                .await
                .unwrap()
        },
        call
    );
    called.unwrap();
    let doc: rpyc_server::status::StatusDocument = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc.open, 120);
    assert_eq!(doc.accepted, 120);
    assert_eq!(
        doc.connections.len(),
        rpyc_server::status::MAX_CONNECTION_ROWS
    );
    assert!(doc.totals.objects >= 120, "{:?}", doc.totals);
    assert_eq!(doc.totals.in_flight, 1);
    assert_eq!(doc.connections[0].in_flight, 1, "{:?}", doc.connections[0]);
    assert!(doc
        .methods
        .iter()
        .any(|m| m.method.is_empty() && m.handler == "getroot"));
    // The view says how many it shows.
    let out = Command::new(env!("CARGO_BIN_EXE_rpyc-server"))
        .args(["--status", &metrics, "--once"])
        .output()
        .unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains("120 open connections"), "{page}");
    assert!(
        page.contains("CONNECTIONS (100 most active of 120)"),
        "{page}"
    );
}
