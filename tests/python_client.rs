//! Real Python rpyc 6.0.2 clients against services defined here, in Rust, with the macros:
//! a map type of the test's own (`#[rpyc::object(mapping)]`) used like a dict, an iterator
//! written with only `__next__`, and hostile arguments (a list that contains itself).
//!
//! Each test serves its service on 127.0.0.1 (port 0) in this process and runs a Python
//! script from the venv (`support::python`, created on first use) that asserts what a
//! Python user sees; the script's failure output is the test's failure message.

#[path = "support/python.rs"]
mod support;

use std::sync::Mutex;

use rpyc::{RemoteException, Serde, Value};

/// A map of (str → int) that Python uses like a dict.
struct Inventory {
    items: Mutex<Vec<(String, i64)>>,
}

#[rpyc::object(name = "shop.Inventory", mapping)]
impl Inventory {
    #[exposed(name = "__getitem__")]
    fn get(&self, key: String) -> Result<i64, RemoteException> {
        let found = self
            .items
            .lock()
            .unwrap()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|e| e.1);
        found.ok_or_else(|| RemoteException::key_error(Value::str(&key)))
    }

    #[exposed(name = "__setitem__")]
    fn set(&self, key: String, value: i64) {
        let mut items = self.items.lock().unwrap();
        match items.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = value,
            None => items.push((key, value)),
        }
    }

    #[exposed(name = "__iter__")]
    fn iter(&self) -> Countdown {
        let keys: Vec<String> = self
            .items
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.0.clone())
            .collect();
        Countdown {
            keys: Mutex::new(keys.into_iter()),
        }
    }

    #[exposed(name = "__len__")]
    fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }

    #[exposed(name = "__contains__")]
    fn contains(&self, key: Value) -> bool {
        matches!(key, Value::Str(k) if self.items.lock().unwrap().iter().any(|e| e.0 == k))
    }
}

/// An iterator written with `__next__` only: the macro gives it `__iter__` (itself).
struct Countdown {
    keys: Mutex<std::vec::IntoIter<String>>,
}

#[rpyc::object(name = "shop.KeyIterator")]
impl Countdown {
    #[exposed(name = "__next__")]
    fn next(&self) -> Result<String, RemoteException> {
        self.keys
            .lock()
            .unwrap()
            .next()
            .ok_or_else(RemoteException::stop_iteration)
    }
}

/// Nested lists of any depth, for the self-containing list.
#[derive(serde::Deserialize)]
struct Tree(Vec<Tree>);

#[derive(Default)]
struct Shop;

#[rpyc::service(aliases = ["SHOP"])]
impl Shop {
    /// RPyC's `exposed_the_real_answer_though = 43`.
    #[exposed]
    const THE_REAL_ANSWER_THOUGH: i64 = 43;

    #[exposed]
    fn inventory(&self) -> Inventory {
        Inventory {
            items: Mutex::new(vec![("apple".into(), 3), ("pear".into(), 5)]),
        }
    }

    #[exposed]
    fn stock(&self, counts: std::collections::BTreeMap<String, i64>) -> i64 {
        counts.values().sum()
    }

    #[exposed]
    fn depth(&self, tree: Serde<Tree>) -> usize {
        fn depth(t: &Tree) -> usize {
            1 + t.0.iter().map(depth).max().unwrap_or(0)
        }
        depth(&tree.0)
    }
}

/// Serves `Shop` on a free port, runs `script` with `PORT` set, and asserts it succeeded.
fn run_python_against_shop(script: &str) {
    support::run_python_client(|| Shop, script);
}

const PRELUDE: &str = "import os, rpyc\nc = rpyc.connect('127.0.0.1', int(os.environ['PORT']))\n";

#[test]
fn a_map_type_of_our_own_behaves_like_a_dict() {
    run_python_against_shop(&format!(
        "{PRELUDE}{}",
        r#"
m = c.root.inventory()
assert sorted(m.keys()) == ["apple", "pear"], list(m.keys())
assert list(m.items()) == [("apple", 3), ("pear", 5)]
assert list(m.values()) == [3, 5]
assert dict(m) == {"apple": 3, "pear": 5}
assert {k: v for k, v in m.items()} == {"apple": 3, "pear": 5}
keys = m.keys()
assert list(keys) == list(keys) == ["apple", "pear"]
assert len(keys) == 2 and "apple" in keys and "fig" not in keys
assert ("pear", 5) in m.items() and ("pear", 6) not in m.items()
m["fig"] = 1
assert "fig" in keys and len(m.values()) == 3
it = iter(m)
assert iter(it) == it
assert next(it) == "apple" and list(it) == ["pear", "fig"]
assert sorted(m) == ["apple", "fig", "pear"]
assert c.root.stock(m) == 9
assert c.root.stock({"a": 1, "b": 2}) == 3
assert c.root.the_real_answer_though == 43
assert c.root.exposed_the_real_answer_though == 43
"#
    ));
}

#[test]
fn a_list_that_contains_itself_is_refused_not_followed() {
    run_python_against_shop(&format!(
        "{PRELUDE}{}",
        r#"
assert c.root.depth([[], [[]]]) == 3
l = []
l.append(l)
try:
    c.root.depth(l)
except TypeError as e:
    assert "nested deeper than" in str(e), e
else:
    raise AssertionError("a self-containing list was accepted")
assert c.root.depth([]) == 1
"#
    ));
}
