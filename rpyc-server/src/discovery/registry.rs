//! RPyC's registry as a [`Discovery`] backend: [`RegistryClient`] looks services up with
//! `QUERY` and keeps a server registered the way Python's `auto_register` does (re-register
//! every 60 s, every second after a failure; unregister at shutdown).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{BoxFuture, Discovery, Instance, Registration};
use crate::registry::{RegistryClient, REGISTRY_PORT, REREGISTER_INTERVAL};

/// How often [`Discovery::instance_left`] asks the registry again.
const LEFT_POLL: Duration = Duration::from_secs(2);

/// `host[:port]` to a socket address (port 18811 when omitted).
pub(super) async fn resolve(hostport: &str) -> io::Result<SocketAddr> {
    let hostport = hostport.trim_end_matches('/');
    let with_port = if hostport
        .rsplit_once(':')
        .is_some_and(|(h, p)| p.parse::<u16>().is_ok() && (!h.contains(':') || h.ends_with(']')))
    {
        hostport.to_string()
    } else {
        format!("{hostport}:{REGISTRY_PORT}")
    };
    let found = tokio::net::lookup_host(&with_port).await?.next();
    found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{hostport}: no address")))
}

impl Discovery for RegistryClient {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<Vec<Instance>>> {
        Box::pin(async move {
            Ok(self
                .discover(name)
                .await?
                .into_iter()
                .map(|(host, port)| Instance {
                    host,
                    port,
                    load: None,
                })
                .collect())
        })
    }

    fn keep_registered(
        &self,
        registration: Registration,
        stop: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        let reg = self.clone();
        Box::pin(async move {
            let names: Vec<&str> = registration.names.iter().map(String::as_str).collect();
            let port = registration.port;
            loop {
                let pause = match reg.register(&names, port).await {
                    Ok(true) => REREGISTER_INTERVAL,
                    Ok(false) | Err(_) => {
                        tracing::warn!(port, "registry did not acknowledge the registration");
                        Duration::from_secs(1)
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.cancelled() => break,
                }
            }
            let _ = reg.unregister(port).await;
        })
    }

    fn instance_left(&self, name: &str, instance: &Instance) -> BoxFuture<'static, ()> {
        let (reg, name, instance) = (self.clone(), name.to_string(), instance.clone());
        Box::pin(async move {
            loop {
                tokio::time::sleep(LEFT_POLL).await;
                // An unreachable registry says nothing about the instance: keep asking.
                if let Ok(found) = reg.discover(&name).await {
                    if !found
                        .iter()
                        .any(|(h, p)| *h == instance.host && *p == instance.port)
                    {
                        return;
                    }
                }
            }
        })
    }

    fn describe(&self) -> String {
        self.url()
    }
}
