use rpyc_netref::{CallContext, Connection, Rest};

struct Obj;

#[rpyc_macros::object(crate = ::rpyc_netref)]
impl Obj {
    #[exposed]
    fn tuple_pattern(&self, (a, b): (i64, i64)) -> i64 {
        a + b
    }

    #[exposed]
    fn mut_ctx(&self, ctx: &mut CallContext) -> i64 {
        let _ = ctx;
        1
    }

    #[exposed]
    fn rest_ref(&self, rest: &Rest) -> usize {
        rest.len()
    }

    #[exposed]
    fn generic<T: Default>(&self) -> i64 {
        1
    }

    #[exposed]
    fn no_receiver() -> i64 {
        1
    }

    #[on_connect]
    fn hook(&self, _conn: &Connection) {}
}

fn main() {}
