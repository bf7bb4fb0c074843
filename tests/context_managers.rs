//! Remote context managers between rpyc-rs peers: `NetRef::with_context` (async and
//! blocking) against a Rust object with `__enter__`/`__exit__`, whose `__exit__` gets the
//! failure as `(type_name, message)` through HANDLE_CTXEXIT and may suppress it; and a
//! Python client's `with` block on the same object (its `__exit__` gets Python's exception
//! class by reference).

#[path = "support/python.rs"]
mod python;

use std::sync::{Arc, Mutex};

use rpyc::{Error, NetRef, RemoteException, Value};

/// A resource that notes what its `__exit__` saw; suppresses errors when `suppress` is set.
struct Resource {
    name: String,
    suppress: bool,
    seen: Arc<Mutex<Vec<String>>>,
}

#[rpyc::object(name = "tests.Resource")]
impl Resource {
    #[exposed(name = "__enter__")]
    fn enter(&self) -> String {
        self.seen
            .lock()
            .unwrap()
            .push(format!("enter {}", self.name));
        format!("open {}", self.name)
    }

    #[exposed(name = "__exit__")]
    fn exit(&self, exc: Value, _typ: Value, _tb: Value) -> bool {
        let what = match exc.clone().extract::<(String, String)>() {
            Ok((class, message)) => format!("error {class}: {message}"),
            Err(_) if exc == Value::None => "exit".to_string(),
            Err(_) if exc.clone().extract::<NetRef>().is_ok() => {
                let class: NetRef = exc.extract().unwrap();
                format!("error class {}", class.type_name())
            }
            Err(_) => format!("exit with {}", exc.repr()),
        };
        self.seen.lock().unwrap().push(what);
        self.suppress
    }
}

struct Resources {
    seen: Arc<Mutex<Vec<String>>>,
}

#[rpyc::service]
impl Resources {
    #[exposed]
    fn open(&self, name: String, suppress: Option<bool>) -> Resource {
        Resource {
            name,
            suppress: suppress.unwrap_or(false),
            seen: self.seen.clone(),
        }
    }
}

#[tokio::test]
async fn with_context_against_a_rust_object() -> rpyc::Result<()> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = Resources { seen: seen.clone() };
    let (client, _server) = rpyc::connect_pair_with(service, Default::default()).await;
    let root = client.root().await?;
    let open = |name: &'static str, suppress: bool| {
        let root = root.clone();
        async move {
            root.call_method(
                "open",
                rpyc::Args::new().arg(name).kwarg("suppress", suppress),
            )
            .await?
            .extract::<NetRef>()
            .map_err(Error::from)
        }
    };

    let r = open("a", false).await?;
    assert_eq!(r.type_name(), "tests.Resource");
    assert!(r.is_instance_of("tests.Resource") && !r.is_class());
    // The future is Send: it runs on a spawned task.
    let task = tokio::spawn(async move {
        r.with_context(|v| async move { Ok::<_, Error>(v.extract::<String>()?) })
            .await
    });
    let got = task.await.unwrap()?;
    assert_eq!(got.as_deref(), Some("open a"));

    let err = open("b", false)
        .await?
        .with_context(|_| async {
            Err::<(), _>(Error::from(RemoteException::key_error(Value::str("k"))))
        })
        .await
        .unwrap_err();
    assert!(err.is_remote("KeyError"));

    let out = open("c", true)
        .await?
        .with_context(|_| async { Err::<(), _>(Error::Protocol("hidden".into())) })
        .await?;
    assert_eq!(out, None);

    assert_eq!(
        *seen.lock().unwrap(),
        [
            "enter a",
            "exit",
            "enter b",
            "error KeyError: k",
            "enter c",
            "error RuntimeError: protocol error: hidden",
        ]
    );
    Ok(())
}

/// An object without `__enter__`: the attribute error, and no `__exit__` sent.
#[tokio::test]
async fn with_context_needs_enter() -> rpyc::Result<()> {
    let (client, _server) =
        rpyc::connect_pair_with(rpyc::testing::EchoService, Default::default()).await;
    let root = client.root().await?;
    let err = root
        .with_context(|_| async { Ok::<_, Error>(()) })
        .await
        .unwrap_err();
    assert!(err.is_remote("AttributeError"), "{err:?}");
    // Our server answers INSTANCECHECK with False; names are decided locally.
    assert!(root.is_instance_of("object") && !root.is_instance_of("list"));
    Ok(())
}

#[test]
fn blocking_with_context_runs_exit_after_a_panic() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = Resources { seen: seen.clone() };
    let (client, _server) = rpyc::blocking::connect_pair_with(service).unwrap();
    let root = client.root().unwrap();
    let r: rpyc::blocking::NetRef = root.call_method("open", ("p",)).unwrap().extract().unwrap();
    let n = r
        .with_context(|v| Ok::<_, Error>(v.extract::<String>()?.len()))
        .unwrap();
    assert_eq!(n, Some(6));

    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        r.with_context(|_| -> Result<(), Error> { panic!("body panicked") })
    }));
    assert!(panicked.is_err());
    // The abandoned body's __exit__ was sent without waiting; the server runs it on its own
    // time (our server runs calls concurrently), so wait for it to be noted.
    for _ in 0..1000 {
        if seen.lock().unwrap().len() >= 4 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "enter p",
            "exit",
            "enter p",
            "error RuntimeError: the Rust body panicked"
        ]
    );
}

/// A Python client's `with` block on a Rust object served by rpyc-rs.
#[test]
fn python_with_block_on_a_rust_object() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let for_server = seen.clone();
    let script = r#"
import os, rpyc
c = rpyc.connect("127.0.0.1", int(os.environ["PORT"]))
with c.root.open("py") as v:
    assert v == "open py", v
try:
    with c.root.open("boom"):
        1 / 0
except ZeroDivisionError:
    pass
else:
    raise AssertionError("not raised")
with c.root.open("quiet", suppress=True):
    raise KeyError("k")
"#;
    python::run_python_client(
        move || Resources {
            seen: for_server.clone(),
        },
        script,
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "enter py",
            "exit",
            "enter boom",
            "error class builtins.ZeroDivisionError",
            "enter quiet",
            "error class builtins.KeyError",
        ]
    );
}
