// Each item below is refused by `#[remote]` with a message on its own tokens.

#[rpyc_macros::remote(crate = ::rpyc_netref)]
trait Calculator {
    type Two: Clone + Send;
    fn with_body(&self) -> i64 {
        1
    }
    fn generic<T>(&self, x: T) -> i64;
    fn mutable(&mut self) -> i64;
    fn no_return(&self, a: i64);
    fn takes_self(&self, other: Self::Two) -> i64;
    #[rpyc(bogus)]
    fn unknown_key(&self) -> i64;
    #[rpyc(attr)]
    async fn async_getter(&self) -> i64;
    fn pattern(&self, (a, b): (i64, i64)) -> i64;
    fn add(&self) -> i64;
    #[rpyc(name = "add")]
    fn add_again(&self) -> i64;
}

#[rpyc_macros::remote(crate = ::rpyc_netref, mapping)]
trait WithMapping {
    fn get(&self) -> i64;
}

#[rpyc_macros::remote(crate = ::rpyc_netref)]
struct NotATrait;

fn main() {}
