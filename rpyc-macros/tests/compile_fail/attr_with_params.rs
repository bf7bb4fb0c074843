struct Config;

#[rpyc_macros::object(crate = ::rpyc_netref)]
impl Config {
    #[exposed(attr)]
    fn setting(&self, key: String) -> String {
        key
    }

    #[exposed(attr)]
    async fn later(&self) -> i64 {
        1
    }
}

fn main() {}
