//! The README's commands, read from README.md as written.
//!
//! * The main command (the first line of the first ```sh block) runs as written, only its port
//!   replaced by a free one: it must print `listening on HOST:PORT`, and a Python `rpyc` client
//!   (the venv's) must get an answer from it. Cargo reuses an existing build, so this costs
//!   one release build of `rpyc-server` on a fresh clone and seconds afterwards.
//! * The test command (the other line of that block) is what CI runs: `.ci/run` calls it.
//! * Every other command the README shows (registry, benchmark, fuzzing, the flags it names) is
//!   checked to parse: `--help` after its arguments exits 0. The examples the layout table
//!   lists are exactly `examples/*.rs` (the suite builds every example).

#[path = "support/python.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn readme() -> String {
    std::fs::read_to_string(support::repo_root().join("README.md")).unwrap()
}

/// The command lines (comments and blank lines dropped) of every ```sh block, in order.
fn sh_blocks(md: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in md.lines() {
        let t = line.trim();
        match &mut current {
            None if t == "```sh" => current = Some(Vec::new()),
            None => {}
            Some(_) if t == "```" => blocks.push(current.take().unwrap()),
            Some(cmds) if !t.is_empty() && !t.starts_with('#') => cmds.push(t.to_string()),
            Some(_) => {}
        }
    }
    blocks
}

/// The inline code spans (`like this`) of the README's prose (outside fenced blocks).
fn inline_spans(md: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(code), Some(_)) = (parts.next(), parts.next()) {
            spans.push(code.to_string());
        }
    }
    spans
}

/// Runs `command` with `sh -c` in the repository root and returns its stdout; it must exit 0.
fn sh(command: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(support::repo_root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{command}` failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `command --help`: after the `--` that separates cargo's arguments from the program's, or
/// at the end of a plain program's command line (a trailing `&` dropped).
fn with_help(command: &str) -> String {
    let command = command.trim_end_matches('&').trim();
    if command.ends_with(" --help") {
        command.to_string()
    } else if command.starts_with("cargo ") && !command.contains(" -- ") {
        format!("{command} -- --help")
    } else {
        format!("{command} --help")
    }
}

/// Whether commands with `--features etcd` can be checked: the feature's build needs `protoc`,
/// which a plain `cargo test` does not require. The README's test command installs it and sets
/// `RPYC_REQUIRE_ETCD=1`, so there they are always checked (a missing protoc fails).
fn etcd_feature_buildable() -> bool {
    if std::env::var_os("RPYC_REQUIRE_ETCD").is_some() {
        return true;
    }
    let found = std::env::var_os("PROTOC").is_some()
        || Command::new("protoc").arg("--version").output().is_ok();
    if !found {
        eprintln!("protoc not found: the README's `--features etcd` commands are checked by the test command only");
    }
    found
}

/// A local TCP port free right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `command` with the number after `--port` replaced by `port` (there must be exactly one).
fn with_port(command: &str, port: u16) -> String {
    let words: Vec<&str> = command.split(' ').collect();
    let at: Vec<usize> = (0..words.len()).filter(|&i| words[i] == "--port").collect();
    assert_eq!(at.len(), 1, "one --port in `{command}`");
    let mut words: Vec<String> = words.into_iter().map(str::to_string).collect();
    words[at[0] + 1] = port.to_string();
    words.join(" ")
}

/// Kills the main command (cargo has exec'd the server by then) when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn main_command_serves_a_python_client() {
    let blocks = sh_blocks(&readme());
    let main = &blocks.first().expect("a ```sh block")[0];
    assert!(
        main.starts_with("cargo run --release -p rpyc-server -- --service calc"),
        "the first command of the first ```sh block is the main command: {main}"
    );
    let command = with_port(main, free_port());

    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {command}"))
        .current_dir(support::repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let running = Running(child);
    // Cargo's build output: drained for the whole life of the process, shown on failure.
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    // No deadline: the first run builds the release binary, however long that takes.
    let mut address = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(addr) = line.strip_prefix("listening on ") {
            address = Some(addr.trim().to_string());
            break;
        }
    }
    let Some(address) = address else {
        drop(running);
        panic!(
            "`{command}` ended without printing `listening on`:\n{}",
            errors.join().unwrap()
        );
    };
    let (host, port) = address.rsplit_once(':').unwrap();

    let client = format!(
        "import rpyc\n\
         c = rpyc.connect({host:?}, {port})\n\
         print(c.root.add(2, 3), c.root.get_service_name())\n\
         c.close()\n"
    );
    let out = Command::new(support::python())
        .arg("-c")
        .arg(client)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the Python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5 CALCULATOR");
    drop(running);
}

#[test]
fn test_command_is_what_ci_runs() {
    let blocks = sh_blocks(&readme());
    assert_eq!(
        blocks[0],
        [blocks[0][0].clone(), "scripts/test.sh".to_string()],
        "the first ```sh block holds the main command and the test command"
    );
    let root = support::repo_root();
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let calls: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !l.starts_with("set ") && !l.starts_with("cd "))
        .collect();
    assert_eq!(
        calls,
        ["exec scripts/test.sh"],
        ".ci/run runs the test command only"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [".ci/run", "scripts/test.sh", "scripts/setup-python.sh"] {
            let mode = std::fs::metadata(root.join(f))
                .unwrap()
                .permissions()
                .mode();
            assert!(mode & 0o111 != 0, "{f} is executable");
        }
    }
}

#[test]
fn every_other_command_parses() {
    let md = readme();
    let blocks = sh_blocks(&md);
    let mut commands: Vec<String> = blocks[1..].iter().flatten().cloned().collect();
    commands.extend(
        inline_spans(&md)
            .into_iter()
            .filter(|s| s.starts_with("cargo run ") || s.starts_with("rpyc-server ")),
    );
    assert!(commands.len() >= 4, "{commands:?}");

    let mut helps = String::new();
    for command in &commands {
        if let Some(rest) = command.split("cargo fuzz run ").nth(1) {
            // cargo-fuzz is an optional install: check the target it names exists.
            let target = rest.split_whitespace().next().unwrap();
            let manifest = std::fs::read_to_string(support::repo_root().join("fuzz/Cargo.toml"));
            assert!(
                manifest.unwrap().contains(&format!("name = \"{target}\"")),
                "fuzz target {target} of `{command}`"
            );
            continue;
        }
        if command.contains("--features etcd") && !etcd_feature_buildable() {
            continue;
        }
        let runnable = match command.strip_prefix("rpyc-server ") {
            Some(args) => format!("cargo run -q -p rpyc-server -- {args}"),
            None => command.clone(),
        };
        let help = sh(&with_help(&runnable));
        assert!(
            !help.trim().is_empty(),
            "`{command} --help` printed nothing"
        );
        helps.push_str(&help);
    }
    helps.push_str(&sh("cargo run -q -p rpyc-server -- --help"));

    // Every flag the prose names belongs to one of the binaries above.
    for span in inline_spans(&md) {
        if let Some(flag) = span.strip_prefix("--") {
            let name = flag.split([' ', '=']).next().unwrap();
            assert!(
                helps.contains(&format!("--{name}")),
                "the README names `--{name}`, which no binary's --help lists"
            );
        }
    }
}

#[test]
fn layout_table_lists_every_example() {
    let md = readme();
    let row = md
        .lines()
        .find(|l| l.starts_with("| `examples/` |"))
        .expect("the layout table's examples/ row");
    let listed: Vec<String> = inline_spans(row)
        .into_iter()
        .filter(|s| s != "examples/")
        .collect();
    let dir = support::repo_root().join("examples");
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| stem(&p))
        .collect();
    present.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, present, "README's examples/ row vs examples/*.rs");
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}
