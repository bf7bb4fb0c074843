//! The protocol hooks the macros generate (`repr`, `str`, `hash`, `call`, `rpyc_setattr`,
//! `rpyc_delattr`), the default type name, and returning an object by reference
//! (`IntoValue`).

use rpyc_core::{IntoValue, Value};
use rpyc_netref::{Exported, LocalObject};

use crate::{names, Bare, Counter, Named};

#[test]
fn hooks_and_edge_cases() {
    let b = Bare;
    assert!(b.member_names().is_empty());
    assert!(!b.has_member("anything"));
    assert!(b.get_member("anything").is_none());
    assert_eq!(b.repr(), "Bare()");
    assert_eq!(b.str(), "a bare object");
    assert_eq!(b.hash(), None);
    assert!(!b.is_callable());
    assert_eq!(b.type_name(), concat!(env!("CARGO_CRATE_NAME"), ".Bare"));
    assert!(b.rpyc_setattr("x", &Value::None).unwrap().is_ok());
    assert!(b.rpyc_delattr("x").is_none());

    let n = Named;
    assert_eq!(LocalObject::type_name(&n), "expand.Named");
    assert_eq!(n.repr(), "Named!");
    assert_eq!(n.str(), "Named!");
    assert_eq!(
        names(&n),
        [
            "__call__",
            "both",
            "exposed_both",
            "exposed_ping",
            "exposed_type_name",
            "ping",
            "type_name"
        ]
    );
    assert!(n.is_callable());
    assert_eq!(n.hash(), Some(3));

    let c = Counter::default();
    assert!(c.rpyc_setattr("a", &Value::Int(1)).unwrap().is_ok());
    let err = c
        .rpyc_setattr("readonly", &Value::Int(1))
        .unwrap()
        .unwrap_err();
    assert!(err.is("AttributeError"));
    assert!(c.rpyc_delattr("a").unwrap().is_ok());
    assert!(c.rpyc_delattr("a").unwrap().is_err());
    assert!(c.rpyc_getattr("value").is_none());

    // Returning the object sends it by reference.
    let v = Counter::default().into_value();
    let exported = Exported::from_value_ref(&v).expect("exported by reference");
    assert_eq!(exported.type_name(), "calc.Counter");
}
