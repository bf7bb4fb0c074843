//! RPyC over TLS (RPyC's `ssl_connect`): a normal TLS handshake, then the same byte stream.
//! The configuration is built in [`crate::transport::tls`] ([`client_config`] trusts a CA;
//! [`ClientTls`] also pins a server certificate or presents a client certificate), the
//! connection opened in `connect.rs`; this module keeps them under one name.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rpyc::Error> {
//! let ca = std::fs::read("ca.pem").unwrap();
//! let tls = rpyc::tls::client_config(&ca)?;
//! let conn = rpyc::tls::tls_connect("127.0.0.1:18821", "localhost", tls).await?;
//! let root = conn.root().await?;
//! # Ok(()) }
//! ```

pub use crate::connect::{tls_connect, tls_connect_with};
pub use crate::transport::tls::{client_config, ClientTls};
/// The `rustls` crate these configurations come from (`tls_connect` takes an
/// `Arc<rustls::ClientConfig>`), for naming its types or building a configuration by hand.
pub use rustls;
