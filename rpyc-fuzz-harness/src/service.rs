//! The service the fuzzed connection serves: the server's `test` service (objects by
//! reference, callbacks, mappings, iterators) minus the members whose cost is the point of
//! them. `block` holds a thread for up to 30 s, `sleep` waits up to an hour and `blob` builds
//! up to 256 MiB: a fuzzer finds those names and then measures nothing but its own waiting, so
//! they are hidden here (to the connection they do not exist, like any unexposed member).

use std::sync::Arc;

use rpyc::object::{Args, BoxFuture, CallContext, CallResult, LocalObject, Member};
use rpyc::server::services::TestService;
use rpyc::service::Service;
use rpyc::{RemoteException, Value};

/// Real names of the members hidden from the fuzzer.
const HIDDEN: &[&str] = &["exposed_block", "exposed_sleep", "exposed_blob"];

/// [`TestService`] without [`HIDDEN`]; everything else is passed through.
#[derive(Debug, Default)]
pub struct BoundedTestService(Arc<TestService>);

fn hidden(name: &str) -> bool {
    HIDDEN.contains(&name)
}

impl LocalObject for BoundedTestService {
    fn type_name(&self) -> &str {
        self.0.type_name()
    }
    fn member_names(&self) -> Vec<String> {
        let mut names = self.0.member_names();
        names.retain(|n| !hidden(n));
        names
    }
    fn has_member(&self, name: &str) -> bool {
        !hidden(name) && self.0.has_member(name)
    }
    fn get_member(&self, name: &str) -> Option<Member> {
        if hidden(name) {
            return None;
        }
        self.0.get_member(name)
    }
    fn call_method(
        self: Arc<Self>,
        name: &str,
        ctx: CallContext,
        args: Args,
    ) -> BoxFuture<CallResult> {
        if hidden(name) {
            let err = RemoteException::no_attribute(self.type_name(), name);
            return Box::pin(async move { Err(err) });
        }
        self.0.clone().call_method(name, ctx, args)
    }
    fn call(self: Arc<Self>, ctx: CallContext, args: Args) -> BoxFuture<CallResult> {
        self.0.clone().call(ctx, args)
    }
    fn is_callable(&self) -> bool {
        self.0.is_callable()
    }
    fn set_member(&self, name: &str, value: Value) -> Result<(), RemoteException> {
        self.0.set_member(name, value)
    }
    fn del_member(&self, name: &str) -> Result<(), RemoteException> {
        self.0.del_member(name)
    }
    fn rpyc_getattr(&self, name: &str) -> Option<Result<Member, RemoteException>> {
        if hidden(name) {
            return None;
        }
        self.0.rpyc_getattr(name)
    }
    fn rpyc_setattr(&self, name: &str, value: &Value) -> Option<Result<(), RemoteException>> {
        self.0.rpyc_setattr(name, value)
    }
    fn rpyc_delattr(&self, name: &str) -> Option<Result<(), RemoteException>> {
        self.0.rpyc_delattr(name)
    }
    fn repr(&self) -> String {
        self.0.repr()
    }
    fn str(&self) -> String {
        self.0.str()
    }
    fn hash(&self) -> Option<i64> {
        self.0.hash()
    }
    fn protocol_methods(&self) -> Vec<String> {
        self.0.protocol_methods()
    }
}

impl Service for BoundedTestService {
    fn on_connect(&self, conn: &rpyc::Connection) {
        self.0.on_connect(conn)
    }
    fn on_disconnect(&self, conn: &rpyc::Connection) {
        self.0.on_disconnect(conn)
    }
    fn service_aliases(&self) -> Vec<String> {
        self.0.service_aliases()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_costly_members_and_keeps_the_rest() {
        let s = BoundedTestService::default();
        assert!(s.has_member("exposed_echo"));
        assert!(s.get_member("exposed_make_counter").is_some());
        for name in HIDDEN {
            assert!(
                TestService::default().has_member(name),
                "{name} exists upstream"
            );
            assert!(!s.has_member(name));
            assert!(s.get_member(name).is_none());
            assert!(!s.member_names().iter().any(|n| n == name));
        }
        assert_eq!(
            s.service_aliases(),
            TestService::default().service_aliases()
        );
    }
}
