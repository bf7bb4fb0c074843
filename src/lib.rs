//! rpyc facade.
pub use rpyc_core as core;
