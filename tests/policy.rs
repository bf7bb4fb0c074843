//! The access policy, enforced by the owner of an object with its own `Config`, over a real
//! connection: which names a peer reaches through GETATTR, CALLATTR and CMP, for each
//! combination of the policy switches; the CVE-2019-16328 guard; CMP with a missing operator;
//! non-exposed methods; pickle; setattr/delattr on the root; how much of a refused or unknown
//! name an error repeats.

#[macro_use]
mod common;

use std::sync::Arc;

use common::{connect_full, Transport};
use rpyc::core::message::Handler;
use rpyc::{
    Args, BoxFuture, CallContext, CallResult, Config, Connection, IntoValue, LocalObject, Member,
    NetRef, RemoteException, Value,
};

/// A hand-written object with one member of each kind the policy tells apart.
struct Specimen;

const SPECIMEN_MEMBERS: [&str; 4] = ["exposed_foo", "bar", "_priv", "__len__"];

impl LocalObject for Specimen {
    fn type_name(&self) -> &str {
        "lab.Specimen"
    }

    fn member_names(&self) -> Vec<String> {
        SPECIMEN_MEMBERS.iter().map(|s| s.to_string()).collect()
    }

    fn get_member(&self, name: &str) -> Option<Member> {
        match name {
            "exposed_foo" | "bar" | "__len__" => Some(Member::Method),
            "_priv" => Some(Member::Value(Value::str("private"))),
            _ => None,
        }
    }

    fn call_method(
        self: Arc<Self>,
        name: &str,
        _ctx: CallContext,
        _args: Args,
    ) -> BoxFuture<CallResult> {
        let r = match name {
            "exposed_foo" => Ok(Value::str("foo!")),
            "bar" => Ok(Value::str("bar!")),
            "__len__" => Ok(Value::Int(3)),
            other => Err(RemoteException::attribute_error(format!(
                "no method {other}"
            ))),
        };
        Box::pin(async move { r })
    }
}

/// The root hands out a specimen when called (CALL is not subject to the attribute policy, so
/// this works even with `allow_getattr = false`).
struct LabService;

impl LabService {
    #[allow(dead_code)]
    fn internal_state(&self) -> i64 {
        7
    }
}

#[rpyc::service]
impl LabService {
    #[rpyc(call)]
    fn specimen(&self) -> Value {
        rpyc::export(Specimen)
    }

    #[exposed]
    fn hello(&self) -> &'static str {
        "hi"
    }

    /// In the `#[rpyc::service]` block but not exposed: never a member.
    fn secret(&self) -> &'static str {
        "the secret"
    }
}

async fn lab(t: Transport, server_config: Config) -> (Connection, common::Guard) {
    connect_full(t, || LabService, server_config, None, Config::default()).await
}

/// One row of the table: a server configuration and what it lets the peer reach.
struct Row {
    label: &'static str,
    config: Config,
    /// Names (of those probed) reachable through GETATTR and CALLATTR.
    reachable: &'static [&'static str],
    /// What `dir(specimen)` lists.
    dir: &'static [&'static str],
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            label: "defaults",
            config: Config::default(),
            reachable: &["foo", "exposed_foo", "__len__"],
            dir: &["__len__", "foo"],
        },
        Row {
            label: "allow_public_attrs",
            config: Config::builder().allow_public_attrs(true).build(),
            reachable: &["foo", "exposed_foo", "bar", "__len__"],
            dir: &["__len__", "bar", "foo"],
        },
        Row {
            label: "allow_all_attrs",
            config: Config::builder().allow_all_attrs(true).build(),
            reachable: &["foo", "exposed_foo", "bar", "_priv", "__len__"],
            dir: &["__len__", "_priv", "bar", "foo"],
        },
        Row {
            label: "allow_exposed_attrs=false",
            config: Config::builder().allow_exposed_attrs(false).build(),
            reachable: &["__len__"],
            dir: &["__len__"],
        },
        Row {
            label: "allow_getattr=false",
            config: Config::builder().allow_getattr(false).build(),
            reachable: &[],
            dir: &[],
        },
    ]
}

/// Every name probed; `__class__` and `__dict__` are never members, whatever the policy.
const PROBED: [&str; 7] = [
    "foo",
    "exposed_foo",
    "bar",
    "_priv",
    "__len__",
    "__class__",
    "__dict__",
];

fn is_attribute_error<T: std::fmt::Debug>(r: &rpyc::Result<T>) -> bool {
    matches!(r, Err(e) if e.is_remote("AttributeError"))
}

async fn policy_table(t: Transport) -> rpyc::Result<()> {
    for row in rows() {
        let label = row.label;
        let (conn, _server) = lab(t, row.config.clone()).await;
        let root = conn.root().await?;
        let specimen: NetRef = root.call(()).await?.extract()?;
        assert_eq!(specimen.type_name(), "lab.Specimen");

        for name in PROBED {
            let got = specimen.getattr(name).await;
            let called = specimen.call_method(name, ()).await;
            if row.reachable.contains(&name) {
                match name {
                    "_priv" => {
                        assert_eq!(got?, Value::str("private"), "[{label}] getattr {name}");
                        // A str is not callable.
                        assert!(
                            matches!(&called, Err(e) if e.is_remote("TypeError")),
                            "[{label}] call {name}: {called:?}"
                        );
                    }
                    _ => {
                        let expected = match name {
                            "__len__" => Value::Int(3),
                            "bar" => Value::str("bar!"),
                            _ => Value::str("foo!"),
                        };
                        let method: NetRef = got?.extract()?;
                        assert_eq!(method.call(()).await?, expected, "[{label}] getattr {name}");
                        assert_eq!(called?, expected, "[{label}] call {name}");
                    }
                }
            } else {
                assert!(
                    is_attribute_error(&got),
                    "[{label}] getattr {name}: {got:?}"
                );
                assert!(
                    is_attribute_error(&called),
                    "[{label}] call {name}: {called:?}"
                );
            }
        }

        // CVE-2019-16328: CMP with `__getattribute__` must not read attributes around the
        // policy. Only allow_all_attrs lets the name through, and then the object has no such
        // method: nothing is returned.
        let cmp = specimen
            .compare(Value::str("_priv"), "__getattribute__")
            .await;
        assert!(
            is_attribute_error(&cmp),
            "[{label}] cmp __getattribute__: {cmp:?}"
        );
        let cmp = root.compare(Value::str("hello"), "__getattribute__").await;
        if label != "allow_all_attrs" {
            assert!(
                is_attribute_error(&cmp),
                "[{label}] cmp __getattribute__ on the root: {cmp:?}"
            );
        }
        assert!(
            !matches!(cmp, Ok(ref v) if v.as_object().is_some()),
            "[{label}] cmp __getattribute__ leaked a member: {cmp:?}"
        );

        // `__eq__` is a safe attribute: identity comparison, unless getattr is off.
        let eq = specimen.compare(&specimen, "__eq__").await;
        if label == "allow_getattr=false" {
            assert!(is_attribute_error(&eq), "[{label}] cmp __eq__: {eq:?}");
        } else {
            assert_eq!(eq?, Value::Bool(true), "[{label}] cmp __eq__");
            let other: NetRef = root.call(()).await?.extract()?;
            assert_eq!(
                specimen.compare(&other, "__eq__").await?,
                Value::Bool(false),
                "[{label}] two specimens"
            );
        }

        // The objects' setattr: refused (the policy, then the object).
        let set = specimen.setattr("bar", 1).await;
        assert!(is_attribute_error(&set), "[{label}] setattr: {set:?}");
    }
    Ok(())
}

/// `dir()` lists exactly the names the policy lets the peer reach, for every row.
async fn dir_follows_the_policy(t: Transport) -> rpyc::Result<()> {
    for row in rows() {
        let (conn, _server) = lab(t, row.config.clone()).await;
        let specimen: NetRef = conn.root().await?.call(()).await?.extract()?;
        let listed = specimen.dir().await?;
        assert_eq!(listed, row.dir, "[{}] dir(specimen)", row.label);
    }
    Ok(())
}

async fn non_exposed_methods_are_unreachable(t: Transport) -> rpyc::Result<()> {
    let configs = [
        ("defaults", Config::default()),
        (
            "allow_public_attrs",
            Config::builder().allow_public_attrs(true).build(),
        ),
        (
            "allow_all_attrs",
            Config::builder().allow_all_attrs(true).build(),
        ),
    ];
    for (label, cfg) in configs {
        let (conn, _server) = lab(t, cfg).await;
        let root = conn.root().await?;
        assert_eq!(root.call_method("hello", ()).await?, Value::str("hi"));
        for name in [
            "secret",
            "exposed_secret",
            "internal_state",
            "specimen",
            "exposed_specimen",
            "__call__",
            "__init__",
            "__class__",
        ] {
            let got = root.getattr(name).await;
            assert!(
                is_attribute_error(&got),
                "[{label}] getattr {name}: {got:?}"
            );
            let called = root.call_method(name, ()).await;
            assert!(
                is_attribute_error(&called),
                "[{label}] call {name}: {called:?}"
            );
        }
        let names = root.dir().await?;
        assert!(
            !names
                .iter()
                .any(|n| n.contains("secret") || n == "internal_state"),
            "[{label}] {names:?}"
        );
    }
    Ok(())
}

async fn pickle_is_refused(t: Transport) -> rpyc::Result<()> {
    for allow_pickle in [false, true] {
        let cfg = Config::builder().allow_pickle(allow_pickle).build();
        let (conn, _server) = lab(t, cfg).await;
        let root = conn.root().await?;
        for proto in [Value::Int(-1), Value::Int(4)] {
            let e = conn
                .sync_request(Handler::Pickle, vec![root.clone().into_value(), proto])
                .await
                .unwrap_err();
            assert!(
                e.is_remote("ValueError"),
                "allow_pickle={allow_pickle}: {e:?}"
            );
        }
        let specimen: NetRef = root.call(()).await?.extract()?;
        let e = conn
            .sync_request(Handler::Pickle, vec![specimen.into_value(), Value::Int(-1)])
            .await
            .unwrap_err();
        assert!(e.is_remote("ValueError"), "{e:?}");
        // The connection lives on.
        assert_eq!(root.call_method("hello", ()).await?, Value::str("hi"));
    }
    Ok(())
}

async fn root_setattr_and_delattr_are_refused(t: Transport) -> rpyc::Result<()> {
    let permissive = Config::builder()
        .allow_all_attrs(true)
        .allow_setattr(true)
        .allow_delattr(true)
        .build();
    for (label, cfg) in [("defaults", Config::default()), ("permissive", permissive)] {
        let (conn, _server) = lab(t, cfg).await;
        let root = conn.root().await?;
        for name in ["hello", "new_attribute", "exposed_hello", "__class__"] {
            let r = root.setattr(name, 1).await;
            assert!(is_attribute_error(&r), "[{label}] setattr {name}: {r:?}");
            let r = root.delattr(name).await;
            assert!(is_attribute_error(&r), "[{label}] delattr {name}: {r:?}");
        }
        // Nothing changed.
        assert_eq!(root.call_method("hello", ()).await?, Value::str("hi"));
        let r = root.getattr("new_attribute").await;
        assert!(is_attribute_error(&r), "[{label}] {r:?}");
    }
    Ok(())
}

/// A `Dispatcher` mounting the specimen: its dotted names reach the exposed members only, not
/// what the policy refuses through the attribute path.
async fn dotted_names_reach_only_exposed_members(t: Transport) -> rpyc::Result<()> {
    let service = || {
        rpyc::dispatcher::Dispatcher::new("lab.Bench")
            .mount("lab", Specimen)
            .into_service(&["BENCH"])
    };
    let (conn, _server) =
        connect_full(t, service, Config::default(), None, Config::default()).await;
    let root = conn.root().await?;
    assert_eq!(root.call_method("lab.foo", ()).await?, Value::str("foo!"));
    for name in ["lab.bar", "lab._priv", "lab.__len__", "lab.exposed_foo.x"] {
        let r = root.call_method(name, ()).await;
        assert!(is_attribute_error(&r), "{name}: {r:?}");
    }
    // The attribute path applies the policy as for any object.
    let lab: NetRef = root.attr("lab").await?;
    assert_eq!(lab.call_method("foo", ()).await?, Value::str("foo!"));
    assert!(is_attribute_error(&lab.call_method("bar", ()).await));
    Ok(())
}

/// CMP as Python answers it for an object without the operator: identity for `__eq__` and
/// `__ne__`, `NotImplemented` for the other rich comparisons, and `AttributeError` for any
/// other allowed operator (`__add__` is a safe attribute; Python's `getattr(type(obj), op)`
/// fails).
async fn cmp_with_a_missing_operator_is_an_attribute_error(t: Transport) -> rpyc::Result<()> {
    let (conn, _server) = lab(t, Config::default()).await;
    let specimen: NetRef = conn.root().await?.call(()).await?.extract()?;
    assert_eq!(
        specimen.compare(&specimen, "__eq__").await?,
        Value::Bool(true)
    );
    assert_eq!(specimen.compare(1, "__ne__").await?, Value::Bool(true));
    assert_eq!(specimen.compare(1, "__lt__").await?, Value::NotImplemented);
    for op in ["__add__", "__cmp__"] {
        let r = specimen.compare(1, op).await;
        assert!(is_attribute_error(&r), "{op}: {r:?}");
    }
    Ok(())
}

/// An unknown or refused name of 1 MiB comes back once, cut to `MAX_ECHOED_NAME` characters
/// and `…`: the whole exception (message, attributes, traceback) stays small.
async fn errors_echo_a_long_name_once_and_short(t: Transport) -> rpyc::Result<()> {
    use rpyc::core::vinegar::MAX_ECHOED_NAME;
    let (conn, _server) = lab(t, Config::default()).await;
    let root = conn.root().await?;
    let unknown = format!("a{}", "x".repeat(1 << 20));
    let refused = format!("_{}", "x".repeat(1 << 20));
    let cut = |name: &str| format!("{}…", &name[..MAX_ECHOED_NAME]);
    let cases = [
        (root.getattr(&unknown).await, cut(&unknown)),
        (root.call_method(&unknown, ()).await, cut(&unknown)),
        (root.getattr(&refused).await, cut(&refused)),
    ];
    for (r, shown) in cases {
        let Err(rpyc::Error::Remote(e)) = r else {
            panic!("expected a remote AttributeError, got {r:?}")
        };
        assert!(e.is("AttributeError"), "{e}");
        assert_eq!(e.message().matches(&shown).count(), 1, "{}", e.message());
        assert!(e.attrs.is_empty(), "{:?}", e.attrs);
        let size = e.message().len() + e.traceback.len();
        assert!(size < 1024, "{size} bytes of message and traceback");
    }
    Ok(())
}

transport_tests!(
    policy_table,
    cmp_with_a_missing_operator_is_an_attribute_error,
    errors_echo_a_long_name_once_and_short,
    dotted_names_reach_only_exposed_members,
    dir_follows_the_policy,
    non_exposed_methods_are_unreachable,
    pickle_is_refused,
    root_setattr_and_delattr_are_refused,
);
