//! # rpyc-core — the RPyC 6 wire protocol, byte-exact
//!
//! The protocol layer of rpyc-rs: no sockets, no tasks. A real Python `rpyc` 6 peer accepts
//! every byte this crate writes, and everything Python writes decodes here.
//!
//! ## Layout
//!
//! | module | owns |
//! |---|---|
//! | [`value`] | [`Value`], the model of everything brine carries, plus opaque by-reference objects |
//! | [`convert`] | [`IntoValue`] / [`FromValue`] for Rust types; [`ser`] / [`de`] for serde types |
//! | [`content`] | [`Content`]: which parts of a by-reference value a Rust type needs fetched; [`Dict`] |
//! | [`brine`] | the brine codec (canonical encoder, tolerant bounded decoder) |
//! | `brine::scan` | [`brine::cheap_to_decode`]: a bounded pre-scan (items and copied text, `bytes` skipped) that says whether data decodes cheaply |
//! | [`frame`] | framing (`u32 len ‖ u8 compressed ‖ payload ‖ '\n'`), zlib, size limits; frames read in place into one buffer |
//! | [`frame::splice`] | large `bytes` values framed by reference (written with vectored writes) instead of copied |
//! | [`message`] | REQUEST/REPLY/EXCEPTION, handler ids and argument layouts, boxing, id packs |
//! | [`vinegar`] | exceptions on the wire ([`RemoteException`]) |
//! | [`config`] | [`Config`]: every `DEFAULT_CONFIG` key of rpyc 6, plus limits |
//! | [`credentials`] | [`Credentials`]: who a server's peer is (address, TLS client certificate's subject and names, what an authenticator returned) |
//! | [`policy`] | the attribute access check (`_check_attr`) |
//! | [`error`] | error enums for each layer |
//! | [`printable`] | [`Printable`]: a peer's text with its terminal control characters escaped, for printing |
//!
//! ```
//! use rpyc::core::{brine, message::{Boxed, Message}, Value};
//! // A REPLY (seq 3) carrying 42, as a Python server sends it.
//! let mut payload = Vec::new();
//! Message::encode_reply(3, &Boxed::value(42), &mut payload).unwrap();
//! assert_eq!(payload, b"\x02\x11\x53\x11\x51\x7a");
//! assert_eq!(brine::load(&payload[1..]).unwrap().repr(), "(3, (1, 42))");
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod brine;
pub mod config;
pub mod content;
pub mod convert;
pub mod credentials;
pub mod de;
pub mod error;
pub mod frame;
pub mod message;
pub mod policy;
pub mod printable;
pub mod ser;
pub mod value;
pub mod vinegar;

pub use config::{Config, Keepalive};
pub use content::{Content, Dict};
pub use convert::{FromValue, IntoReturn, IntoValue, Serde};
pub use credentials::{Credentials, TlsIdentity};
pub use de::from_value;
pub use error::{ConvertError, DecodeError, EncodeError, Error, FrameError, ProtocolError};
pub use message::{Boxed, Handler, IdPack, Message, Request};
pub use printable::Printable;
pub use ser::to_value;
pub use value::{Object, Opaque, Value};
pub use vinegar::{ExceptionPayload, RemoteException};

/// The rpyc version this crate speaks on the wire.
pub const RPYC_WIRE_VERSION: &str = "6.0.2";
