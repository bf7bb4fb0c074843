//! The member table the macros generate (`member_names`, `has_member`, `get_member`): which
//! methods, getters and dunder names are members, under which names, and what is not.

use std::sync::atomic::Ordering;

use rpyc_core::Value;
use rpyc_netref::{LocalObject, Member};

use crate::{names, Counter};

#[test]
fn member_registration() {
    let c = Counter::default();
    assert_eq!(c.type_name(), "calc.Counter");
    assert_eq!(
        names(&c),
        [
            "__getitem__",
            "__len__",
            "child",
            "ctx_async",
            "exposed_child",
            "exposed_ctx_async",
            "exposed_incr",
            "exposed_label",
            "exposed_slow_double",
            "exposed_sum",
            "exposed_value",
            "exposed_whoami",
            "label",
            "slow_double",
            "sum",
            "value",
            "whoami",
        ]
    );
    for n in c.member_names() {
        assert!(c.has_member(&n), "{n}");
        assert!(c.get_member(&n).is_some(), "{n}");
    }
    // Prefix-exposed methods are registered under their real name only.
    assert!(!c.has_member("incr"));
    // Not exposed, hooks, and trait methods are not members.
    for n in [
        "secret",
        "exposed_secret",
        "show",
        "h",
        "set",
        "del",
        "invoke",
        "repr",
        "__call__",
        "getitem",
        "len",
    ] {
        assert!(!c.has_member(n), "{n}");
        assert!(c.get_member(n).is_none(), "{n}");
    }
    assert!(matches!(c.get_member("exposed_incr"), Some(Member::Method)));
    assert!(matches!(c.get_member("__len__"), Some(Member::Method)));
    c.n.store(3, Ordering::SeqCst);
    assert!(matches!(
        c.get_member("value"),
        Some(Member::Value(Value::Int(3)))
    ));
    assert!(matches!(
        c.get_member("exposed_value"),
        Some(Member::Value(Value::Int(3)))
    ));
    match c.get_member("label") {
        Some(Member::Value(v)) => assert_eq!(v.as_str(), Some("counter at 3")),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.protocol_methods(), ["__len__", "__getitem__"]);
    assert_eq!(c.repr(), "<Counter 3>");
    assert_eq!(c.str(), "<Counter 3>");
    assert_eq!(c.hash(), Some(21));
    assert!(c.is_callable());
}
