//! A method returns a plain struct (not `IntoValue`): the error says to put `#[rpyc::object]` on it
//! (by reference) or to return `rpyc::Serde<T>` (by value).

struct Point {
    x: i64,
}

struct Shapes;

#[rpyc_macros::object(crate = ::rpyc_netref)]
impl Shapes {
    #[exposed]
    fn origin(&self) -> Point {
        Point { x: 0 }
    }

    #[exposed]
    async fn maybe(&self) -> Result<Point, rpyc_core::RemoteException> {
        Ok(Point { x: 1 })
    }

    #[exposed]
    fn many(&self) -> Vec<Point> {
        vec![Point { x: 2 }]
    }
}

fn main() {
    let _ = Point { x: 0 }.x;
}
