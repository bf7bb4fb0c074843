struct Counter;

#[rpyc_macros::object(crate = ::rpyc_netref)]
impl Counter {
    #[exposed]
    fn consume(self) -> i64 {
        1
    }

    fn exposed_bump(&mut self, by: i64) -> i64 {
        by
    }

    // Several roles, one error.
    #[exposed]
    #[rpyc(call, repr)]
    fn boxed(self: Box<Self>) -> String {
        String::new()
    }
}

fn main() {}
