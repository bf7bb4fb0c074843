//! Rust client → real Python rpyc 6.0.2 classic server (SlaveService, `support/py_server.rs`):
//! eval and execute, modules, the namespace, and references released on the Python side through
//! the plain root; then `rpyc::classic` (modules, builtins, eval/execute/namespace, upload and
//! download, errors, a Unix socket, the client-side service, the blocking forms).

#[path = "support/py_server.rs"]
mod py_server;

use py_server::{int, session, string};
use rpyc::{NetRef, Value};

#[tokio::test]
async fn classic_eval_and_execute() {
    let (_server, _conn, root) = session(true).await;

    assert_eq!(int(root.call_method("eval", ("1+2",)).await.unwrap()), 3);
    root.call_method("execute", ("x = 40 + 2\ndef sq(n):\n    return n * n",))
        .await
        .unwrap();
    assert_eq!(int(root.call_method("eval", ("x",)).await.unwrap()), 42);
    assert_eq!(
        int(root.call_method("eval", ("sq(x)",)).await.unwrap()),
        1764
    );

    // A function defined remotely, called from Rust.
    let sq: NetRef = root
        .call_method("eval", ("sq",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(int(sq.call((9,)).await.unwrap()), 81);

    let err = root.call_method("eval", ("1/0",)).await.unwrap_err();
    assert!(err.is_remote("ZeroDivisionError"), "{err:?}");
    let err = root
        .call_method("execute", ("def broken(:",))
        .await
        .unwrap_err();
    assert!(err.is_remote("SyntaxError"), "{err:?}");
}

#[tokio::test]
async fn classic_modules() {
    let (_server, _conn, root) = session(true).await;

    let sys: NetRef = root
        .call_method("getmodule", ("sys",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    let version: String = sys.attr("version").await.unwrap();
    assert!(version.starts_with("3."), "{version}");
    let version_info: NetRef = sys.attr("version_info").await.unwrap();
    assert_eq!(version_info.getitem(0).await.unwrap(), Value::Int(3));

    let os_path: NetRef = root
        .call_method("getmodule", ("os.path",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    let joined = os_path.call_method("join", ("a", "b")).await.unwrap();
    assert_eq!(string(joined), "a/b");

    let err = root
        .call_method("getmodule", ("no_such_module_xyz",))
        .await
        .unwrap_err();
    assert!(err.is_remote("ModuleNotFoundError"), "{err:?}");
}

#[tokio::test]
async fn classic_namespace() {
    let (_server, _conn, root) = session(true).await;

    root.call_method("execute", ("greeting = 'hi'",))
        .await
        .unwrap();
    let ns: NetRef = root.attr("namespace").await.unwrap();
    assert_eq!(ns.type_name(), "builtins.dict");
    assert_eq!(string(ns.getitem("greeting").await.unwrap()), "hi");
    assert!(ns.contains("greeting").await.unwrap());
    assert!(!ns.contains("nope").await.unwrap());

    // Values put in the namespace from Rust are visible to remote code.
    ns.setitem("n", 5).await.unwrap();
    assert_eq!(int(root.call_method("eval", ("n * 2",)).await.unwrap()), 10);
    let keys = ns.collect().await.unwrap();
    assert!(keys.contains(&Value::str("n")), "{keys:?}");
    assert!(ns.getitem("nope").await.unwrap_err().is_remote("KeyError"));
}

#[tokio::test]
async fn classic_dropped_references_are_released_on_the_python_side() {
    let (_server, conn, root) = session(true).await;

    // Put Python's own connection object in the namespace so remote code can count the objects
    // it holds for us (`conn._local_objects`).
    let py_conn = root.call_method("getconn", ()).await.unwrap();
    let ns: NetRef = root.attr("namespace").await.unwrap();
    ns.setitem("pyconn", py_conn).await.unwrap();
    let held = || async {
        int(root
            .call_method("eval", ("len(pyconn._local_objects._dict)",))
            .await
            .unwrap())
    };

    let baseline = held().await;
    let proxies = conn.proxy_count();
    let kept: NetRef = root
        .call_method("eval", ("[1, 2]",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(held().await, baseline + 1);
    drop(kept);
    assert_eq!(held().await, baseline);

    for i in 0..300 {
        let list: NetRef = root
            .call_method("eval", (format!("[{i}]"),))
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(list.getitem(0).await.unwrap(), Value::Int(i));
    }
    // Each DEL went out before the next request on the same connection, and Python handles
    // one connection's messages in order: every list is gone.
    assert_eq!(held().await, baseline);
    assert_eq!(conn.proxy_count(), proxies);
}

// ---------------------------------------------------------------------------------------------
// `rpyc::classic`: the classic API (what Python's MasterService installs) against the same
// stock server, over TCP and a Unix socket, and against a server that installs MasterService on
// its own side (`ClassicService`, what `rpyc_classic.py -m stdio` serves).
// ---------------------------------------------------------------------------------------------

use std::path::{Path, PathBuf};

use rpyc::classic::{self, ClassicConnection};

/// A fresh scratch directory for one test (removed first if a previous run left it).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rpyc-classic-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` bytes that are not all alike (every byte value, in a pattern that does not repeat with
/// the 64 000-byte chunk).
fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Every file under `dir` with its bytes, by path relative to `dir`; directories as `None`.
fn tree(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if p.is_dir() {
                out.push((rel, None));
                stack.push(p);
            } else {
                out.push((rel, Some(std::fs::read(&p).unwrap())));
            }
        }
    }
    out.sort();
    out
}

async fn classic_session() -> (py_server::PyServer, ClassicConnection) {
    let server = py_server::PyServer::start(true);
    let py = classic::connect(server.addr.as_str()).await.unwrap();
    (server, py)
}

#[tokio::test]
async fn classic_api_modules_builtins_eval_execute_namespace() {
    let (_server, py) = classic_session().await;

    // modules: `conn.modules["os.path"].join(...)`, cached by name as Python's ModuleNamespace.
    let os_path = py.module("os.path").await.unwrap();
    let joined = os_path.call_method("join", ("a", "b", "c")).await.unwrap();
    assert_eq!(string(joined), "a/b/c");
    assert_eq!(py.module("os.path").await.unwrap(), os_path);
    let math = py.module("math").await.unwrap();
    let root2: f64 = math
        .call_method("sqrt", (2.0,))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert!((root2 - std::f64::consts::SQRT_2).abs() < 1e-12);

    // builtins
    let b = py.builtins();
    assert_eq!(string(b.call_method("repr", ("x",)).await.unwrap()), "'x'");
    let list: NetRef = b
        .call_method("list", ("abc",))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(int(b.call_method("len", (&list,)).await.unwrap()), 3);

    // eval / execute / namespace
    assert_eq!(int(py.eval("6 * 7").await.unwrap()), 42);
    py.execute("import math\ndef hyp(a, b):\n    return math.hypot(a, b)")
        .await
        .unwrap();
    let hyp: f64 = py.eval("hyp(3, 4)").await.unwrap().extract().unwrap();
    assert_eq!(hyp, 5.0);
    let ns = py.namespace().await.unwrap();
    assert_eq!(ns.type_name(), "builtins.dict");
    assert!(ns.contains("hyp").await.unwrap());
    ns.setitem("from_rust", 7).await.unwrap();
    assert_eq!(int(py.eval("from_rust * 6").await.unwrap()), 42);

    // The plain connection is still there.
    py.connection().ping().await.unwrap();
    assert_eq!(
        string(py.root().call_method("get_service_name", ()).await.unwrap()),
        "SLAVE"
    );
    py.close().await.unwrap();
    assert!(py.connection().is_closed());
}

#[tokio::test]
async fn classic_api_errors_are_python_exceptions() {
    let (_server, py) = classic_session().await;

    let err = py.eval("1/0").await.unwrap_err();
    assert!(err.is_remote("ZeroDivisionError"), "{err:?}");
    let err = py.execute("def broken(:").await.unwrap_err();
    assert!(err.is_remote("SyntaxError"), "{err:?}");
    let err = py.module("no_such_module_xyz").await.unwrap_err();
    assert!(err.is_remote("ModuleNotFoundError"), "{err:?}");
    let err = py
        .builtins()
        .call_method("open", ("/no/such/dir/file.txt",))
        .await
        .unwrap_err();
    assert!(err.is_remote("FileNotFoundError"), "{err:?}");
    let err = py.eval("undefined_name").await.unwrap_err();
    assert!(err.is_remote("NameError"), "{err:?}");
    // The connection survives every one of them.
    assert_eq!(int(py.eval("1 + 1").await.unwrap()), 2);
}

#[tokio::test]
async fn classic_upload_and_download_a_file() {
    let (_server, py) = classic_session().await;
    let dir = scratch("file");
    let local = dir.join("data.bin");
    // Several chunks of 64 000 bytes and a short last one.
    let bytes = pattern(3 * classic::STREAM_CHUNK + 4321, 1);
    std::fs::write(&local, &bytes).unwrap();

    let remote = dir.join("remote.bin");
    let remote = remote.to_str().unwrap();
    py.upload(&local, remote).await.unwrap();
    let size = py
        .module("os.path")
        .await
        .unwrap()
        .call_method("getsize", (remote,))
        .await
        .unwrap();
    assert_eq!(int(size), bytes.len() as i64);
    // What Python reads is what we sent.
    let digest = |path: &str| {
        format!("__import__('hashlib').sha256(open({path:?}, 'rb').read()).hexdigest()")
    };
    let remote_digest = string(py.eval(&digest(remote)).await.unwrap());
    let local_digest = string(py.eval(&digest(local.to_str().unwrap())).await.unwrap());
    assert_eq!(remote_digest, local_digest);

    let back = dir.join("back.bin");
    py.download(remote, &back).await.unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), bytes);

    // An empty file goes both ways too.
    let empty = dir.join("empty");
    std::fs::write(&empty, b"").unwrap();
    let remote_empty = dir.join("remote-empty");
    py.upload(&empty, remote_empty.to_str().unwrap())
        .await
        .unwrap();
    py.download(remote_empty.to_str().unwrap(), dir.join("empty-back"))
        .await
        .unwrap();
    assert_eq!(std::fs::read(dir.join("empty-back")).unwrap(), b"");

    // Paths that are neither a file nor a directory.
    let err = py.upload(dir.join("missing"), "/tmp/x").await.unwrap_err();
    assert!(matches!(err, rpyc::Error::Io { .. }), "{err:?}");
    let missing = dir.join("missing-remote");
    let err = py
        .download(missing.to_str().unwrap(), dir.join("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, rpyc::Error::Io { .. }), "{err:?}");
    // A remote error while writing is the server's exception.
    let err = py
        .upload(&local, "/no/such/dir/remote.bin")
        .await
        .unwrap_err();
    assert!(err.is_remote("FileNotFoundError"), "{err:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn classic_upload_and_download_a_directory_tree() {
    let (_server, py) = classic_session().await;
    let dir = scratch("tree");
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(src.join("empty_dir")).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha\n").unwrap();
    std::fs::write(src.join("sub/b.bin"), pattern(70_000, 2)).unwrap();
    std::fs::write(src.join("sub/deeper/c.bin"), pattern(10, 3)).unwrap();
    std::fs::write(src.join("sub/deeper/empty"), b"").unwrap();

    // Uploaded into a directory that does not exist yet (created with its parents).
    let remote = dir.join("remote/nested/copy");
    let remote = remote.to_str().unwrap();
    py.upload(&src, remote).await.unwrap();
    let listing: Vec<String> = py
        .eval(&format!("sorted(__import__('os').listdir({remote:?}))"))
        .await
        .unwrap()
        .extract::<NetRef>()
        .unwrap()
        .fetch()
        .await
        .unwrap();
    assert_eq!(listing, ["a.txt", "empty_dir", "sub"]);
    assert_eq!(tree(Path::new(remote)), tree(&src));

    let back = dir.join("back");
    py.download(remote, &back).await.unwrap();
    assert_eq!(tree(&back), tree(&src));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn classic_download_refuses_entries_that_leave_the_target_directory() {
    let (_server, py) = classic_session().await;
    let dir = scratch("hostile");
    std::fs::create_dir_all(dir.join("remote")).unwrap();
    std::fs::write(dir.join("remote/ok.txt"), b"ok").unwrap();
    // A server whose os.listdir lies (as a hostile server could): it names `../escaped.txt`.
    py.execute(
        "import os\n_real = os.listdir\nos.listdir = lambda p: _real(p) + ['../escaped.txt']",
    )
    .await
    .unwrap();
    let remote = dir.join("remote");
    let err = py
        .download(remote.to_str().unwrap(), dir.join("back"))
        .await
        .unwrap_err();
    py.execute("os.listdir = _real").await.unwrap();
    assert!(matches!(err, rpyc::Error::Protocol(_)), "{err:?}");
    assert!(!dir.join("escaped.txt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn classic_over_a_unix_socket() {
    let dir = scratch("unix");
    let path = dir.join("classic.sock");
    let server = py_server::PyServer::start_args(&["--classic", "--unix", path.to_str().unwrap()]);
    assert_eq!(server.addr, path.to_str().unwrap());
    let py = classic::unix_connect(&path).await.unwrap();
    assert_eq!(int(py.eval("2 ** 10").await.unwrap()), 1024);
    let cwd = py
        .module("os")
        .await
        .unwrap()
        .call_method("getcwd", ())
        .await
        .unwrap();
    assert!(string(cwd).starts_with('/'));
    let file = dir.join("f.txt");
    std::fs::write(&file, b"over a unix socket").unwrap();
    let remote = dir.join("g.txt");
    py.upload(&file, remote.to_str().unwrap()).await.unwrap();
    assert_eq!(std::fs::read(&remote).unwrap(), b"over a unix socket");
    let err = py.eval("[][1]").await.unwrap_err();
    assert!(err.is_remote("IndexError"), "{err:?}");
    drop(py);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn classic_over_tls() {
    let dir = scratch("tls");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = ck.cert.pem();
    std::fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let server = py_server::PyServer::start_args(&[
        "--classic",
        "--certfile",
        dir.join("cert.pem").to_str().unwrap(),
        "--keyfile",
        dir.join("key.pem").to_str().unwrap(),
    ]);
    let tls = rpyc::tls::client_config(cert_pem.as_bytes()).unwrap();
    let py = classic::tls_connect(server.addr.as_str(), "localhost", tls.clone())
        .await
        .unwrap();
    assert_eq!(
        string(py.eval("__import__('sys').platform").await.unwrap()),
        std::env::consts::OS
    );
    // A dropped reference's HANDLE_DEL, then a request: two frames written together, never in
    // one TLS record (Python's SSL socket would sit on the second one).
    for i in 0..3 {
        let list: NetRef = py.eval(&format!("[{i}]")).await.unwrap().extract().unwrap();
        drop(list);
        assert_eq!(int(py.eval("1 + 1").await.unwrap()), 2);
    }
    let file = dir.join("secret.txt");
    std::fs::write(&file, pattern(100_000, 9)).unwrap();
    let remote = dir.join("remote.txt");
    py.upload(&file, remote.to_str().unwrap()).await.unwrap();
    py.download(remote.to_str().unwrap(), dir.join("back.txt"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(dir.join("back.txt")).unwrap(),
        pattern(100_000, 9)
    );
    let err = py.eval("{}['k']").await.unwrap_err();
    assert!(err.is_remote("KeyError"), "{err:?}");
    py.close().await.unwrap();

    // A name the certificate does not carry fails the handshake.
    let err = classic::tls_connect(server.addr.as_str(), "example.com", tls)
        .await
        .unwrap_err();
    assert!(matches!(err, rpyc::Error::Connect { .. }), "{err:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn classic_server_with_master_service_reads_only_placeholders_of_the_client() {
    // `rpyc.ClassicService`: on connect, Python's MasterService reads our getmodule, eval,
    // execute and namespace (a VoidService client is refused here).
    let server = py_server::PyServer::start_args(&["--classic-peer"]);
    let py = classic::connect(server.addr.as_str()).await.unwrap();
    // What the server installed on its connection to us, seen from Python.
    let pyconn = py.root().call_method("getconn", ()).await.unwrap();
    py.namespace()
        .await
        .unwrap()
        .setitem("c", pyconn)
        .await
        .unwrap();
    // Python runs the server's on_connect (and its requests to us) on the connection's one
    // thread, serving our requests in between: wait until its MasterService is installed.
    let mut installed = false;
    for _ in 0..500 {
        if py.eval("hasattr(c, 'teleport')").await.unwrap() == Value::Bool(true) {
            installed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        installed,
        "the server's MasterService never finished installing"
    );
    let check = |expr: &'static str| {
        let py = py.clone();
        async move { py.eval(expr).await.unwrap() }
    };
    assert_eq!(
        check("(c.eval, c.execute, c.namespace)").await,
        Value::Tuple(vec![Value::None, Value::None, Value::None])
    );
    // Modules are placeholders that refuse every attribute.
    assert_eq!(
        check("hasattr(c.modules.os, 'system')").await,
        Value::Bool(false)
    );
    assert_eq!(
        check("hasattr(c.builtins, 'open')").await,
        Value::Bool(false)
    );
    let err = py.eval("c.modules['os.path'].join").await.unwrap_err();
    assert!(err.is_remote("AttributeError"), "{err:?}");
    assert!(err.to_string().contains("serves no modules"), "{err}");
    // Nothing else is exposed on our root.
    assert_eq!(
        check("hasattr(c.root, 'getconn')").await,
        Value::Bool(false)
    );
    assert_eq!(
        check("c.root.get_service_name()").await,
        Value::str("CLASSICCLIENT")
    );
}

#[test]
fn classic_blocking_api() {
    let server = py_server::PyServer::start(true);
    let py = classic::blocking::connect(server.addr.as_str()).unwrap();
    let pi: f64 = py.module("math").unwrap().attr("pi").unwrap();
    assert_eq!(pi, std::f64::consts::PI);
    py.execute("squares = [i * i for i in range(5)]").unwrap();
    let squares: Vec<i64> = py
        .eval("squares")
        .unwrap()
        .extract::<rpyc::blocking::NetRef>()
        .unwrap()
        .fetch()
        .unwrap();
    assert_eq!(squares, [0, 1, 4, 9, 16]);
    assert!(py.namespace().unwrap().contains("squares").unwrap());
    assert_eq!(
        py.builtins().call_method("abs", (-3,)).unwrap(),
        Value::Int(3)
    );
    let dir = scratch("blocking");
    std::fs::write(dir.join("in.txt"), b"blocking bytes").unwrap();
    let remote = dir.join("remote.txt");
    py.upload(dir.join("in.txt"), remote.to_str().unwrap())
        .unwrap();
    py.download(remote.to_str().unwrap(), dir.join("out.txt"))
        .unwrap();
    assert_eq!(
        std::fs::read(dir.join("out.txt")).unwrap(),
        b"blocking bytes"
    );
    assert!(py.eval("1/0").unwrap_err().is_remote("ZeroDivisionError"));
    py.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `rpyc_classic.py -m stdio` as a child process (Python's `classic.connect_subproc`): its
/// `MasterService` reads our client-side service while connecting, and classic calls work over
/// the pipes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_over_a_child_process_stdio() {
    let python = py_server::python::python();
    let script = python.with_file_name("rpyc_classic.py");
    let mut cmd = std::process::Command::new(&python);
    cmd.arg(&script).args(["-m", "stdio"]);
    let py = rpyc::classic::connect_subprocess(cmd).await.unwrap();
    assert_eq!(int(py.eval("6 * 7").await.unwrap()), 42);
    let joined = py
        .module("os.path")
        .await
        .unwrap()
        .call_method("join", ("a", "b"))
        .await
        .unwrap();
    assert_eq!(string(joined), "a/b");
    assert!(py
        .eval("1 / 0")
        .await
        .unwrap_err()
        .is_remote("ZeroDivisionError"));
    py.close().await.unwrap();
}
