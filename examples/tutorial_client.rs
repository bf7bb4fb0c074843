//! RPyC's tutorial ("Part 3: Services"), the client side in Rust: a typed client for the
//! tutorial's Python `MyService` (examples/python/tutorial_service.py).
//!
//! ```text
//! .venv/bin/python examples/python/tutorial_service.py --port 18861 &
//! cargo run --example tutorial_client -- 127.0.0.1:18861
//! ```

/// The tutorial service's interface, as the Python service exposes it.
#[rpyc::remote]
pub trait MyService {
    /// An exposed method.
    fn get_answer(&self) -> rpyc::Result<i64>;
    /// An exposed attribute.
    #[rpyc(attr)]
    fn the_real_answer_though(&self) -> i64;
    /// A method the service does not expose: calling it is an `AttributeError`.
    fn get_question(&self) -> rpyc::Result<String>;
}

/// Does what the tutorial's Python client does, against the service at `addr`; its output.
pub async fn tutorial(addr: &str) -> rpyc::Result<Vec<String>> {
    let c = rpyc::connect(addr).await?;
    let root: MyServiceClient = c.root_as().await?;
    let mut out = vec![format!("get_answer() = {}", root.get_answer().await?)];
    out.push(format!(
        "the_real_answer_though = {}",
        root.the_real_answer_though().await?
    ));
    match root.get_question().await {
        Err(e) if e.is_remote("AttributeError") => out.push("get_question is not exposed".into()),
        other => out.push(format!("get_question: unexpected {other:?}")),
    }
    c.close().await?;
    Ok(out)
}

#[tokio::main]
async fn main() -> rpyc::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18861".into());
    for line in tutorial(&addr).await? {
        println!("{line}");
    }
    Ok(())
}
