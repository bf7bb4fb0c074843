//! The binaries' `--help`: it opens with what the binary does, before usage and options.

use std::process::Command;

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
