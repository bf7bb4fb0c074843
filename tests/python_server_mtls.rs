//! Our client presenting a client certificate (`rpyc::tls::ClientTls`) to stock Python rpyc
//! 6.0.2 TLS servers that require one: `ThreadedServer(..., authenticator=SSLAuthenticator(key,
//! cert, ca_certs=ca))` (`py_server.py --cafile`), and the classic server
//! `rpyc_classic.py --ssl-keyfile K --ssl-certfile C --ssl-cafile CA` through
//! `rpyc::classic::tls_connect`. Each time: a certificate from the server's CA is accepted
//! (and Python's `conn._config['credentials']` names it), one from another CA and none are
//! refused with a TLS alert, and the server serves the next client as before.

#[path = "support/py_server.rs"]
mod py_server;

#[path = "support/certs.rs"]
mod certs;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use certs::Pki;
use rpyc::tls::ClientTls;
use rpyc::Value;

fn with_cert(pki: &Pki, who: Option<&str>) -> Arc<rpyc::tls::rustls::ClientConfig> {
    let tls = ClientTls::ca(&pki.read("ca.pem")).unwrap();
    let tls = match who {
        Some(who) => tls
            .client_cert(
                &pki.read(&format!("{who}.pem")),
                &pki.read(&format!("{who}-key.pem")),
            )
            .unwrap(),
        None => tls,
    };
    tls.build().unwrap()
}

/// Whatever a refused attempt reports: the connect error, or the first call's.
async fn refusal(addr: &str, tls: Arc<rpyc::tls::rustls::ClientConfig>) -> String {
    match rpyc::tls::tls_connect(addr, "localhost", tls).await {
        Err(e) => e.to_string(),
        Ok(conn) => match conn.root().await {
            Err(e) => e.to_string(),
            Ok(root) => root
                .call_method("whoami", ())
                .await
                .map(|v| format!("accepted: {v:?}"))
                .unwrap_or_else(|e| e.to_string()),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ssl_authenticator_requiring_client_certificates() {
    let pki = Pki::new("py-server");
    let server = py_server::PyServer::start_args(&[
        "--certfile",
        &pki.path("server.pem"),
        "--keyfile",
        &pki.path("server-key.pem"),
        "--cafile",
        &pki.path("ca.pem"),
    ]);
    let addr = server.addr.as_str();

    let alice = rpyc::tls::tls_connect(addr, "localhost", with_cert(&pki, Some("alice")))
        .await
        .unwrap();
    let root = alice.root().await.unwrap();
    // What Python's SSLAuthenticator put in conn._config['credentials'].
    assert_eq!(
        root.call_method("whoami", ()).await.unwrap(),
        Value::str("CN=alice, O=Example")
    );

    for (who, alert) in [
        (Some("mallory"), "UnknownCA"),
        (None, "CertificateRequired"),
    ] {
        let refused = refusal(addr, with_cert(&pki, who)).await;
        assert!(refused.contains(&format!("alert: {alert}")), "{refused}");
    }

    // The server serves on: the first connection and a new one.
    assert_eq!(
        root.call_method("whoami", ()).await.unwrap(),
        Value::str("CN=alice, O=Example")
    );
    let again = rpyc::tls::tls_connect(addr, "localhost", with_cert(&pki, Some("alice")))
        .await
        .unwrap();
    let the_answer: i64 = again
        .root()
        .await
        .unwrap()
        .attr("the_answer")
        .await
        .unwrap();
    assert_eq!(the_answer, 42);
    alice.close().await.unwrap();
    again.close().await.unwrap();
}

/// `rpyc_classic.py` from the venv, with TLS and client certificates required; killed when
/// dropped.
struct ClassicServer {
    child: Child,
    addr: String,
}

impl ClassicServer {
    fn start(pki: &Pki) -> ClassicServer {
        let python = py_server::python::python();
        let script = python.with_file_name("rpyc_classic.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--host", "127.0.0.1", "-p", "0"])
            .args(["--ssl-keyfile", &pki.path("server-key.pem")])
            .args(["--ssl-certfile", &pki.path("server.pem")])
            .args(["--ssl-cafile", &pki.path("ca.pem")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // It logs `... server started on [127.0.0.1]:PORT` on stderr once listening.
        let mut lines = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let port = loop {
            line.clear();
            if lines.read_line(&mut line).unwrap() == 0 {
                let _ = child.kill();
                panic!("rpyc_classic.py exited before listening");
            }
            if let Some((_, port)) = line.trim().rsplit_once("server started on [127.0.0.1]:") {
                break port.to_string();
            }
        };
        // Keep draining its log, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        ClassicServer {
            child,
            addr: format!("127.0.0.1:{port}"),
        }
    }
}

impl Drop for ClassicServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_tls_connect_with_a_client_certificate() {
    let pki = Pki::new("classic");
    let server = ClassicServer::start(&pki);
    let addr = server.addr.as_str();

    let py = rpyc::classic::tls_connect(addr, "localhost", with_cert(&pki, Some("alice")))
        .await
        .unwrap();
    let two: i64 = py.eval("1 + 1").await.unwrap().extract().unwrap();
    assert_eq!(two, 2);

    for (who, alert) in [
        (Some("mallory"), "UnknownCA"),
        (None, "CertificateRequired"),
    ] {
        let err = rpyc::classic::tls_connect(addr, "localhost", with_cert(&pki, who))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(&format!("alert: {alert}")),
            "{err}"
        );
    }

    // Still serving.
    let sum: i64 = py.eval("sum(range(10))").await.unwrap().extract().unwrap();
    assert_eq!(sum, 45);
    let again = rpyc::classic::tls_connect(addr, "localhost", with_cert(&pki, Some("alice")))
        .await
        .unwrap();
    let platform: String = again
        .eval("__import__('sys').platform")
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(platform, std::env::consts::OS);
    py.close().await.unwrap();
    again.close().await.unwrap();
}
