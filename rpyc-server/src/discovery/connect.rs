//! [`connect_by_service`]: connect to a live instance of a service by name, as RPyC's
//! `rpyc.connect_by_service` — the least loaded first (random among equals), the next one when
//! connecting fails, and one error listing every instance tried when none answers.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use rpyc_core::Config;
use rpyc_netref::{Connection, Error, Result, Service, VoidService};

use super::{Discovery, Instance};

/// How long one instance may take to accept before the next is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects to a live instance of `name` (case-insensitive) found through `discovery`, with
/// the default configuration.
///
/// Fails with [`Error::Connect`] naming the service, "no live instance of NAME", and what each
/// instance tried answered.
pub async fn connect_by_service(name: &str, discovery: &dyn Discovery) -> Result<Connection> {
    connect_by_service_with(name, discovery, Arc::new(VoidService), Config::default())
        .await
        .map(|(conn, _)| conn)
}

/// [`connect_by_service`] for blocking code: a [`rpyc_netref::blocking::Connection`].
pub fn connect_by_service_blocking(
    name: &str,
    discovery: &dyn Discovery,
) -> Result<rpyc_netref::blocking::Connection> {
    rpyc_netref::blocking::block_on(connect_by_service(name, discovery))
        .map(rpyc_netref::blocking::Connection::from_async)
}

/// [`connect_by_service`] serving `service` to the server, with `config`; also returns the
/// instance it reached.
pub async fn connect_by_service_with(
    name: &str,
    discovery: &dyn Discovery,
    service: Arc<dyn Service>,
    config: Config,
) -> Result<(Connection, Instance)> {
    let target = format!("service {name}");
    let instances = discovery
        .lookup(name)
        .await
        .map_err(|e| Error::connect(format!("{target} via {}", discovery.describe()), e))?;
    let mut tried = Vec::new();
    for instance in order_by_load(instances) {
        let addr = instance.address();
        let attempt = tokio::time::timeout(
            CONNECT_TIMEOUT,
            rpyc_netref::connect_with(addr.as_str(), service.clone(), config.clone()),
        )
        .await;
        match attempt {
            Ok(Ok(conn)) => return Ok((conn, instance)),
            Ok(Err(e)) => tried.push(format!("{addr}: {}", root_cause(&e))),
            Err(_) => tried.push(format!("{addr}: no answer within {CONNECT_TIMEOUT:?}")),
        }
    }
    let listed = if tried.is_empty() {
        format!("none listed by {}", discovery.describe())
    } else {
        format!("tried {}", tried.join("; "))
    };
    Err(Error::connect(
        target,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no live instance of {name} ({listed})"),
        ),
    ))
}

/// The OS's words for a failed connect, without repeating the address.
fn root_cause(e: &Error) -> String {
    match e {
        Error::Connect { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// The order in which to try instances: least loaded first, random among equal loads (an
/// instance without a published load counts as 0), so that clients spread over equals. The
/// tie-break is a hash under a fresh `RandomState` (random keys at every call).
pub fn order_by_load(mut instances: Vec<Instance>) -> Vec<Instance> {
    let random = RandomState::new();
    instances.sort_by_cached_key(|i| (i.load.unwrap_or(0), random.hash_one(i)));
    instances
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(port: u16, load: Option<u64>) -> Instance {
        Instance {
            host: "127.0.0.1".into(),
            port,
            load,
        }
    }

    #[test]
    fn least_loaded_first_and_equals_spread() {
        let ordered = order_by_load(vec![inst(1, Some(5)), inst(2, Some(1)), inst(3, Some(3))]);
        let ports: Vec<u16> = ordered.iter().map(|i| i.port).collect();
        assert_eq!(ports, [2, 3, 1]);

        // Among equal loads every instance comes first sometimes.
        let mut first = std::collections::HashSet::new();
        for _ in 0..200 {
            let o = order_by_load(vec![inst(1, None), inst(2, None), inst(3, None)]);
            first.insert(o[0].port);
        }
        assert_eq!(first.len(), 3, "equals are shuffled: {first:?}");
    }
}
