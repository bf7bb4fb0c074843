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
//! | [`services`] | the built-in `calc` and `test` services |
//! | `main.rs` | the `rpyc-server` command line |
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod server;
pub mod services;

pub use server::{ConnectionCounter, Server, ShutdownHandle};
