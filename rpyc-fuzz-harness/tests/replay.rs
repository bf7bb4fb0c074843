//! Replays the committed corpus of the `connection` fuzz target (`corpus/`: minimized inputs
//! the fuzzer found interesting, and any input that once broke an invariant) through the same
//! harness function, on stable Rust, as part of `cargo test --workspace`.

use std::path::{Path, PathBuf};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn name(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

#[test]
fn every_corpus_input_keeps_the_connection_invariants() {
    let files = corpus();
    assert!(files.len() >= 10, "the corpus has {} inputs", files.len());
    let (mut open, mut closed, mut pings) = (0, 0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let data = std::fs::read(path).expect("a corpus file");
        match rpyc_fuzz_harness::run(&data) {
            Ok(o) if o.open_at_end => {
                eprintln!(
                    "{}: {} ops, {} pings answered, open",
                    name(path),
                    o.ops,
                    o.pings_answered
                );
                open += 1;
                pings += o.pings_answered;
            }
            Ok(o) => {
                eprintln!("{}: {} ops, closed: {}", name(path), o.ops, o.close_reason);
                closed += 1;
            }
            Err(v) => failures.push(format!("{}: {v}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The corpus exercises both ends: inputs after which the connection still answers, and
    // inputs it closes on.
    assert!(
        open > 0 && pings >= open,
        "{open} inputs left it open ({pings} pings)"
    );
    assert!(closed > 0, "no input closed the connection");
}
