//! [`EtcdStore`]: RPyC registry state kept in etcd (`rpyc-registry --backend etcd://…`), so
//! that several registry processes answer alike and any of them may die.
//!
//! A registration from a Python server (`REGISTER (aliases, port)` from its address) becomes one
//! key per name under the layout of [`crate::discovery::etcd`], attached to a lease whose TTL is
//! the registry's pruning timeout (240 s by default: a Python server that dies leaves discovery
//! 4 minutes later unless it unregisters). Its next `REGISTER` (every 60 s) refreshes the same
//! lease when this process still holds it, or grants a new one. Rust servers registering with
//! `--register etcd://…` share the key space, so every client sees both.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use etcd_client::DeleteOptions;
use parking_lot::Mutex;

use super::store::{check_registration, Limits, RegistryStore};
use crate::discovery::etcd::EtcdDiscovery;
use crate::discovery::{BoxFuture, Discovery, Instance};

/// Registry state in etcd.
pub struct EtcdStore {
    etcd: EtcdDiscovery,
    pruning: Duration,
    limits: Limits,
    /// The lease this process granted to each `(host, port)`, to refresh it next time.
    leases: Mutex<HashMap<(String, u16), i64>>,
}

impl EtcdStore {
    /// A store in the etcd cluster of `etcd`, with registrations living `pruning` after their
    /// last refresh.
    pub fn new(etcd: EtcdDiscovery, pruning: Duration, limits: Limits) -> Self {
        EtcdStore {
            etcd,
            pruning: pruning.max(Duration::from_secs(2)),
            limits,
            leases: Mutex::default(),
        }
    }

    async fn register_now(&self, host: &str, names: &[String], port: i64) -> Result<(), String> {
        let port = check_registration(names, port, &self.limits)?;
        let key = (host.to_string(), port);
        {
            let leases = self.leases.lock();
            let held = leases.keys().filter(|(h, _)| h == host).count();
            if !leases.contains_key(&key) && held >= self.limits.max_entries_per_host {
                return Err(format!("{host} already holds {held} registrations"));
            }
        }
        let mut client = self.etcd.client().await.map_err(|e| e.to_string())?;
        let cached = self.leases.lock().get(&key).copied();
        let lease = match cached {
            Some(id) if refresh(&mut client, id).await => id,
            _ => {
                let id = client
                    .lease_grant(self.pruning.as_secs().max(1) as i64, None)
                    .await
                    .map_err(|e| e.to_string())?
                    .id();
                self.leases.lock().insert(key, id);
                id
            }
        };
        let instance = Instance {
            host: host.to_string(),
            port,
            load: None,
        };
        EtcdDiscovery::put_instance(&mut client, names, &instance, lease)
            .await
            .map_err(|e| e.to_string())
    }

    async fn unregister_now(&self, host: &str, port: i64) -> io::Result<()> {
        let Ok(port) = u16::try_from(port) else {
            return Ok(());
        };
        let lease = self.leases.lock().remove(&(host.to_string(), port));
        let mut client = self.etcd.client().await?;
        if let Some(id) = lease {
            let _ = client.lease_revoke(id).await;
        }
        // Registered through another registry process: delete its keys one by one.
        for (name, instance, _) in self.etcd.scan(None).await? {
            if instance.host == host && instance.port == port {
                let _ = client
                    .delete(EtcdDiscovery::key(&name, &instance), None::<DeleteOptions>)
                    .await;
            }
        }
        Ok(())
    }
}

/// Refreshes lease `id` once; `false` if it is gone.
async fn refresh(client: &mut etcd_client::Client, id: i64) -> bool {
    let Ok((mut keeper, mut answers)) = client.lease_keep_alive(id).await else {
        return false;
    };
    if keeper.keep_alive().await.is_err() {
        return false;
    }
    matches!(answers.message().await, Ok(Some(a)) if a.ttl() > 0)
}

impl RegistryStore for EtcdStore {
    fn register<'a>(
        &'a self,
        host: &'a str,
        names: &'a [String],
        port: i64,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.register_now(host, names, port))
    }

    fn unregister<'a>(&'a self, host: &'a str, port: i64) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(self.unregister_now(host, port))
    }

    fn query<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<Vec<(String, u16)>>> {
        Box::pin(async move {
            let found = self.etcd.lookup(name).await?;
            Ok(found.into_iter().map(|i| (i.host, i.port)).collect())
        })
    }

    fn list<'a>(&'a self, host: Option<&'a str>) -> BoxFuture<'a, io::Result<Vec<String>>> {
        Box::pin(async move {
            let mut found = self.etcd.scan(None).await?;
            found.retain(|(_, i, _)| host.is_none_or(|h| i.host == h));
            found.sort_by_key(|(_, _, rev)| std::cmp::Reverse(*rev));
            let mut seen = std::collections::HashSet::new();
            Ok(found
                .into_iter()
                .filter_map(|(name, _, _)| seen.insert(name.clone()).then_some(name))
                .collect())
        })
    }
}
