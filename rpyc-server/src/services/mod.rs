//! The built-in services the `rpyc-server` binary serves.
//!
//! | module | service |
//! |---|---|
//! | [`calc`] | `CALCULATOR`: `add`, `multiply`, `get_history` |
//! | [`mod@test`] | `TEST`: the interop contract (echo, errors, callbacks, counters, maps, …) |
//! | [`num`] | Python arithmetic on values, shared by both |

pub mod calc;
pub mod num;
pub mod test;

pub use calc::CalculatorService;
pub use test::TestService;
