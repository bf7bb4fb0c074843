//! The binaries' `--help`: it opens with what the binary does, before usage and options.

use std::process::Command;

#[path = "../../tests/support/process.rs"]
mod process;

fn help(bin: &str) -> String {
    let out = Command::new(bin).arg("--help").output().unwrap();
    assert!(out.status.success(), "{bin} --help failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rpyc_server_help_opens_with_what_it_does() {
    let text = help(env!("CARGO_BIN_EXE_rpyc-server"));
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Serve a built-in RPyC service (calc or test) to any RPyC 6 client"),
        "first line: {first:?}"
    );
    assert!(text.contains("listening on HOST:PORT"), "{text}");
    let short = Command::new(env!("CARGO_BIN_EXE_rpyc-server"))
        .arg("-h")
        .output()
        .unwrap();
    let short = String::from_utf8(short.stdout).unwrap();
    assert!(
        short.starts_with("Serve a built-in RPyC service"),
        "{short}"
    );
}

#[test]
fn rpyc_registry_help_opens_with_what_it_does() {
    let text = help(env!("CARGO_BIN_EXE_rpyc-registry"));
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Serve an RPyC registry (service discovery, over UDP or TCP)"),
        "first line: {first:?}"
    );
}

/// Without the `etcd` feature, asking for etcd is one line that says how to get it.
#[cfg(not(feature = "etcd"))]
#[test]
fn etcd_urls_without_the_feature_say_how_to_build_it() {
    for (bin, args) in [
        (
            env!("CARGO_BIN_EXE_rpyc-server"),
            ["--port", "0", "--register", "etcd://127.0.0.1:2379"],
        ),
        (
            env!("CARGO_BIN_EXE_rpyc-registry"),
            ["--port", "0", "--backend", "etcd://127.0.0.1:2379"],
        ),
    ] {
        let out = Command::new(bin).args(args).output().unwrap();
        assert!(!out.status.success(), "{bin} {args:?} exited 0");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
        assert!(err.contains("--features etcd"), "{err}");
        assert!(out.stdout.is_empty(), "nothing on stdout: {:?}", out.stdout);
    }
}

#[tokio::test]
async fn workers_sets_the_threads_that_serve_connections() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rpyc-server"));
    cmd.args(["--service", "test", "--port", "0", "--workers", "1"]);
    let server = process::Listening::start(cmd);
    // One worker still serves several clients at once, a synchronous method blocking one of
    // them on its own thread meanwhile.
    let a = rpyc::connect(server.socket_addr()).await.unwrap();
    let b = rpyc::connect(server.socket_addr()).await.unwrap();
    let (ra, rb) = (a.root().await.unwrap(), b.root().await.unwrap());
    let blocked = ra.call_method("block", (0.5,));
    let quick = async {
        let v: i64 = rb
            .call_method("add", (40, 2))
            .await
            .unwrap()
            .extract()
            .unwrap();
        v
    };
    let (blocked, quick) = tokio::join!(blocked, quick);
    blocked.unwrap();
    assert_eq!(quick, 42);
    let zero = Command::new(env!("CARGO_BIN_EXE_rpyc-server"))
        .args(["--workers", "0"])
        .output()
        .unwrap();
    assert!(!zero.status.success());
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--workers"));
}
