//! Driving a Python interpreter from Rust: classic mode (`rpyc::classic`).
//!
//! Start a stock Python classic server (RPyC's own `rpyc_classic.py`, from the venv that
//! `scripts/setup-python.sh` creates; it listens on 127.0.0.1:18812 by default):
//!
//! ```text
//! .venv/bin/rpyc_classic.py --host 127.0.0.1
//! ```
//!
//! then run this example, optionally with the server's address:
//!
//! ```text
//! cargo run --example drive_python                  # 127.0.0.1:18812
//! cargo run --example drive_python 127.0.0.1:9000
//! ```
//!
//! It computes with remote modules (`math`, `statistics`), runs code in the server's
//! namespace, and copies a file to the server and back through the server's `open`. In Python
//! this is `conn = rpyc.classic.connect(host)`, `conn.modules.math.sqrt(2)`, `conn.execute(..)`,
//! `rpyc.classic.upload(conn, ..)` and `download`. Classic mode is remote code execution by
//! design: run the server on loopback only.

use std::process::ExitCode;

use rpyc::{NetRef, Printable};

#[tokio::main]
async fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    if matches!(arg.as_deref(), Some("-h" | "--help")) {
        println!(
            "usage: drive_python [HOST:PORT]\n\ndrives the Python classic server at HOST:PORT \
             (default 127.0.0.1:18812; start one with `.venv/bin/rpyc_classic.py --host 127.0.0.1`)"
        );
        return ExitCode::SUCCESS;
    }
    let addr = arg.unwrap_or_else(|| "127.0.0.1:18812".to_string());
    match run(&addr).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", Printable(&e));
            if matches!(e, rpyc::Error::Connect { .. }) {
                eprintln!(
                    "is a classic server running at {addr}? start one with \
                     `.venv/bin/rpyc_classic.py --host 127.0.0.1` (see scripts/setup-python.sh)"
                );
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(addr: &str) -> Result<(), rpyc::Error> {
    let py = rpyc::classic::connect(addr).await?;
    let version: String = py.module("sys").await?.attr("version").await?;
    println!("connected to Python {}", Printable(&version));

    // Compute with remote modules: each call runs in the Python process.
    let math = py.module("math").await?;
    let root2: f64 = math.call_method("sqrt", (2.0,)).await?.extract()?;
    println!("math.sqrt(2)               = {root2}");
    let data: NetRef = py.eval("[2.5, 3.5, 1.0, 4.0, 9.0]").await?.extract()?;
    let stats = py.module("statistics").await?;
    let mean: f64 = stats.call_method("mean", (&data,)).await?.extract()?;
    let median: f64 = stats.call_method("median", (&data,)).await?.extract()?;
    println!("statistics mean, median    = {mean}, {median}");

    // Run code in the server's namespace, then use what it defined.
    py.execute("def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a")
        .await?;
    let fib90: i64 = py.eval("fib(90)").await?.extract()?;
    println!("fib(90), computed remotely = {fib90}");

    // Python errors arrive as typed exceptions.
    if let Err(e) = py.eval("1 / 0").await {
        println!(
            "1 / 0 raised              {}",
            Printable(&e.remote().map(|r| r.type_name()).unwrap_or_default())
        );
    }

    // Read a remote file: write one there, then read it back through the server's `open`, in
    // chunks (download), and directly with the remote file object.
    let tempfile = py.module("tempfile").await?;
    let dir: String = tempfile.call_method("mkdtemp", ()).await?.extract()?;
    let os_path = py.module("os.path").await?;
    let remote: String = os_path
        .call_method("join", (dir.as_str(), "hello.txt"))
        .await?
        .extract()?;
    let local = std::env::temp_dir().join(format!("drive_python-{}.txt", std::process::id()));
    std::fs::write(&local, "hello from Rust\n").map_err(|e| rpyc::Error::io(&local, e))?;
    py.upload(&local, &remote).await?;
    let file: NetRef = py
        .builtins()
        .call_method("open", (remote.as_str(),))
        .await?
        .extract()?;
    let text: String = file.call_method("read", ()).await?.extract()?;
    file.call_method("close", ()).await?;
    println!(
        "remote {} reads   \"{}\"",
        Printable(&remote),
        Printable(text.trim_end())
    );
    py.download(&remote, &local).await?;
    let back = std::fs::read_to_string(&local).map_err(|e| rpyc::Error::io(&local, e))?;
    println!(
        "downloaded back            \"{}\"",
        Printable(back.trim_end())
    );

    // Clean up on both sides.
    py.module("shutil")
        .await?
        .call_method("rmtree", (dir.as_str(),))
        .await?;
    let _ = std::fs::remove_file(&local);
    py.close().await
}
