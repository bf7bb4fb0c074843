//! brine from arbitrary bytes: decode errors are fine; whatever decodes must re-encode and
//! decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpyc_core::brine;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = brine::load(data) {
        let again = brine::dump(&v).expect("a decoded value is dumpable");
        assert_eq!(brine::load(&again).expect("re-decode"), v);
    }
});
