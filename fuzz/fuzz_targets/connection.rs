//! A live connection under arbitrary frames: the input is a program of requests, replies,
//! garbage and truncations written to a `rpyc::Connection` serving the `test` service, with the
//! invariants checked after it (see `rpyc-fuzz-harness`, which the corpus replay test shares).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(v) = rpyc_fuzz_harness::run(data) {
        panic!("connection invariant broken: {v}");
    }
});
