//! Mutual TLS (issue 14 §1): our server requiring client certificates signed by a CA, used by
//! Python's `rpyc.ssl_connect(host, port, keyfile, certfile, ca_certs)` and by our client
//! (`ClientTls`), through the library and through `rpyc-server --tls-ca`. A certificate from
//! another CA and no certificate are both refused with a TLS alert, and the server serves the
//! next client as before. The verified subject and names reach the service
//! (`TestService::whoami`, reading `CallContext::credentials()`).

use std::process::Stdio;

use rpyc::tls::ClientTls;
use rpyc::Value;
use rpyc_server::services::TestService;
use rpyc_server::Server;

#[path = "../../tests/support/python.rs"]
mod support;

#[path = "../../tests/support/certs.rs"]
mod certs;

use certs::Pki;
#[path = "../../tests/support/process.rs"]
mod process;
use process::Listening;

async fn mtls_server(
    pki: &Pki,
) -> (
    std::net::SocketAddr,
    rpyc_server::ShutdownHandle,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let acceptor = rpyc_server::tls::mutual_acceptor_from_pem(
        &pki.read("server.pem"),
        &pki.read("server-key.pem"),
        &pki.read("ca.pem"),
    )
    .unwrap();
    let server = Server::bind("127.0.0.1:0").await.unwrap().tls(acceptor);
    let addr = server.local_addr().unwrap();
    let stop = server.shutdown_handle();
    let task = tokio::spawn(server.serve(|| TestService::new(Default::default())));
    (addr, stop, task)
}

/// Python: alice (our CA), mallory (another CA), no certificate, alice again; one line each.
const PYTHON_THREE_WAYS: &str = r#"
import os, rpyc
port, d = int(os.environ["PORT"]), os.environ["DIR"]
p = lambda n: os.path.join(d, n)
def attempt(who):
    key, cert = (p(who + "-key.pem"), p(who + ".pem")) if who else (None, None)
    try:
        c = rpyc.ssl_connect("127.0.0.1", port, keyfile=key, certfile=cert, ca_certs=p("ca.pem"))
        peer, subject, sans, auth = c.root.whoami()
        c.close()
        return "ok %s %s %s" % (subject, ",".join(sans), auth)
    except Exception as e:
        return "refused %s: %s" % (type(e).__name__, e)
for who in ["alice", "mallory", None, "alice"]:
    print(attempt(who), flush=True)
"#;

async fn run_python(script: &str, port: u16, pki: &Pki) -> Vec<String> {
    let env = [
        ("PORT", port.to_string()),
        ("DIR", pki.dir().display().to_string()),
    ];
    support::run_python_script(script, &env).await
}

/// The four lines of [`PYTHON_THREE_WAYS`]: alice accepted (twice) and seen by the service,
/// the others refused by a TLS alert.
fn assert_three_ways(lines: &[String]) {
    assert_eq!(lines.len(), 4, "{lines:?}");
    let alice = "ok CN=alice, O=Example alice.example,10.0.0.1 None";
    assert_eq!(lines[0], alice);
    for refused in &lines[1..3] {
        assert!(refused.starts_with("refused "), "{lines:?}");
        assert!(refused.to_lowercase().contains("alert"), "{lines:?}");
    }
    assert!(
        lines[1].contains("UNKNOWN_CA") || lines[1].contains("unknown ca"),
        "{lines:?}"
    );
    assert!(
        lines[2].to_lowercase().contains("certificate required"),
        "{lines:?}"
    );
    assert_eq!(lines[3], alice);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ssl_connect_with_client_certificates() {
    let pki = Pki::new("py-lib");
    let (addr, stop, task) = mtls_server(&pki).await;
    let lines = run_python(PYTHON_THREE_WAYS, addr.port(), &pki).await;
    assert_three_ways(&lines);
    stop.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpyc_server_binary_with_tls_ca() {
    let pki = Pki::new("py-bin");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rpyc-server"));
    cmd.args(["--service", "test", "--port", "0"])
        .args(["--tls-cert", &pki.path("server.pem")])
        .args(["--tls-key", &pki.path("server-key.pem")])
        .args(["--tls-ca", &pki.path("ca.pem")])
        .stderr(Stdio::null());
    let server = Listening::start(cmd);
    let out = run_python(PYTHON_THREE_WAYS, server.port(), &pki).await;
    assert_three_ways(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_with_client_certificates() {
    let pki = Pki::new("rust");
    let (addr, stop, task) = mtls_server(&pki).await;
    let with = |who: &str| {
        ClientTls::ca(&pki.read("ca.pem"))
            .unwrap()
            .client_cert(
                &pki.read(&format!("{who}.pem")),
                &pki.read(&format!("{who}-key.pem")),
            )
            .unwrap()
            .build()
            .unwrap()
    };

    let alice = rpyc::tls::tls_connect(addr, "localhost", with("alice"))
        .await
        .unwrap();
    let root = alice.root().await.unwrap();
    let who = root.call_method("whoami", ()).await.unwrap();
    let who = who.as_tuple().unwrap();
    assert_eq!(who[1], Value::str("CN=alice, O=Example"));
    assert_eq!(
        who[2],
        Value::Tuple(vec![Value::str("alice.example"), Value::str("10.0.0.1")])
    );
    assert_eq!(who[3], Value::None);

    // Another CA's certificate, and none: no connection (with TLS 1.3 the client learns it
    // from the server's alert, on its first read).
    let no_cert = ClientTls::ca(&pki.read("ca.pem")).unwrap().build().unwrap();
    for (tls, alert) in [
        (with("mallory"), "UnknownCA"),
        (no_cert, "CertificateRequired"),
    ] {
        let refused = match rpyc::tls::tls_connect(addr, "localhost", tls).await {
            Err(e) => e.to_string(),
            Ok(conn) => conn.root().await.unwrap_err().to_string(),
        };
        assert!(refused.contains(&format!("alert: {alert}")), "{refused}");
    }

    // The server serves on: the first client, and a new one.
    assert_eq!(
        root.call_method("add", (2, 3)).await.unwrap(),
        Value::Int(5)
    );
    let again = rpyc::tls::tls_connect(addr, "localhost", with("alice"))
        .await
        .unwrap();
    assert_eq!(
        again
            .root()
            .await
            .unwrap()
            .call_method("add", (40, 2))
            .await
            .unwrap(),
        Value::Int(42)
    );

    // A pinned server certificate instead of a CA; a pin on another certificate fails.
    let pinned = ClientTls::pinned(&pki.read("server.pem"))
        .unwrap()
        .client_cert(&pki.read("alice.pem"), &pki.read("alice-key.pem"))
        .unwrap()
        .build()
        .unwrap();
    let conn = rpyc::tls::tls_connect(addr, "any-name", pinned)
        .await
        .unwrap();
    assert_eq!(
        conn.root()
            .await
            .unwrap()
            .call_method("add", (1, 1))
            .await
            .unwrap(),
        Value::Int(2)
    );
    let wrong_pin = ClientTls::pinned(&pki.read("alice.pem"))
        .unwrap()
        .build()
        .unwrap();
    let err = rpyc::tls::tls_connect(addr, "localhost", wrong_pin)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TLS handshake failed"), "{err}");

    for c in [alice, again, conn] {
        c.close().await.unwrap();
    }
    stop.shutdown();
    task.await.unwrap().unwrap();
}

#[test]
fn bad_pem_is_an_error_not_a_panic() {
    assert!(ClientTls::ca(b"not a certificate").is_err());
    assert!(ClientTls::pinned(b"").is_err());
    let pki = Pki::new("bad");
    assert!(ClientTls::ca(&pki.read("ca.pem"))
        .unwrap()
        .client_cert(&pki.read("alice.pem"), b"no key")
        .is_err());
    // A key that is not the certificate's.
    let mismatched = ClientTls::ca(&pki.read("ca.pem"))
        .unwrap()
        .client_cert(&pki.read("alice.pem"), &pki.read("mallory-key.pem"))
        .unwrap()
        .build();
    assert!(mismatched.is_err());
    assert!(rpyc_server::tls::mutual_acceptor_from_pem(
        &pki.read("server.pem"),
        &pki.read("server-key.pem"),
        b"nothing"
    )
    .is_err());
}
