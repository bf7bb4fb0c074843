struct Thing;

#[rpyc_macros::object(crate = ::rpyc_netref)]
impl Thing {
    #[rpyc(len)]
    fn size(&self) -> usize {
        0
    }

    #[rpyc(getattr)]
    fn lookup(&self, name: &str) -> i64 {
        name.len() as i64
    }
}

fn main() {}
