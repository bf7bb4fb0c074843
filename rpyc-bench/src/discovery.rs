//! `rpyc-bench --discovery`: what finding a server by name costs, and how long a client takes
//! to fail over when its server is killed.
//!
//! * **Connect cost.** Interleaved rounds of `connect` + `root()` to a known address, against
//!   `connect_by_service` + `root()` through RPyC's registry (our `rpyc-registry` protocol, in
//!   this process, over UDP) and, in builds with `--features etcd`, through etcd (a real `etcd`
//!   started on loopback with a temporary data directory). Median per connect, and the ratio
//!   to the direct connect.
//! * **Failover.** Three `rpyc-server` processes per backend, registered with `--register`. A
//!   client found by name calls `echo` in a loop; its server is killed (SIGKILL); the time from
//!   the kill to the next answer (connect_by_service again: the dead instance refuses, the next
//!   one answers) is the failover time. With etcd, also the time until the dead instance
//!   leaves discovery (its lease lapses; TTL `--discovery-ttl`). The killed server is replaced
//!   between repetitions.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rpyc_server::discovery::{connect_by_service, Discovery};
use rpyc_server::registry::{RegistryClient, RegistryServer};
use serde_json::json;

use crate::procs::ChildProc;
use crate::stats::med_min_max;
use crate::Res;

/// What a discovery run does.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Rounds of the connect comparison.
    pub rounds: usize,
    /// Connects per stack per round.
    pub connects: usize,
    /// Kills per backend.
    pub failovers: usize,
    /// etcd lease TTL, seconds.
    pub ttl: u64,
}

/// One backend's servers.
struct Backend {
    name: &'static str,
    discovery: Arc<dyn Discovery>,
    register_url: String,
    servers: Vec<(ChildProc, String)>,
}

fn start_server(bin: &Path, register: &str) -> Res<(ChildProc, String)> {
    let mut cmd = Command::new(bin);
    cmd.args(["--service", "test", "--host", "127.0.0.1", "--port", "0"])
        .args(["--register", register]);
    let mut child = ChildProc::spawn("rpyc-server", cmd)?;
    let addr = child.wait_listening(Duration::from_secs(20))?;
    Ok((child, addr))
}

/// Waits until `discovery` lists `want` instances of TEST.
async fn wait_instances(d: &dyn Discovery, want: impl Fn(&[String]) -> bool) -> Res<Duration> {
    let start = Instant::now();
    loop {
        let found: Vec<String> = d
            .lookup("TEST")
            .await
            .map(|v| v.iter().map(|i| i.address()).collect())
            .unwrap_or_default();
        if want(&found) {
            return Ok(start.elapsed());
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err(format!("{}: discovery still lists {found:?}", d.describe()).into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs the discovery measurements and prints (and saves, with `out`) the figures.
pub async fn run(server_bin: &Path, opts: &Opts, out: Option<std::path::PathBuf>) -> Res<()> {
    let registry = RegistryServer::bind_udp("127.0.0.1:0").await?;
    let reg_addr = registry.local_addr();
    let stop_registry = registry.shutdown_handle();
    tokio::spawn(registry.serve());
    let mut backends = vec![Backend {
        name: "registry",
        discovery: Arc::new(RegistryClient::udp(reg_addr)),
        register_url: format!("udp://{reg_addr}"),
        servers: Vec::new(),
    }];
    #[cfg(feature = "etcd")]
    let etcd = etcd::Etcd::start()?;
    #[cfg(feature = "etcd")]
    backends.push(Backend {
        name: "etcd",
        discovery: Arc::new(rpyc_server::discovery::etcd::EtcdDiscovery::new(
            vec![etcd.endpoint()],
            Duration::from_secs(opts.ttl),
        )?),
        register_url: format!("etcd://{}?ttl={}", etcd.endpoint(), opts.ttl),
        servers: Vec::new(),
    });
    #[cfg(not(feature = "etcd"))]
    eprintln!("discovery: etcd not measured (build rpyc-bench with --features etcd)");

    for b in &mut backends {
        for _ in 0..3 {
            b.servers.push(start_server(server_bin, &b.register_url)?);
        }
        wait_instances(&*b.discovery, |f| f.len() >= 3).await?;
    }

    // Connect cost, interleaved: direct, then each backend, every round.
    let direct_addr = backends[0].servers[0].1.clone();
    let mut per_connect: Vec<(String, Vec<f64>)> = std::iter::once("direct".to_string())
        .chain(backends.iter().map(|b| b.name.to_string()))
        .map(|n| (n, Vec::new()))
        .collect();
    for _ in 0..opts.rounds {
        let t = Instant::now();
        for _ in 0..opts.connects {
            let conn = rpyc_netref::connect(direct_addr.as_str()).await?;
            conn.root().await?;
        }
        per_connect[0]
            .1
            .push(t.elapsed().as_secs_f64() * 1e6 / opts.connects as f64);
        for (i, b) in backends.iter().enumerate() {
            let t = Instant::now();
            for _ in 0..opts.connects {
                let conn = connect_by_service("test", &*b.discovery).await?;
                conn.root().await?;
            }
            per_connect[i + 1]
                .1
                .push(t.elapsed().as_secs_f64() * 1e6 / opts.connects as f64);
        }
    }
    let direct_med = med_min_max(&per_connect[0].1).0;
    let mut report = Vec::new();
    println!(
        "\n== discovery: connect + root(), median µs per connect over {} rounds of {}",
        opts.rounds, opts.connects
    );
    for (name, values) in &per_connect {
        let (med, min, max) = med_min_max(values);
        println!(
            "  {name:<9} {med:>8.1} µs  ({min:.1}–{max:.1})  {:.2}× direct",
            med / direct_med
        );
        report.push(json!({"stack": name, "connect_us": med, "min": min, "max": max, "ratio": med / direct_med}));
    }

    // Failover.
    println!("\n== discovery: failover after SIGKILL of the client's server");
    let mut failover = Vec::new();
    for b in &mut backends {
        let mut moved = Vec::new();
        let mut left = Vec::new();
        for _ in 0..opts.failovers {
            let (conn, at) = rpyc_server::discovery::connect_by_service_with(
                "test",
                &*b.discovery,
                Arc::new(rpyc_netref::VoidService),
                rpyc_core::Config::default(),
            )
            .await?;
            let root = conn.root().await?;
            root.call_method("echo", (1,)).await?;
            let victim = b
                .servers
                .iter()
                .position(|(_, a)| *a == at.address())
                .ok_or("connected to an unknown server")?;
            let (proc_, addr) = b.servers.remove(victim);
            let killed = Instant::now();
            drop(proc_); // SIGKILL, reaped
                         // The client notices on its next call, then finds another instance by name.
            let mut answered = false;
            while !answered {
                match root.call_method("echo", (2,)).await {
                    Ok(_) => answered = true,
                    Err(_) => loop {
                        if let Ok(c) = connect_by_service("test", &*b.discovery).await {
                            if c.root().await?.call_method("echo", (3,)).await.is_ok() {
                                answered = true;
                                break;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    },
                }
            }
            moved.push(killed.elapsed().as_secs_f64() * 1e3);
            if b.name == "etcd" {
                wait_instances(&*b.discovery, |f| !f.contains(&addr)).await?;
                left.push(killed.elapsed().as_secs_f64());
            }
            b.servers.push(start_server(server_bin, &b.register_url)?);
            wait_instances(&*b.discovery, |f| f.len() >= 3).await?;
        }
        let (med, min, max) = med_min_max(&moved);
        let leave = (!left.is_empty()).then(|| med_min_max(&left));
        match leave {
            Some((l, lmin, lmax)) => println!(
                "  {:<9} next answer {med:.1} ms after the kill ({min:.1}–{max:.1}); left discovery after {l:.2} s ({lmin:.2}–{lmax:.2}; TTL {} s)",
                b.name, opts.ttl
            ),
            None => println!(
                "  {:<9} next answer {med:.1} ms after the kill ({min:.1}–{max:.1}); stays listed until the registry prunes it (240 s)",
                b.name
            ),
        }
        failover.push(json!({
            "backend": b.name, "failover_ms": med, "min": min, "max": max,
            "left_discovery_s": leave.map(|l| l.0), "ttl_s": opts.ttl,
        }));
    }
    stop_registry.shutdown();
    // The servers go before etcd does (they would log a lost lease otherwise).
    drop(backends);
    if let Some(path) = out {
        use std::io::Write;
        let line = json!({
            "kind": "discovery",
            "at": crate::record::now_secs(),
            "connect": report,
            "failover": failover,
        });
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        writeln!(f, "{line}")?;
    }
    Ok(())
}

/// A throwaway etcd on loopback for the measurement (Debian's `etcd-server`).
#[cfg(feature = "etcd")]
mod etcd {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use crate::procs::ChildProc;
    use crate::Res;

    pub struct Etcd {
        _proc: ChildProc,
        port: u16,
        data: std::path::PathBuf,
    }

    fn free_port() -> Res<u16> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port())
    }

    impl Etcd {
        pub fn start() -> Res<Etcd> {
            let (port, peer) = (free_port()?, free_port()?);
            let data = std::env::temp_dir().join(format!("rpyc-bench-etcd-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&data);
            let client = format!("http://127.0.0.1:{port}");
            let peer = format!("http://127.0.0.1:{peer}");
            let mut cmd = Command::new("etcd");
            cmd.args(["--name", "bench", "--data-dir"])
                .arg(&data)
                .args([
                    "--listen-client-urls",
                    &client,
                    "--advertise-client-urls",
                    &client,
                ])
                .args([
                    "--listen-peer-urls",
                    &peer,
                    "--initial-advertise-peer-urls",
                    &peer,
                ])
                .args(["--initial-cluster", &format!("bench={peer}")])
                .args(["--logger", "zap", "--log-level", "error"]);
            let proc_ = ChildProc::spawn("etcd", cmd)
                .map_err(|e| format!("{e} (install Debian's etcd-server)"))?;
            let start = Instant::now();
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if start.elapsed() > Duration::from_secs(30) {
                    return Err("etcd did not start within 30 s".into());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(Etcd {
                _proc: proc_,
                port,
                data,
            })
        }

        pub fn endpoint(&self) -> String {
            format!("127.0.0.1:{}", self.port)
        }
    }

    impl Drop for Etcd {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}
