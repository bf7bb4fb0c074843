struct Wrapper<T>(T);

#[rpyc_macros::service(crate = ::rpyc_netref)]
impl<T: Send + Sync + 'static> Wrapper<T> {
    #[exposed]
    fn ping(&self) -> i64 {
        1
    }
}

fn main() {}
