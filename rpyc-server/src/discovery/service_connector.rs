//! [`ServiceConnector`]: a [`Connector`] bound to a service name, so that an
//! [`rpyc::Reconnecting`](rpyc_netref::Reconnecting) client follows the service rather than one
//! server. Each connection goes to a live instance ([`connect_by_service_with`]); a watcher
//! closes it as soon as that instance leaves discovery ([`Discovery::instance_left`]: an etcd
//! watch, no polling), so a client whose server stopped answering without closing its socket
//! (a partition, a frozen host) moves on within the lease's TTL instead of waiting on TCP.

use std::sync::Arc;

use rpyc_core::Config;
use rpyc_netref::{BoxFuture, Connection, Connector, Result, Service, VoidService};

use super::{connect_by_service_with, Discovery};

/// Connects to live instances of one service, found through discovery.
#[derive(Clone)]
pub struct ServiceConnector {
    name: String,
    discovery: Arc<dyn Discovery>,
    service: Arc<dyn Service>,
    config: Config,
}

impl ServiceConnector {
    /// Connects to instances of `name` found through `discovery`.
    pub fn new(name: impl Into<String>, discovery: Arc<dyn Discovery>) -> Self {
        ServiceConnector {
            name: name.into(),
            discovery,
            service: Arc::new(VoidService),
            config: Config::default(),
        }
    }

    /// Serves `service` to the server on every connection.
    pub fn service(mut self, service: Arc<dyn Service>) -> Self {
        self.service = service;
        self
    }

    /// Opens every connection with `config`.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
}

impl Connector for ServiceConnector {
    fn connect(&self) -> BoxFuture<Result<Connection>> {
        let this = self.clone();
        Box::pin(async move {
            let (conn, instance) = connect_by_service_with(
                &this.name,
                &*this.discovery,
                this.service.clone(),
                this.config.clone(),
            )
            .await?;
            let left = this.discovery.instance_left(&this.name, &instance);
            let (closed, abort) = (conn.closed(), conn.abort_handle());
            let (name, addr) = (this.name.clone(), instance.address());
            tokio::spawn(async move {
                tokio::select! {
                    _ = left => {
                        tracing::info!(service = %name, instance = %addr, "instance left discovery; closing its connection");
                        abort.abort(&format!("{addr} left discovery of {name}"));
                    }
                    _ = closed => {}
                }
            });
            Ok(conn)
        })
    }

    fn target(&self) -> String {
        format!("service {} via {}", self.name, self.discovery.describe())
    }
}
