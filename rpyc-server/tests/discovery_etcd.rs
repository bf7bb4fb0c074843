//! Scale-out on a real etcd: `rpyc-server --register etcd://…` processes, clients that
//! connect by service name and fail over when one is killed, graceful leaving, and
//! re-registration after etcd loses its state. Needs the cargo feature `etcd` and an `etcd`
//! binary (the README's test command provides both).
#![cfg(feature = "etcd")]

#[path = "support/etcd.rs"]
mod etcd;
#[path = "../../tests/support/process.rs"]
mod process;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd::{rpyc_server, Etcd};
use parking_lot::Mutex;
use rpyc::server::discovery::etcd::EtcdDiscovery;
use rpyc::server::discovery::{
    connect_by_service_with, BoxFuture, Discovery, Instance, Registration,
};
use rpyc::{Config, Error, Value, VoidService};
use tokio_util::sync::CancellationToken;

fn discovery(etcd: &Etcd, ttl: u64) -> EtcdDiscovery {
    EtcdDiscovery::new(vec![etcd.endpoint()], Duration::from_secs(ttl)).unwrap()
}

/// Waits until `name`'s instances satisfy `ok` (30 s at most); returns how long it took.
async fn wait_listed(d: &EtcdDiscovery, name: &str, ok: impl Fn(&[Instance]) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if let Ok(found) = d.lookup(name).await {
            if ok(&found) {
                return start.elapsed();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "discovery never showed what was expected for {name}: {:?}",
            d.lookup(name).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ports(found: &[Instance]) -> HashSet<u16> {
    found.iter().map(|i| i.port).collect()
}

/// One client: connects by name, calls `echo` in a loop, and after a failure reconnects by
/// name (never retrying the failed call). Returns what happened.
#[derive(Default, Debug)]
struct ClientLog {
    /// Instances it was connected to, in order.
    instances: Vec<u16>,
    /// Call numbers answered (each must appear once).
    answered: Vec<u64>,
    /// Failed calls: number and error.
    failed: Vec<(u64, String)>,
    /// How long each failover took: from the failed call to the next answer.
    failovers: Vec<Duration>,
}

async fn client(d: Arc<EtcdDiscovery>, stop: CancellationToken) -> ClientLog {
    let mut log = ClientLog::default();
    let connect = || async {
        loop {
            match connect_by_service_with("test", &*d, Arc::new(VoidService), Config::default())
                .await
            {
                Ok(c) => return c,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    let (mut conn, mut at) = connect().await;
    log.instances.push(at.port);
    let mut root = conn.root().await.unwrap();
    let mut failed_at: Option<Instant> = None;
    let mut n = 0u64;
    while !stop.is_cancelled() {
        n += 1;
        match root.call_method("echo", (n as i64,)).await {
            Ok(v) => {
                assert_eq!(v, Value::Int(n as i64), "a reply to another call");
                log.answered.push(n);
                if let Some(t) = failed_at.take() {
                    log.failovers.push(t.elapsed());
                }
            }
            Err(e) => {
                assert!(
                    matches!(e, Error::ConnectionClosed(_) | Error::Connect { .. }),
                    "a failed call fails with a connection error, got {e:?}"
                );
                log.failed.push((n, e.to_string()));
                failed_at.get_or_insert_with(Instant::now);
                (conn, at) = connect().await;
                log.instances.push(at.port);
                root = conn.root().await.unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_fail_over_when_a_server_is_killed_and_it_leaves_discovery() {
    let etcd = Etcd::start();
    let ttl = 3;
    let servers: Vec<_> = (0..3).map(|_| rpyc_server(&etcd.url(ttl))).collect();
    let d = Arc::new(discovery(&etcd, ttl));
    let all: HashSet<u16> = servers.iter().map(|s| s.port()).collect();
    wait_listed(&d, "TEST", |f| ports(f) == all).await;

    let stop = CancellationToken::new();
    let clients: Vec<_> = (0..30)
        .map(|_| tokio::spawn(client(d.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;

    let victim = &servers[0];
    let killed_at = Instant::now();
    victim.signal("KILL");
    let gone = wait_listed(&d, "TEST", |f| !ports(f).contains(&victim.port())).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();

    let mut logs = Vec::new();
    for c in clients {
        logs.push(c.await.unwrap());
    }
    let first: HashMap<u16, usize> = logs.iter().fold(HashMap::new(), |mut m, l| {
        *m.entry(l.instances[0]).or_default() += 1;
        m
    });
    assert_eq!(
        first.len(),
        3,
        "30 clients spread over all 3 servers: {first:?}"
    );
    let mut failovers = Vec::new();
    for log in &logs {
        let unique: HashSet<u64> = log.answered.iter().copied().collect();
        assert_eq!(unique.len(), log.answered.len(), "no call answered twice");
        assert!(
            log.failed.iter().all(|(n, _)| !unique.contains(n)),
            "a failed call was not also answered"
        );
        if log.instances[0] == victim.port() {
            assert!(
                !log.failed.is_empty(),
                "a client of the killed server saw it go"
            );
            let now_on = *log.instances.last().unwrap();
            assert_ne!(now_on, victim.port(), "it moved to a live server");
            assert!(!log.failovers.is_empty(), "and was answered there: {log:?}");
            failovers.extend(log.failovers.iter().copied());
        } else {
            assert!(
                log.failed.is_empty(),
                "other clients never noticed: {log:?}"
            );
        }
    }
    let worst = failovers.iter().max().copied().unwrap_or_default();
    println!(
        "failover: {} clients moved, slowest {:?}; the killed instance left discovery {:?} after \
         SIGKILL (lease TTL {ttl} s); total {:?}",
        failovers.len(),
        worst,
        gone,
        killed_at.elapsed()
    );
    assert!(!failovers.is_empty());
}

/// Wraps a backend and, at the moment the server has left discovery, checks that it still
/// accepts connections: it leaves discovery *before* it stops accepting.
struct LeaveProbe {
    inner: EtcdDiscovery,
    port: Arc<Mutex<u16>>,
    seen: Arc<Mutex<Option<(bool, bool)>>>,
}

impl Discovery for LeaveProbe {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, std::io::Result<Vec<Instance>>> {
        self.inner.lookup(name)
    }
    fn keep_registered(
        &self,
        reg: Registration,
        stop: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        let inner = self.inner.clone();
        let registered = self.inner.keep_registered(reg, stop);
        let (port, seen) = (self.port.clone(), self.seen.clone());
        Box::pin(async move {
            registered.await;
            let port = *port.lock();
            let listed = ports(&inner.lookup("TEST").await.unwrap()).contains(&port);
            let accepts = match rpyc::connect(("127.0.0.1", port)).await {
                Ok(c) => c
                    .root()
                    .await
                    .unwrap()
                    .call_method("echo", (1,))
                    .await
                    .is_ok(),
                Err(_) => false,
            };
            *seen.lock() = Some((listed, accepts));
        })
    }
    fn instance_left(&self, name: &str, i: &Instance) -> BoxFuture<'static, ()> {
        self.inner.instance_left(name, i)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_leaves_discovery_before_it_stops_accepting() {
    let etcd = Etcd::start();
    // A long TTL: only a revoke, not an expiry, can make an instance leave within the test.
    let ttl = 60;
    let d = discovery(&etcd, ttl);

    // In process: the moment the registration ends, the server still answers.
    let seen = Arc::new(Mutex::new(None));
    let port = Arc::new(Mutex::new(0));
    let server = rpyc::Server::bind("127.0.0.1:0").await.unwrap();
    *port.lock() = server.local_addr().unwrap().port();
    let stop = server.shutdown_handle();
    let probe = LeaveProbe {
        inner: d.clone(),
        port: port.clone(),
        seen: seen.clone(),
    };
    let task = tokio::spawn(
        server
            .register_with(probe)
            .serve(|| rpyc::server::services::TestService::new(Default::default())),
    );
    let p = *port.lock();
    wait_listed(&d, "TEST", |f| ports(f).contains(&p)).await;
    stop.shutdown();
    task.await.unwrap().unwrap();
    assert_eq!(
        *seen.lock(),
        Some((false, true)),
        "(still listed, still accepting) when the registration ended"
    );

    // The binary: SIGTERM, and it is gone from discovery by the time it has exited.
    let mut server = rpyc_server(&etcd.url(ttl));
    let p = server.port();
    wait_listed(&d, "TEST", |f| ports(f).contains(&p)).await;
    server.signal("TERM");
    let status = server.child.wait().unwrap();
    assert!(status.success(), "graceful exit: {status}");
    assert!(
        !ports(&d.lookup("TEST").await.unwrap()).contains(&p),
        "left discovery at shutdown, not at the lease's end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_register_again_after_etcd_loses_its_state() {
    let mut etcd = Etcd::start();
    let ttl = 2;
    let server = rpyc_server(&etcd.url(ttl));
    let d = discovery(&etcd, ttl);
    let p = server.port();
    wait_listed(&d, "TEST", |f| ports(f).contains(&p)).await;

    etcd.restart_empty();
    let d = discovery(&etcd, ttl);
    assert!(
        !ports(&d.lookup("TEST").await.unwrap()).contains(&p),
        "the new etcd starts empty"
    );
    let back = wait_listed(&d, "TEST", |f| ports(f).contains(&p)).await;
    println!("re-registered {back:?} after etcd restarted empty (TTL {ttl} s)");
    let found = d.lookup("TEST").await.unwrap();
    let me = found.iter().find(|i| i.port == p).unwrap();
    assert_eq!(me.host, "127.0.0.1");
    assert!(me.load.is_some(), "a Rust server publishes its load");
    // And it serves clients found that way.
    let conn = rpyc::connect_by_service("test", &d).await.unwrap();
    let root = conn.root().await.unwrap();
    assert_eq!(root.call_method("echo", (7,)).await.unwrap(), Value::Int(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_client_follows_the_name_when_its_server_freezes() {
    use rpyc::server::discovery::ServiceConnector;
    let etcd = Etcd::start();
    let ttl = 2;
    let servers = [rpyc_server(&etcd.url(ttl)), rpyc_server(&etcd.url(ttl))];
    let d = Arc::new(discovery(&etcd, ttl));
    let all: HashSet<u16> = servers.iter().map(|s| s.port()).collect();
    wait_listed(&d, "TEST", |f| ports(f) == all).await;

    let client = rpyc::Reconnecting::new(ServiceConnector::new("test", d.clone()));
    assert_eq!(client.call("echo", (1,)).await.unwrap(), Value::Int(1));
    // Which server did it reach? The one whose connection count went up.
    let conn = client.connection().await.unwrap();
    let server_port: u16 = {
        let mut found = None;
        for s in &servers {
            let probe = rpyc::connect(("127.0.0.1", s.port())).await.unwrap();
            let root = probe.root().await.unwrap();
            let n: i64 = rpyc::FromValue::from_value(
                root.call_method("connection_count", ()).await.unwrap(),
            )
            .unwrap();
            if n == 2 {
                found = Some(s.port());
            }
        }
        found.expect("one server has the client's connection")
    };
    let frozen = servers.iter().find(|s| s.port() == server_port).unwrap();

    // Frozen, not dead: its socket stays open, only its lease stops being kept alive.
    frozen.signal("STOP");
    let stopped = Instant::now();
    let err = client.call("echo", (2,)).await.unwrap_err();
    assert!(
        matches!(&err, Error::ConnectionClosed(r) if r.contains("left discovery")),
        "the pending call ends when the instance leaves discovery: {err}"
    );
    let moved = stopped.elapsed();
    assert!(conn.is_closed());
    assert_eq!(client.call("echo", (3,)).await.unwrap(), Value::Int(3));
    let now = client.connection().await.unwrap();
    assert!(!now.is_closed());
    frozen.signal("CONT");
    println!("a frozen server's client moved after {moved:?} (lease TTL {ttl} s)");
}
