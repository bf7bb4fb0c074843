//! A lifecycle hook takes the connection by value or `&mut`: the error asks for `&Connection`.

use rpyc_netref::Connection;

struct Svc;

#[rpyc_macros::service(crate = ::rpyc_netref)]
impl Svc {
    #[on_connect]
    fn hello(&self, conn: Connection) {
        let _ = conn;
    }

    #[on_disconnect]
    fn bye(&self, conn: &mut Connection) {
        let _ = conn;
    }
}

fn main() {}
