//! Compile-fail tests: misuse of the macros gives clear errors at the offending tokens.
//!
//! Regenerate the expected `.stderr` files after an intended change of message with
//! `TRYBUILD=overwrite cargo test -p rpyc-macros --test trybuild`.

#[test]
fn compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
