//! Differential test against Python's own brine (rpyc 6.0.2 in the repo's `.venv`, created on
//! first use by `scripts/setup-python.sh`): thousands of random values must encode byte-identically in both
//! directions.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use num_bigint::BigInt;
use rpyc_core::{brine, Value};

#[path = "../../tests/support/python.rs"]
mod support;

fn repo() -> PathBuf {
    support::repo_root()
}

fn python() -> PathBuf {
    support::python()
}

fn oracle(args: &[&str], input: Option<String>) -> String {
    let mut child = Command::new(python())
        .arg(repo().join("tests/python/brine_oracle.py"))
        .args(args)
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the brine oracle");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        if let Some(text) = input {
            stdin.write_all(text.as_bytes()).unwrap();
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "brine oracle failed");
    String::from_utf8(out.stdout).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Python → Rust: every value Python dumps decodes here and re-encodes to the same bytes.
#[test]
fn python_dumps_rust_reencodes_identically() {
    let out = oracle(&["gen", "3000", "20261123"], None);
    let mut n = 0;
    for line in out.lines() {
        let bytes = unhex(line.trim());
        let v = brine::load(&bytes).unwrap_or_else(|e| panic!("cannot decode {line}: {e}"));
        assert_eq!(
            hex(&brine::dump(&v).unwrap()),
            line.trim(),
            "value {}",
            v.repr()
        );
        n += 1;
    }
    assert_eq!(n, 3000);
}

/// A small deterministic generator (xorshift) for Rust-side values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn text(&mut self, len: usize) -> String {
        const POOL: &[char] = &['a', 'Z', '0', ' ', 'é', 'ß', '中', '😀', '\n', '\''];
        (0..len)
            .map(|_| POOL[self.below(POOL.len() as u64) as usize])
            .collect()
    }
    fn length(&mut self) -> usize {
        match self.below(10) {
            0 => 0,
            1..=3 => 1 + self.below(4) as usize,
            4..=7 => 5 + self.below(251) as usize,
            8 => 256 + self.below(700) as usize,
            _ => self.below(3) as usize,
        }
    }
    /// A hashable value (no NaN, which Python would not dedupe consistently).
    fn hashable(&mut self) -> Value {
        match self.below(4) {
            0 => Value::Int(self.next() as i64),
            1 => Value::str(self.text(5)),
            2 => Value::bytes(self.text(3).into_bytes()),
            _ => Value::Tuple(vec![
                Value::Int(self.below(100) as i64),
                Value::str(self.text(2)),
            ]),
        }
    }
    fn value(&mut self, depth: u32) -> Value {
        let k = if depth > 3 {
            self.below(9)
        } else {
            self.below(13)
        };
        match k {
            0 => Value::None,
            1 => Value::Bool(self.below(2) == 0),
            2 => Value::Int(self.below(260) as i64 - 60),
            3 => Value::Int(self.next() as i64),
            4 => {
                let digits: String = (0..(20 + self.below(300)))
                    .map(|_| char::from(b'0' + self.below(10) as u8))
                    .collect();
                let v: BigInt = format!("1{digits}").parse().unwrap();
                Value::from_bigint(if self.below(2) == 0 { -v } else { v })
            }
            5 => Value::Float(f64::from_bits(self.next())),
            6 => Value::Complex(self.below(1000) as f64 / 7.0, -(self.below(1000) as f64)),
            7 => {
                let n = self.length();
                Value::str(self.text(n))
            }
            8 => {
                let n = self.length();
                Value::bytes((0..n).map(|_| self.next() as u8).collect::<Vec<u8>>())
            }
            9 | 10 => {
                // Long tuples hold leaves only, so the total size stays bounded.
                let n = self.length().min(300);
                let child_depth = if n > 6 { 4 } else { depth + 1 };
                Value::Tuple((0..n).map(|_| self.value(child_depth)).collect())
            }
            11 => {
                let mut items: Vec<Value> = Vec::new();
                for _ in 0..self.below(5) {
                    let h = self.hashable();
                    if !items.contains(&h) {
                        items.push(h);
                    }
                }
                Value::FrozenSet(items)
            }
            _ => match self.below(3) {
                0 => Value::slice(Value::Int(1), Value::None, Value::Int(-1)),
                1 => Value::Ellipsis,
                _ => Value::NotImplemented,
            },
        }
    }
}

fn has_multi_frozenset(v: &Value) -> bool {
    match v {
        Value::FrozenSet(items) => items.len() > 1 || items.iter().any(has_multi_frozenset),
        Value::Tuple(items) => items.iter().any(has_multi_frozenset),
        Value::Slice(p) => p.iter().any(has_multi_frozenset),
        _ => false,
    }
}

/// Rust → Python: Python loads what we dump to the same value; its own dump of it is
/// byte-identical to ours (up to frozenset order, which Python does not keep).
#[test]
fn rust_dumps_python_loads_identically() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let values: Vec<Value> = (0..3000).map(|_| rng.value(0)).collect();
    let input: String = values
        .iter()
        .map(|v| hex(&brine::dump(v).unwrap()) + "\n")
        .collect();
    let out = oracle(&["check"], Some(input));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), values.len());
    for (v, line) in values.iter().zip(lines) {
        assert!(
            !line.starts_with("ERR"),
            "Python refused {}: {line}",
            v.repr()
        );
        let ours = hex(&brine::dump(v).unwrap());
        if has_multi_frozenset(v) {
            assert_eq!(&brine::load(&unhex(line)).unwrap(), v, "value {}", v.repr());
        } else {
            assert_eq!(line, ours, "value {}", v.repr());
        }
    }
}
