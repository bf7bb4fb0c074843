struct Clock;

#[rpyc_macros::object(crate = ::rpyc_netref)]
impl Clock {
    #[exposed(inline)]
    async fn tick(&self) -> i64 {
        1
    }

    #[exposed(attr, inline)]
    fn now(&self) -> i64 {
        2
    }

    #[exposed(inline, inline)]
    fn twice(&self) -> i64 {
        3
    }
}

fn main() {}
