use rpyc::server::services::TestService;
use rpyc::Value;
use std::time::Instant;
async fn lat(root: &rpyc::NetRef, n: usize) -> f64 {
    let mut v = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        assert_eq!(
            root.call_method("add", (1, 2)).await.unwrap(),
            Value::Int(3)
        );
        v.push(t.elapsed().as_secs_f64() * 1e6);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[n / 2]
}
fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let root = rt.block_on(async {
        let addr: std::net::SocketAddr = match std::env::args().nth(1) {
            Some(a) => a.parse().unwrap(),
            None => {
                let server = rpyc::Server::bind("127.0.0.1:0").await.unwrap();
                let addr = server.local_addr().unwrap();
                tokio::spawn(server.serve(TestService::default));
                addr
            }
        };
        let client = rpyc::connect(addr).await.unwrap();
        let root = client.root().await.unwrap();
        std::mem::forget(client);
        root
    });
    for _ in 0..3 {
        let r = root.clone();
        let main_thread = rt.block_on(async { lat(&r, 3000).await });
        let spawned = rt.block_on(async move {
            tokio::spawn(async move { lat(&r, 3000).await })
                .await
                .unwrap()
        });
        println!("in-process tcp: awaited on main thread {main_thread:.1} µs, in a spawned task {spawned:.1} µs");
    }
}
