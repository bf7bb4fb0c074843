//! What a registry remembers, and the requests that change it.
//!
//! [`Request`] is one parsed registry request; [`RegistryStore`] is where registrations live:
//! [`MemoryStore`] in the registry process itself (Python's behaviour), or etcd
//! (`EtcdStore`, feature `etcd`) so that several registry processes share one state.
//!
//! [`MemoryStore`] is bounded and never scans: a name's servers sit in a hash map under the
//! name, expired entries are pruned on a timer ([`RegistryStore::prune`]) as well as when the
//! name is queried, and [`Limits`] cap names, their length, and the entries one source address
//! may hold.

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rpyc_core::Value;

use crate::discovery::BoxFuture;

/// One registry request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `REGISTER (aliases, port)`: the sender serves `aliases` at `port`.
    Register {
        /// The service names (upper-cased).
        names: Vec<String>,
        /// The port as sent (validated by the store).
        port: i64,
    },
    /// `UNREGISTER (port,)`: the sender no longer serves at `port`.
    Unregister {
        /// The port.
        port: i64,
    },
    /// `QUERY (name,)`: where does `name` run?
    Query {
        /// The service name (upper-cased).
        name: String,
    },
    /// `LIST ((host,),)`: which names are registered (optionally by `host` only)?
    List {
        /// The host filter, if any.
        host: Option<String>,
    },
}

impl Request {
    /// Parses a decoded request `("RPYC", COMMAND, args)`; `None` for anything else.
    pub fn parse(request: Value) -> Option<Request> {
        let Value::Tuple(t) = request else {
            return None;
        };
        let [magic, cmd, args]: [Value; 3] = t.try_into().ok()?;
        if magic.as_str() != Some("RPYC") {
            return None;
        }
        let Value::Tuple(args) = args else {
            return None;
        };
        let cmd = cmd.as_str()?.to_ascii_lowercase();
        Some(match (cmd.as_str(), args.as_slice()) {
            ("register", [Value::Tuple(names), Value::Int(port)]) => Request::Register {
                names: names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_uppercase)
                    .collect(),
                port: *port,
            },
            ("unregister", [Value::Int(port)]) => Request::Unregister { port: *port },
            ("query", [Value::Str(name)]) => Request::Query {
                name: name.to_uppercase(),
            },
            ("list", [Value::Tuple(filter)]) => Request::List {
                host: filter
                    .first()
                    .and_then(Value::as_str)
                    .filter(|h| !h.is_empty())
                    .map(str::to_string),
            },
            _ => return None,
        })
    }
}

/// Bounds on what registrations may hold (see the README's threat model).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest service name, in bytes (default 128).
    pub max_name_len: usize,
    /// Most `(name, host, port)` entries in all (default 100,000).
    pub max_entries: usize,
    /// Most entries registered from one source address (default 1,024).
    pub max_entries_per_host: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_name_len: 128,
            max_entries: 100_000,
            max_entries_per_host: 1_024,
        }
    }
}

/// Why a registration was refused.
pub(crate) fn check_registration(
    names: &[String],
    port: i64,
    limits: &Limits,
) -> Result<u16, String> {
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("port {port} is not in 1-65535"))?;
    if names.is_empty() {
        return Err("no service name".into());
    }
    if let Some(n) = names
        .iter()
        .find(|n| n.is_empty() || n.len() > limits.max_name_len)
    {
        return Err(format!(
            "service name of {} bytes (1-{} allowed)",
            n.len(),
            limits.max_name_len
        ));
    }
    Ok(port)
}

/// Where a registry keeps its registrations.
pub trait RegistryStore: Send + Sync + 'static {
    /// Records that `host` serves `names` at `port` (refreshing an existing entry). An error
    /// says why it was refused (a bad port, a limit).
    fn register<'a>(
        &'a self,
        host: &'a str,
        names: &'a [String],
        port: i64,
    ) -> BoxFuture<'a, Result<(), String>>;
    /// Removes every entry of `host` at `port`.
    fn unregister<'a>(&'a self, host: &'a str, port: i64) -> BoxFuture<'a, io::Result<()>>;
    /// The live servers of `name`, most recently refreshed first.
    fn query<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<Vec<(String, u16)>>>;
    /// The registered names (those with a server on `host`, if given), most recently
    /// refreshed first.
    fn list<'a>(&'a self, host: Option<&'a str>) -> BoxFuture<'a, io::Result<Vec<String>>>;
    /// Drops what expired; the registry calls it on a timer.
    fn prune(&self) {}
}

/// Registrations in this process: a name's servers and when each last registered.
#[derive(Debug)]
pub struct MemoryStore {
    table: Mutex<Table>,
    pruning: Duration,
    limits: Limits,
}

#[derive(Debug, Default)]
struct Table {
    /// Name → `(host, port)` → last registration.
    services: HashMap<String, HashMap<(String, u16), Instant>>,
    /// Entries per source host.
    per_host: HashMap<String, usize>,
    /// Entries in all.
    entries: usize,
}

impl Table {
    fn remove_entry(&mut self, host: &str) {
        self.entries -= 1;
        if let Some(n) = self.per_host.get_mut(host) {
            *n -= 1;
            if *n == 0 {
                self.per_host.remove(host);
            }
        }
    }

    /// Drops the expired servers of `name` (and `name` once it has none).
    fn prune_name(&mut self, name: &str, now: Instant, pruning: Duration) {
        let Some(servers) = self.services.get_mut(name) else {
            return;
        };
        let expired: Vec<(String, u16)> = servers
            .iter()
            .filter(|(_, t)| now.duration_since(**t) > pruning)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &expired {
            servers.remove(key);
        }
        if servers.is_empty() {
            self.services.remove(name);
        }
        for (host, _) in expired {
            self.remove_entry(&host);
        }
    }
}

impl MemoryStore {
    /// An empty store whose entries live `pruning` after their last registration.
    pub fn new(pruning: Duration, limits: Limits) -> Self {
        MemoryStore {
            table: Mutex::default(),
            pruning,
            limits,
        }
    }

    fn register_now(&self, host: &str, names: &[String], port: i64) -> Result<(), String> {
        let port = check_registration(names, port, &self.limits)?;
        let mut t = self.table.lock();
        let now = Instant::now();
        let new = names
            .iter()
            .filter(|n| {
                !t.services
                    .get(n.as_str())
                    .is_some_and(|s| s.contains_key(&(host.to_string(), port)))
            })
            .count();
        let held = t.per_host.get(host).copied().unwrap_or(0);
        if held + new > self.limits.max_entries_per_host {
            return Err(format!(
                "{host} already holds {held} registrations (limit {})",
                self.limits.max_entries_per_host
            ));
        }
        if t.entries + new > self.limits.max_entries {
            return Err(format!(
                "the registry is full ({} registrations)",
                self.limits.max_entries
            ));
        }
        for name in names {
            let servers = t.services.entry(name.clone()).or_default();
            servers.insert((host.to_string(), port), now);
        }
        t.entries += new;
        *t.per_host.entry(host.to_string()).or_default() += new;
        Ok(())
    }
}

impl RegistryStore for MemoryStore {
    fn register<'a>(
        &'a self,
        host: &'a str,
        names: &'a [String],
        port: i64,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(std::future::ready(self.register_now(host, names, port)))
    }

    fn unregister<'a>(&'a self, host: &'a str, port: i64) -> BoxFuture<'a, io::Result<()>> {
        let mut t = self.table.lock();
        if let Ok(port) = u16::try_from(port) {
            // The names this host registered: bounded by its per-host limit, found without
            // scanning others' entries only as far as the map allows.
            let key = (host.to_string(), port);
            let names: Vec<String> = t
                .services
                .iter()
                .filter(|(_, s)| s.contains_key(&key))
                .map(|(n, _)| n.clone())
                .collect();
            for name in names {
                if let Some(servers) = t.services.get_mut(&name) {
                    servers.remove(&key);
                    if servers.is_empty() {
                        t.services.remove(&name);
                    }
                }
                t.remove_entry(host);
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn query<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<Vec<(String, u16)>>> {
        let mut t = self.table.lock();
        t.prune_name(name, Instant::now(), self.pruning);
        let mut found: Vec<(&(String, u16), &Instant)> = t
            .services
            .get(name)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        found.sort_by_key(|(_, when)| std::cmp::Reverse(**when));
        let found = found.into_iter().map(|(k, _)| k.clone()).collect();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn list<'a>(&'a self, host: Option<&'a str>) -> BoxFuture<'a, io::Result<Vec<String>>> {
        let t = self.table.lock();
        let mut names: Vec<(&String, Instant)> = t
            .services
            .iter()
            .filter(|(_, s)| host.is_none_or(|h| s.keys().any(|(sh, _)| sh == h)))
            .filter_map(|(n, s)| Some((n, *s.values().max()?)))
            .collect();
        names.sort_by_key(|(_, when)| std::cmp::Reverse(*when));
        let names = names.into_iter().map(|(n, _)| n.clone()).collect();
        Box::pin(std::future::ready(Ok(names)))
    }

    fn prune(&self) {
        let mut t = self.table.lock();
        let now = Instant::now();
        let names: Vec<String> = t.services.keys().cloned().collect();
        for name in names {
            t.prune_name(&name, now, self.pruning);
        }
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
