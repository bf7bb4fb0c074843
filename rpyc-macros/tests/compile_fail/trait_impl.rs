struct Greeter;

trait Greet {
    fn greet(&self) -> String;
}

#[rpyc_macros::object(crate = ::rpyc_netref)]
impl Greet for Greeter {
    fn greet(&self) -> String {
        "hi".into()
    }
}

fn main() {}
