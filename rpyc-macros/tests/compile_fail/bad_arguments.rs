struct Obj;

#[rpyc_macros::object(name = "demo.Obj", aliases = ["OBJ"], crate = ::rpyc_netref)]
impl Obj {}

struct Svc;

#[rpyc_macros::service(nmae = "demo.Svc", crate = ::rpyc_netref)]
impl Svc {}

fn main() {}
