//! A tiny service for examples and doctests: `echo(x)`, `add(a, b)`, `fail(msg)`,
//! `call(f, *args)` and `numbers(n)` (a lazy iterator over `0..n`, by reference).

use std::sync::Arc;

use rpyc_core::{IntoValue, RemoteException, Value};

use crate::lazy_iter::LazyIter;
use crate::netref::NetRef;
use crate::object::{Args, BoxFuture, CallContext, CallResult, LocalObject};
use crate::service::Service;

/// The service behind the crate's examples (service name `ECHO`).
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoService;

const MEMBERS: [&str; 5] = [
    "exposed_echo",
    "exposed_add",
    "exposed_fail",
    "exposed_call",
    "exposed_numbers",
];

impl LocalObject for EchoService {
    fn type_name(&self) -> &str {
        "rpyc_rs.EchoService"
    }
    fn methods(&self) -> &'static [&'static str] {
        &MEMBERS
    }
    fn has_member(&self, name: &str) -> bool {
        MEMBERS.contains(&name)
    }
    fn call_method(
        self: Arc<Self>,
        name: &str,
        _ctx: CallContext,
        mut args: Args,
    ) -> BoxFuture<CallResult> {
        let r: Result<BoxFuture<CallResult>, RemoteException> = (|| match name {
            "exposed_echo" => {
                let v: Value = args.take(0, "x")?;
                Ok(Box::pin(async move { Ok(v) }) as BoxFuture<CallResult>)
            }
            "exposed_add" => {
                let a: i64 = args.take(0, "a")?;
                let b: i64 = args.take(1, "b")?;
                let sum = a
                    .checked_add(b)
                    .ok_or_else(|| RemoteException::overflow_error("sum out of range"));
                Ok(Box::pin(async move { sum.map(Value::Int) }) as BoxFuture<CallResult>)
            }
            "exposed_fail" => {
                let msg: String = args.take(0, "msg")?;
                Err(RemoteException::value_error(msg))
            }
            "exposed_call" => {
                let f: NetRef = args.take(0, "f")?;
                let rest = args.rest(1);
                Ok(
                    Box::pin(async move { f.call(rest).await.map_err(RemoteException::from) })
                        as BoxFuture<CallResult>,
                )
            }
            "exposed_numbers" => {
                let n: u32 = args.take(0, "n")?;
                let it = LazyIter::new(0..i64::from(n)).into_value();
                Ok(Box::pin(async move { Ok(it) }) as BoxFuture<CallResult>)
            }
            _ => Err(RemoteException::attribute_error(name.to_string())),
        })();
        r.unwrap_or_else(|e| Box::pin(async move { Err(e) }))
    }
}

impl Service for EchoService {}
