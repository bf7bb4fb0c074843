//! # rpyc-server — serving RPyC connections
//!
//! A [`Server`] accepts TCP (IPv4/IPv6) or Unix-socket connections and serves each with a
//! [`rpyc_netref::Service`]; the built-in [`services`] (`calc`, `test`) are what the
//! `rpyc-server` binary serves, so any RPyC 6 client can talk to a real server without writing
//! one.
//!
//! ## Layout
//!
//! | module | owns |
//! |---|---|
//! | [`server`] | [`Server`]: listeners, per-connection tasks, connection limit, graceful shutdown |
//! | [`metrics`] | [`metrics::PrometheusRecorder`]: a `metrics` recorder rendering Prometheus' text format |
//! | [`status`] | the live view: [`status::Monitor`] (open connections, gauges, the status page), the `/metrics` + `/status` HTTP endpoint |
//! | `slots` | the connection cap: who is evicted when it is reached (a connection that never sent a frame), the per-peer limit |
//! | `shutdown` | [`ShutdownHandle`] (re-exported here and in [`server`]), shared by [`Server`] and [`registry::RegistryServer`] |
//! | [`services`] | the built-in `calc` and `test` services |
//! | [`tls`] | TLS acceptors from PEM certificate and key; mutual TLS (client certificates signed by a given CA) |
//! | [`auth`] | authenticators ([`auth::Authenticator`]): a hook that sees each accepted stream first and refuses it or names who is there; [`auth::TokenAuthenticator`] |
//! | [`discovery`] | the [`discovery::Discovery`] interface (lookup, keep registered, instance left), `from_url`, `connect_by_service`; backends: RPyC's registry (`discovery/registry.rs`) and etcd (`discovery/etcd.rs`, feature `etcd`) |
//! | [`registry`] | RPyC's registry protocol: the registry server and client (as `rpyc_registry.py`) |
//! | `cli` (hidden) | what the binaries share: the `listening on` line, signals, exit codes, host parsing |
//! | `main.rs`, `bin/rpyc-registry.rs` | the `rpyc-server` and `rpyc-registry` command lines |
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth;
#[doc(hidden)]
pub mod cli;
pub mod discovery;
pub mod metrics;
pub mod registry;
pub mod server;
pub mod services;
mod shutdown;
mod slots;
pub mod status;
pub mod tls;

pub use server::{ConnectionCounter, Server};
pub use shutdown::ShutdownHandle;

// The binaries' helpers were at the crate root before `cli` existed; these paths keep working.
#[doc(hidden)]
pub use cli::{announce_and_stop_on_signal, exit_code, unbracket, wait_for_signal};
