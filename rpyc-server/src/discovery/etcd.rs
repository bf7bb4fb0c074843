//! etcd as a [`Discovery`] backend (cargo feature `etcd`): instances under leases, so a server
//! that dies leaves discovery within its lease's TTL without anyone polling.
//!
//! ## Key layout
//!
//! One key per instance and service name, attached to the instance's lease:
//!
//! ```text
//! /rpyc/services/CALCULATOR/10.0.0.5:18861  →  {"host":"10.0.0.5","port":18861,"load":3}
//! ```
//!
//! Names are upper-cased, as RPyC's registry does. `load` is the server's open connections,
//! refreshed at every keep-alive (a third of the TTL) when it changed; it is `null` for Python
//! servers registered through `rpyc-registry --backend etcd://` (RPyC's registry protocol
//! carries no load).
//!
//! ## Registration
//!
//! [`EtcdDiscovery::keep_registered`] grants a lease of `ttl` (default 5 s), puts the keys,
//! keeps the lease alive every `ttl / 3`, and revokes it when the server shuts down (the keys
//! go at once). If the lease is lost — etcd restarted without its data, a partition longer than
//! the TTL — or the connection to etcd fails, it registers anew, retrying every second.

use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions, EventType, GetOptions, PutOptions, WatchOptions};
use tokio_util::sync::CancellationToken;

use super::{BoxFuture, Discovery, Instance, Registration};

/// The lease TTL unless the URL says `?ttl=SECONDS`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// Where every key lives.
pub const KEY_PREFIX: &str = "/rpyc/services/";

/// How long one request to etcd may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// Discovery through etcd's v3 API.
#[derive(Clone)]
pub struct EtcdDiscovery {
    endpoints: Vec<String>,
    ttl: Duration,
    client: std::sync::Arc<tokio::sync::Mutex<Option<Client>>>,
}

impl std::fmt::Debug for EtcdDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdDiscovery")
            .field("endpoints", &self.endpoints)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl EtcdDiscovery {
    /// Discovery through the etcd cluster at `endpoints` (`host:port` each), with leases of
    /// `ttl` (at least 2 s, etcd's minimum being 1). Connects on first use.
    pub fn new(endpoints: Vec<String>, ttl: Duration) -> io::Result<Self> {
        if endpoints.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "etcd: no endpoint given",
            ));
        }
        Ok(EtcdDiscovery {
            endpoints,
            ttl: ttl.max(Duration::from_secs(2)),
            client: Default::default(),
        })
    }

    /// From the part of an `etcd://` URL after the scheme: `host:port[,host:port…][?ttl=S]`.
    pub fn from_url_rest(rest: &str) -> io::Result<Self> {
        let bad = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        let (hosts, query) = rest.split_once('?').unwrap_or((rest, ""));
        let endpoints = hosts
            .trim_end_matches('/')
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| {
                if h.rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                {
                    h.to_string()
                } else {
                    format!("{h}:2379")
                }
            })
            .collect();
        let mut ttl = DEFAULT_TTL;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("ttl", v)) => {
                    let secs: f64 = v
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s > 0.0)
                        .ok_or_else(|| bad(format!("etcd://{rest}: ttl must be seconds > 0")))?;
                    ttl = Duration::from_secs_f64(secs.ceil());
                }
                _ => return Err(bad(format!("etcd://{rest}: unknown option {pair:?}"))),
            }
        }
        Self::new(endpoints, ttl)
    }

    /// The lease TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A connected client (connecting, or reconnecting after [`Self::forget_client`]).
    pub(crate) async fn client(&self) -> io::Result<Client> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let options = ConnectOptions::new()
            .with_connect_timeout(REQUEST_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            .with_keep_alive(Duration::from_secs(2), REQUEST_TIMEOUT);
        let c = Client::connect(&self.endpoints, Some(options))
            .await
            .map_err(|e| etcd_error(&self.endpoints, e))?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Drops the cached client, so the next use connects anew.
    pub(crate) async fn forget_client(&self) {
        *self.client.lock().await = None;
    }

    /// The key of `instance` under `name`.
    pub fn key(name: &str, instance: &Instance) -> String {
        format!("{KEY_PREFIX}{}/{}", name.to_uppercase(), instance.address())
    }

    /// Puts `instance` under each of `names`, attached to `lease`.
    pub(crate) async fn put_instance(
        client: &mut Client,
        names: &[String],
        instance: &Instance,
        lease: i64,
    ) -> Result<(), etcd_client::Error> {
        let value = encode(instance);
        for name in names {
            client
                .put(
                    Self::key(name, instance),
                    value.clone(),
                    Some(PutOptions::new().with_lease(lease)),
                )
                .await?;
        }
        Ok(())
    }

    /// Every live instance of every name: `(NAME, instance, mod_revision)`.
    pub(crate) async fn scan(
        &self,
        name: Option<&str>,
    ) -> io::Result<Vec<(String, Instance, i64)>> {
        let mut client = self.client().await?;
        let prefix = match name {
            Some(n) => format!("{KEY_PREFIX}{}/", n.to_uppercase()),
            None => KEY_PREFIX.to_string(),
        };
        let resp = match client
            .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                self.forget_client().await;
                return Err(etcd_error(&self.endpoints, e));
            }
        };
        let mut out = Vec::new();
        for kv in resp.kvs() {
            let key = String::from_utf8_lossy(kv.key());
            let Some(rest) = key.strip_prefix(KEY_PREFIX) else {
                continue;
            };
            let Some((svc, _)) = rest.split_once('/') else {
                continue;
            };
            match decode(kv.value()) {
                Some(i) => out.push((svc.to_string(), i, kv.mod_revision())),
                None => {
                    tracing::warn!(key = %key, "etcd: skipping an entry that is not an instance")
                }
            }
        }
        Ok(out)
    }

    async fn register_once(
        &self,
        reg: &Registration,
        stop: &CancellationToken,
    ) -> Result<(), String> {
        // Stopped before a lease exists: nothing to take back.
        let mut client = tokio::select! {
            c = self.client() => c.map_err(|e| e.to_string())?,
            _ = stop.cancelled() => return Ok(()),
        };
        let host = match &reg.host {
            Some(h) => h.clone(),
            None => self.local_ip().map(|ip| ip.to_string()).ok_or_else(|| {
                "cannot tell which address reaches etcd; pass the host to advertise".to_string()
            })?,
        };
        let mut instance = Instance {
            host,
            port: reg.port,
            load: Some(reg.load.get() as u64),
        };
        let ttl = self.ttl.as_secs() as i64;
        let lease = tokio::select! {
            l = client.lease_grant(ttl, None) => l.map_err(|e| e.to_string())?.id(),
            _ = stop.cancelled() => return Ok(()),
        };
        let result = async {
            Self::put_instance(&mut client, &reg.names, &instance, lease)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(names = ?reg.names, instance = %instance.address(), lease, "registered in etcd");
            let (mut keeper, mut answers) = client
                .lease_keep_alive(lease)
                .await
                .map_err(|e| e.to_string())?;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(self.ttl / 3) => {}
                }
                keeper.keep_alive().await.map_err(|e| e.to_string())?;
                let answer = tokio::time::timeout(REQUEST_TIMEOUT, answers.message())
                    .await
                    .map_err(|_| "no keep-alive answer".to_string())?
                    .map_err(|e| e.to_string())?;
                match answer {
                    Some(a) if a.ttl() > 0 => {}
                    _ => return Err("the lease is gone".to_string()),
                }
                let load = Some(reg.load.get() as u64);
                if load != instance.load {
                    instance.load = load;
                    Self::put_instance(&mut client, &reg.names, &instance, lease)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        .await;
        if result.is_ok() {
            // Shutting down: leave discovery now, not when the lease lapses.
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, client.lease_revoke(lease)).await;
            tracing::info!(names = ?reg.names, "left etcd");
        }
        result
    }

    /// The local address this host uses to reach the first etcd endpoint (a connected UDP
    /// socket sends nothing; it only picks the route).
    fn local_ip(&self) -> Option<IpAddr> {
        let target = self.endpoints.iter().find_map(|e| {
            let e = e
                .trim_start_matches("http://")
                .trim_start_matches("https://");
            e.to_socket_addrs().ok()?.next()
        })?;
        let bind = if target.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let sock = std::net::UdpSocket::bind(bind).ok()?;
        sock.connect(target).ok()?;
        Some(sock.local_addr().ok()?.ip())
    }
}

impl Discovery for EtcdDiscovery {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<Vec<Instance>>> {
        Box::pin(async move {
            let mut found = self.scan(Some(name)).await?;
            // The most recently refreshed first.
            found.sort_by_key(|(_, _, rev)| std::cmp::Reverse(*rev));
            Ok(found.into_iter().map(|(_, i, _)| i).collect())
        })
    }

    fn keep_registered(
        &self,
        registration: Registration,
        stop: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        let this = self.clone();
        Box::pin(async move {
            loop {
                // It returns soon after `stop` (every request to etcd has a deadline), having
                // revoked its lease.
                match this.register_once(&registration, &stop).await {
                    Ok(()) => return,
                    Err(why) => {
                        tracing::warn!(names = ?registration.names, error = %why, "etcd registration lost; registering again");
                        this.forget_client().await;
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = stop.cancelled() => return,
                        }
                    }
                }
            }
        })
    }

    fn instance_left(&self, name: &str, instance: &Instance) -> BoxFuture<'static, ()> {
        let (this, key) = (self.clone(), Self::key(name, instance));
        Box::pin(async move {
            loop {
                match this.wait_deleted(&key).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::debug!(key = %key, error = %e, "etcd watch failed; watching again");
                        this.forget_client().await;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        })
    }

    fn describe(&self) -> String {
        format!("etcd://{}", self.endpoints.join(","))
    }
}

impl EtcdDiscovery {
    /// Resolves when `key` is absent (now, or after a delete event).
    async fn wait_deleted(&self, key: &str) -> io::Result<()> {
        let mut client = self.client().await?;
        let err = |e| etcd_error(&self.endpoints, e);
        let now = client.get(key, None).await.map_err(err)?;
        if now.kvs().is_empty() {
            return Ok(());
        }
        let from = now.header().map(|h| h.revision() + 1).unwrap_or(0);
        let mut stream = client
            .watch(key, Some(WatchOptions::new().with_start_revision(from)))
            .await
            .map_err(err)?;
        while let Some(resp) = stream.message().await.map_err(err)? {
            if resp
                .events()
                .iter()
                .any(|e| e.event_type() == EventType::Delete)
            {
                return Ok(());
            }
        }
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "etcd closed the watch",
        ))
    }
}

/// An instance as stored: `{"host":…,"port":…,"load":…}`.
pub(crate) fn encode(instance: &Instance) -> String {
    serde_json::json!({
        "host": instance.host,
        "port": instance.port,
        "load": instance.load,
    })
    .to_string()
}

/// The instance a stored value describes; `None` for anything else (a bad port included).
pub(crate) fn decode(value: &[u8]) -> Option<Instance> {
    let v: serde_json::Value = serde_json::from_slice(value).ok()?;
    let port = u16::try_from(v.get("port")?.as_u64()?)
        .ok()
        .filter(|p| *p != 0)?;
    Some(Instance {
        host: v.get("host")?.as_str()?.to_string(),
        port,
        load: v.get("load").and_then(serde_json::Value::as_u64),
    })
}

fn etcd_error(endpoints: &[String], e: etcd_client::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionRefused,
        format!("etcd at {}: {e}", endpoints.join(",")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_bad_ones_are_refused() {
        let i = Instance {
            host: "10.0.0.5".into(),
            port: 18861,
            load: Some(3),
        };
        assert_eq!(decode(encode(&i).as_bytes()), Some(i));
        assert_eq!(decode(br#"{"host":"h","port":0}"#), None);
        assert_eq!(decode(br#"{"host":"h","port":70000}"#), None);
        assert_eq!(decode(b"junk"), None);
        assert_eq!(
            decode(br#"{"host":"h","port":1,"load":null}"#)
                .unwrap()
                .load,
            None
        );
    }

    #[test]
    fn urls() {
        let d = EtcdDiscovery::from_url_rest("a:1,b?ttl=3").unwrap();
        assert_eq!(d.endpoints, ["a:1", "b:2379"]);
        assert_eq!(d.ttl(), Duration::from_secs(3));
        assert!(EtcdDiscovery::from_url_rest("a:1?ttl=-1").is_err());
        assert!(EtcdDiscovery::from_url_rest("a:1?bogus=1").is_err());
        assert!(EtcdDiscovery::from_url_rest("").is_err());
    }
}
