//! The examples a user of `rpyc` reads use `rpyc::` paths only.
//!
//! `cargo doc -p rpyc` shows the doc comments of the workspace's other crates (they are
//! re-exported whole), and those crates compile their doc examples against the `rpyc` facade
//! (a dev-dependency). This test keeps internal crate paths (`rpyc_core::`, `rpyc_netref::`,
//! `rpyc_server::`, `rpyc_macros::`) out of every code block a reader sees there and in the
//! README, and keeps rustdoc-hidden `# ` lines out of the README's Rust code (readers copy it).

#[path = "support/python.rs"]
mod support;

use std::path::{Path, PathBuf};

const INTERNAL: [&str; 4] = [
    "rpyc_core::",
    "rpyc_netref::",
    "rpyc_server::",
    "rpyc_macros::",
];

/// Files whose examples still name internal crates, with the reason. Keep this empty.
const NOT_YET: [(&str, &str); 0] = [];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The visible lines of the code blocks in the doc comments of `source`, with line numbers.
fn doc_example_lines(source: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut fenced = false;
    for (n, line) in source.lines().enumerate() {
        let t = line.trim_start();
        let Some(doc) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) else {
            fenced = false;
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        if doc.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced && !(doc.starts_with("# ") || doc == "#") {
            lines.push((n + 1, doc.to_string()));
        }
    }
    lines
}

#[test]
fn doc_examples_use_rpyc_paths() {
    let root = support::repo_root();
    let mut files = Vec::new();
    for dir in [
        "src",
        "rpyc-core/src",
        "rpyc-netref/src",
        "rpyc-server/src",
        "rpyc-macros/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut bad = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if NOT_YET.iter().any(|(f, _)| *f == rel) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in doc_example_lines(&text) {
            if INTERNAL.iter().any(|p| line.contains(p)) {
                bad.push(format!("{rel}:{n}: {line}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "examples shown by `cargo doc -p rpyc` name internal crates; use `rpyc::` paths:\n{}",
        bad.join("\n")
    );
}

#[test]
fn readme_code_uses_rpyc_paths_and_hides_nothing() {
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    let mut lang: Option<String> = None;
    for (n, line) in readme.lines().enumerate() {
        let n = n + 1;
        if let Some(tag) = line.trim_start().strip_prefix("```") {
            lang = match lang {
                None => Some(tag.to_string()),
                Some(_) => None,
            };
            continue;
        }
        let Some(lang) = &lang else { continue };
        if INTERNAL.iter().any(|p| line.contains(p)) {
            panic!("README.md:{n} names an internal crate: {line}");
        }
        if lang.starts_with("rust") && (line.starts_with("# ") || line == "#") {
            panic!("README.md:{n}: a rustdoc-hidden line in code readers copy: {line}");
        }
    }
    // The prose too: every path a reader is told about is an `rpyc::` one.
    for (n, line) in readme.lines().enumerate() {
        for span in line.split('`').skip(1).step_by(2) {
            assert!(
                !INTERNAL.iter().any(|p| span.contains(p)),
                "README.md:{}: `{span}`",
                n + 1
            );
        }
    }
}
