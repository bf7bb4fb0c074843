//! An unmarked method or constant of a `#[service]`/`#[object]` block is not a member and gets
//! no `dead_code` warning: leaving it unmarked is how it is kept off the remote surface. This
//! file denies warnings, so it compiles only if the macros keep that promise; the test then
//! checks the unmarked items really are unreachable.

#![deny(warnings)]

use rpyc::Value;

struct Svc {
    n: i64,
}

#[rpyc::service]
impl Svc {
    #[exposed]
    fn get(&self) -> i64 {
        self.n
    }

    /// Unmarked and unused: neither a member nor a warning.
    fn switched_off(&self) -> i64 {
        self.n + 1
    }

    /// Unmarked, private, async, by another name than `exposed_…`.
    async fn later(&self, x: i64) -> i64 {
        x
    }

    /// Unmarked constant.
    const LIMIT: i64 = 3;

    #[rpyc(repr)]
    fn shown(&self) -> String {
        "<Svc>".into()
    }
}

struct Obj;

#[rpyc::object]
impl Obj {
    fn only_helper(&self) {}
}

#[tokio::test]
async fn unmarked_items_are_not_members() {
    let (client, _server) = rpyc::connect_pair_with(Svc { n: 41 }, rpyc::Config::default()).await;
    let root = client.root().await.unwrap();
    assert_eq!(root.call_method("get", ()).await.unwrap(), Value::Int(41));
    for name in ["switched_off", "later", "limit", "LIMIT"] {
        let err = root.getattr(name).await.unwrap_err();
        assert!(err.to_string().contains("AttributeError"), "{name}: {err}");
    }
    let _ = rpyc::export(Obj);
}
