use rpyc_netref::Connection;

struct Svc;

#[rpyc_macros::service(crate = ::rpyc_netref)]
impl Svc {
    #[exposed]
    fn add(&self) -> i64 {
        1
    }

    #[exposed(name = "add")]
    fn plus(&self) -> i64 {
        2
    }

    #[rpyc(repr)]
    fn r1(&self) -> String {
        String::new()
    }

    #[rpyc(repr)]
    fn r2(&self) -> String {
        String::new()
    }

    #[on_connect]
    fn c1(&self, _conn: &Connection) {}

    #[on_connect]
    fn c2(&self, _conn: &Connection) {}
}

fn main() {}
