//! RPyC over TLS: our TLS server used by our TLS client and by Python's `rpyc.ssl_connect`.

use rpyc_core::Value;
use rpyc_server::services::CalculatorService;
use rpyc_server::Server;

#[path = "../../tests/support/python.rs"]
mod support;

struct Cert {
    cert_pem: String,
    key_pem: String,
}

fn self_signed() -> Cert {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    Cert {
        cert_pem: ck.cert.pem(),
        key_pem: ck.signing_key.serialize_pem(),
    }
}

async fn tls_server(
    cert: &Cert,
) -> (
    std::net::SocketAddr,
    rpyc_server::ShutdownHandle,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let acceptor =
        rpyc_server::tls::acceptor_from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes())
            .unwrap();
    let server = Server::bind("127.0.0.1:0").await.unwrap().tls(acceptor);
    let addr = server.local_addr().unwrap();
    let stop = server.shutdown_handle();
    (
        addr,
        stop,
        tokio::spawn(server.serve(CalculatorService::new)),
    )
}

#[tokio::test]
async fn rust_client_over_tls() {
    let cert = self_signed();
    let (addr, stop, task) = tls_server(&cert).await;
    let tls = rpyc_netref::tls::client_config(cert.cert_pem.as_bytes()).unwrap();
    let conn = rpyc_netref::tls::tls_connect(addr, "localhost", tls)
        .await
        .unwrap();
    let root = conn.root().await.unwrap();
    assert_eq!(
        root.call_method("add", (2, 3)).await.unwrap(),
        Value::Int(5)
    );
    assert_eq!(
        root.call_method("get_history", ()).await.unwrap(),
        Value::Tuple(vec![Value::Int(5)])
    );

    // A client that does not trust the certificate never gets a connection.
    let other = self_signed();
    let wrong = rpyc_netref::tls::client_config(other.cert_pem.as_bytes()).unwrap();
    let err = rpyc_netref::tls::tls_connect(addr, "localhost", wrong)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TLS handshake failed"), "{err}");
    assert!(
        matches!(&err, rpyc_netref::Error::Connect { addr: a, .. } if *a == addr.to_string()),
        "{err:?}"
    );
    // A plain-TCP client is dropped during the (failed) handshake; the server serves on.
    let plain = rpyc_netref::connect(addr).await.unwrap();
    assert!(plain.root().await.is_err());
    assert_eq!(
        root.call_method("multiply", (6, 7)).await.unwrap(),
        Value::Int(42)
    );

    conn.close().await.unwrap();
    stop.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn python_ssl_connect_to_our_tls_server() {
    let cert = self_signed();
    let (addr, stop, task) = tls_server(&cert).await;
    let python = support::python();
    let dir = std::env::temp_dir().join(format!("rpyc-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &cert.cert_pem).unwrap();
    let script = format!(
        "import rpyc, ssl\n\
         c = rpyc.ssl_connect('127.0.0.1', {port}, ca_certs={ca:?})\n\
         print(c.root.add(20, 22), c.root.get_service_name())\n\
         c.close()\n",
        port = addr.port(),
        ca = ca.display().to_string(),
    );
    let out = tokio::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .output()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42 CALCULATOR");
    stop.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn refused_tls_connect_names_the_address_and_the_os_error() {
    let cert = self_signed();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let tls = rpyc_netref::tls::client_config(cert.cert_pem.as_bytes()).unwrap();
    let err = rpyc_netref::tls::tls_connect(addr.as_str(), "localhost", tls)
        .await
        .unwrap_err();
    match &err {
        rpyc_netref::Error::Connect { addr: a, source } => {
            assert_eq!(a, &addr);
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("expected Error::Connect, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("cannot connect to {addr}: ")),
        "{err}"
    );
}
