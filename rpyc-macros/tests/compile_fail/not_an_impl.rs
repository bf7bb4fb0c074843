#[rpyc_macros::object(crate = ::rpyc_netref)]
struct Thing;

fn main() {}
