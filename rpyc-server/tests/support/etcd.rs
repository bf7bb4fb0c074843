//! Real processes for the discovery tests: an etcd on loopback with a temporary data directory
//! (Debian's `etcd-server`, which the README's test command installs), and `rpyc-server` /
//! `rpyc-registry` binaries started like a user would. A missing etcd fails the test: it is
//! never skipped.
#![allow(dead_code)]

use crate::process::Listening;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An etcd server on 127.0.0.1, killed (and its data removed) when dropped.
pub struct Etcd {
    child: Option<Child>,
    data: PathBuf,
    /// The client port.
    pub port: u16,
}

impl Etcd {
    /// Starts etcd and waits until it answers.
    pub fn start() -> Etcd {
        let mut e = Etcd {
            child: None,
            data: PathBuf::new(),
            port: free_port(),
        };
        e.launch();
        e
    }

    /// `etcd://127.0.0.1:PORT?ttl=TTL`.
    pub fn url(&self, ttl_secs: u64) -> String {
        format!("etcd://127.0.0.1:{}?ttl={ttl_secs}", self.port)
    }

    /// `127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills etcd (SIGKILL) and starts a new one on the same client port with an empty data
    /// directory: every lease and key is gone, as after losing the store.
    pub fn restart_empty(&mut self) {
        self.stop();
        self.launch();
    }

    fn launch(&mut self) {
        let binary = which("etcd").unwrap_or_else(|| {
            panic!(
                "etcd is not installed: the README's test command installs it \
                 (Debian: apt-get install etcd-server); this test cannot run without it"
            )
        });
        let data =
            std::env::temp_dir().join(format!("rpyc-etcd-{}-{}", std::process::id(), free_port()));
        let _ = std::fs::remove_dir_all(&data);
        let peer = free_port();
        let client_url = format!("http://127.0.0.1:{}", self.port);
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new(binary)
            .args(["--name", "rpyc-test", "--data-dir"])
            .arg(&data)
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("rpyc-test={peer_url}")])
            .args(["--logger", "zap", "--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start etcd");
        self.child = Some(child);
        self.data = data;
        self.wait_ready();
    }

    /// Waits until etcd answers a read, on a thread of its own (the caller may be inside a
    /// runtime).
    fn wait_ready(&self) {
        let endpoint = self.endpoint();
        std::thread::spawn(move || wait_answering(&endpoint))
            .join()
            .unwrap();
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn wait_answering(endpoint: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    loop {
        let ok = rt.block_on(async {
            let Ok(mut c) = etcd_client::Client::connect(
                [endpoint],
                Some(
                    etcd_client::ConnectOptions::new()
                        .with_connect_timeout(Duration::from_millis(500))
                        .with_timeout(Duration::from_secs(1)),
                ),
            )
            .await
            else {
                return false;
            };
            c.get("/", None).await.is_ok()
        });
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "etcd did not start within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
}

/// `rpyc-server --service test` on a free loopback port, registered at `register`.
pub fn rpyc_server(register: &str) -> Listening {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rpyc-server"));
    cmd.args(["--service", "test", "--host", "127.0.0.1", "--port", "0"])
        .args(["--register", register]);
    Listening::start(cmd)
}
