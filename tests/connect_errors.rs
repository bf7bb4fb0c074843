//! What a user sees when connecting fails: an `Error::Connect` naming the address as given and
//! the operating system's error, for the async and blocking APIs and for Unix sockets.

use std::io::ErrorKind;

use rpyc::{blocking, Error};

/// A local TCP port nothing listens on (bound once to get it, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn assert_refused(err: &Error, addr: &str) {
    match err {
        Error::Connect { addr: a, source } => {
            assert_eq!(a, addr);
            assert_eq!(source.kind(), ErrorKind::ConnectionRefused, "{err}");
        }
        other => panic!("expected Error::Connect, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("cannot connect to {addr}: ")),
        "{msg}"
    );
    // The OS error, as the OS words it (`Connection refused (os error 111)` on Linux).
    let os = std::io::Error::from(ErrorKind::ConnectionRefused).to_string();
    assert!(msg.contains("refused"), "{msg} (os: {os})");
    assert!(!msg.contains("connection closed"), "{msg}");
}

#[tokio::test]
async fn refused_connect_names_the_address_and_the_os_error() {
    let port = closed_port();
    let addr = format!("127.0.0.1:{port}");
    let err = rpyc::connect(addr.as_str()).await.unwrap_err();
    assert_refused(&err, &addr);

    let err = rpyc::connect(("127.0.0.1", port)).await.unwrap_err();
    match &err {
        Error::Connect { addr, .. } => assert_eq!(addr, &format!("(\"127.0.0.1\", {port})")),
        other => panic!("expected Error::Connect, got {other:?}"),
    }

    let sa: std::net::SocketAddr = addr.parse().unwrap();
    assert_refused(&rpyc::connect(sa).await.unwrap_err(), &addr);
}

#[test]
fn refused_blocking_connect_names_the_address() {
    let addr = format!("127.0.0.1:{}", closed_port());
    let err = blocking::connect(addr.as_str()).unwrap_err();
    assert_refused(&err, &addr);
}

#[tokio::test]
async fn unresolvable_host_is_a_connect_error() {
    let err = rpyc::connect("no-such-host.invalid:18861")
        .await
        .unwrap_err();
    match &err {
        Error::Connect { addr, .. } => assert_eq!(addr, "no-such-host.invalid:18861"),
        other => panic!("expected Error::Connect, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("cannot connect to no-such-host.invalid:18861: "),
        "{err}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn missing_unix_socket_names_the_path() {
    let path = std::env::temp_dir().join(format!("rpyc-no-such-{}.sock", std::process::id()));
    let err = rpyc::unix_connect(&path).await.unwrap_err();
    match &err {
        Error::Connect { addr, source } => {
            assert_eq!(addr, &path.display().to_string());
            assert_eq!(source.kind(), ErrorKind::NotFound);
        }
        other => panic!("expected Error::Connect, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("cannot connect to {}: ", path.display())),
        "{err}"
    );
}
