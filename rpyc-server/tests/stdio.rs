//! RPyC over a child's stdin/stdout: `rpyc::connect_subprocess` driving `rpyc-server --stdio`,
//! the child reaped when the connection is closed and when it is dropped, and Python's
//! `rpyc.utils.factory.connect_subproc` using our `--stdio` server.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rpyc::{NetRef, Value};

#[path = "../../tests/support/python.rs"]
mod support;

const SERVER: &str = env!("CARGO_BIN_EXE_rpyc-server");

/// `rpyc-server --stdio --service test`, started through a shell that first writes its pid to
/// `pid_file` (the shell `exec`s the server, so the pid is the server's).
fn server_command(pid_file: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "echo $$ > '{}'; exec '{SERVER}' --stdio --service test",
            pid_file.display()
        ))
        .stderr(Stdio::null());
    cmd
}

/// Waits (10 s at most) until process `pid` is gone from the process table: exited and
/// reaped (a zombie would still be listed).
async fn gone(pid: u32) -> bool {
    for _ in 0..1000 {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

fn pid_file(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("rpyc-stdio-{tag}-{}.pid", std::process::id()))
}

async fn read_pid(path: &Path) -> u32 {
    for _ in 0..1000 {
        if let Ok(s) = std::fs::read_to_string(path) {
            if let Ok(pid) = s.trim().parse() {
                return pid;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the child never wrote its pid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_drives_our_stdio_server_and_reaps_it_on_close() {
    let pid_path = pid_file("close");
    let conn = rpyc::connect_subprocess(server_command(&pid_path))
        .await
        .unwrap();
    let pid = read_pid(&pid_path).await;
    let root = conn.root().await.unwrap();
    assert_eq!(
        root.call_method("add", (40, 2)).await.unwrap(),
        Value::Int(42)
    );
    // References and callbacks work over the pipes as over a socket.
    let counter: NetRef = root
        .call_method("make_counter", (10,))
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(
        counter.call_method("increment", (5,)).await.unwrap(),
        Value::Int(15)
    );
    let double = rpyc::Func::new(|x: i64| x * 2);
    assert_eq!(
        root.call_method("call", (double, 21)).await.unwrap(),
        Value::Int(42)
    );
    drop((counter, root));
    conn.close().await.unwrap();
    assert!(
        gone(pid).await,
        "the child {pid} was not reaped after close"
    );
    let _ = std::fs::remove_file(&pid_path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_connection_ends_the_child() {
    let pid_path = pid_file("drop");
    let conn = rpyc::connect_subprocess(server_command(&pid_path))
        .await
        .unwrap();
    let pid = read_pid(&pid_path).await;
    conn.ping().await.unwrap();
    drop(conn);
    assert!(gone(pid).await, "the child {pid} outlived its connection");
    let _ = std::fs::remove_file(&pid_path);
}

#[tokio::test]
async fn a_program_that_cannot_start_is_a_connect_error() {
    let err = rpyc::connect_subprocess(Command::new("/nonexistent/rpyc-server"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, rpyc::Error::Connect { .. }),
        "unexpected error: {err}"
    );
    assert!(
        err.to_string().contains("/nonexistent/rpyc-server"),
        "{err}"
    );
}

#[test]
fn python_connect_subproc_uses_our_stdio_server() {
    let script = r#"
import sys, rpyc
from rpyc.utils.factory import connect_subproc
c = connect_subproc([sys.argv[1], "--stdio", "--service", "test"])
assert c.root.get_service_name() == "TEST"
assert c.root.add(40, 2) == 42
k = c.root.make_counter(start=1)
assert k.increment(by=2) == 3
assert c.root.call_n(lambda i: i * i, 4) == (0, 1, 4, 9)
assert list(c.root.numbers(5)) == [0, 1, 2, 3, 4]
try:
    c.root.divide(1, 0)
    raise SystemExit("no ZeroDivisionError")
except ZeroDivisionError:
    pass
c.close()
print("ok")
"#;
    let out = Command::new(support::python())
        .arg("-c")
        .arg(script)
        .arg(SERVER)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "the Python client failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
