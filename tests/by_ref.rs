//! `rpyc::ByRef`: plain Rust data by reference. A real Python rpyc 6.0.2 client sees a
//! `HashMap`, a `BTreeMap` and a map of `Value` keys as dict-like objects, and a serde struct
//! (with a nested struct, a `Vec` and a map inside) as an object with attributes, read-only
//! except the fields declared writable; a Rust client reads the same objects through the
//! `NetRef` API (`getitem`, `attr`, `fetch` into a `HashMap` or a serde struct).

#[path = "support/python.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};

use rpyc::{ByRef, NetRef, Serde, Value};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Address {
    city: String,
    zip: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Profile {
    name: String,
    age: u32,
    address: Address,
    tags: Vec<String>,
    scores: BTreeMap<String, i64>,
}

fn ann() -> Profile {
    Profile {
        name: "ann".into(),
        age: 37,
        address: Address {
            city: "Oslo".into(),
            zip: 150,
        },
        tags: vec!["a".into(), "b".into()],
        scores: [("math".to_string(), 9), ("art".to_string(), 7)].into(),
    }
}

/// One profile per connection: `name` and `address` writable, the rest read-only.
struct Registry {
    profile: ByRef<Profile>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            profile: ByRef::new(ann()).writable(["name", "address"]),
        }
    }
}

#[rpyc::service(aliases = ["REGISTRY"])]
impl Registry {
    #[exposed]
    fn prices(&self) -> ByRef<HashMap<String, i64>> {
        ByRef::new(HashMap::from([("apple".into(), 3), ("pear".into(), 5)]))
    }

    #[exposed]
    fn ranks(&self) -> ByRef<BTreeMap<i64, String>> {
        ByRef::new(BTreeMap::from([(1, "gold".into()), (2, "silver".into())]))
    }

    /// Keys of several Python types, through `ByRef::map` (`Value` keys are not serde).
    #[exposed]
    fn keyed(&self) -> ByRef<HashMap<Value, Value>> {
        ByRef::map(HashMap::from([
            (Value::bytes(&b"raw"[..]), Value::str("bytes")),
            (
                Value::Tuple(vec![Value::Int(1), Value::str("a")]),
                Value::str("tuple"),
            ),
            (Value::Int(7), Value::str("int")),
        ]))
    }

    #[exposed]
    fn profile(&self) -> ByRef<Profile> {
        self.profile.clone()
    }

    /// A read-only copy.
    #[exposed]
    fn frozen(&self) -> ByRef<Profile> {
        ByRef::new(ann())
    }

    /// What the service reads back after the client's writes.
    #[exposed]
    fn profile_now(&self) -> (String, String, u32) {
        let p = self.profile.get();
        (p.name, p.address.city, p.address.zip)
    }

    /// A change made on this side, seen by the client on its next access.
    #[exposed]
    fn birthday(&self) {
        self.profile.update(|p| p.age += 1);
    }

    /// Reads a record the client hands back (our own object, read locally).
    #[exposed]
    fn city_of(&self, p: Serde<Profile>) -> String {
        p.0.address.city
    }
}

/// Serves `Registry` on a free port, runs `script` with `PORT` set, asserts it succeeded.
fn run_python(script: &str) {
    support::run_python_client(Registry::default, &format!("{PRELUDE}{script}"));
}

const PRELUDE: &str = r#"import os, rpyc
c = rpyc.connect('127.0.0.1', int(os.environ['PORT']))

def raises(exc, f):
    try:
        f()
    except exc as e:
        return e
    raise AssertionError(f"{f} did not raise {exc.__name__}")
"#;

#[test]
fn a_hash_map_by_reference_is_a_dict_for_python() {
    run_python(
        r#"
d = c.root.prices()
assert d["apple"] == 3 and d["pear"] == 5
e = raises(KeyError, lambda: d["fig"])
assert e.args == ("fig",), e.args
assert len(d) == 2
assert "apple" in d and "fig" not in d and 3 not in d
assert sorted(d.keys()) == ["apple", "pear"]
assert sorted(d.values()) == [3, 5]
assert sorted(d.items()) == [("apple", 3), ("pear", 5)]
assert dict(d) == {"apple": 3, "pear": 5}
assert sorted(d) == ["apple", "pear"]
assert {k: v for k, v in d.items()} == {"apple": 3, "pear": 5}
assert sorted(k for k in d) == ["apple", "pear"]
assert d.get("apple") == 3 and d.get("fig") is None and d.get("fig", 0) == 0
assert d.get("pear", default=1) == 5
keys = d.keys()
assert len(keys) == 2 and "pear" in keys and ("pear", 5) in d.items()
assert repr(d) in ("{'apple': 3, 'pear': 5}", "{'pear': 5, 'apple': 3}"), repr(d)
raises(AttributeError, lambda: d.no_such_method)
raises(TypeError, lambda: d.get())
"#,
    );
}

#[test]
fn a_btree_map_and_python_keys_equal_to_rust_keys() {
    run_python(
        r#"
r = c.root.ranks()
assert list(r) == [1, 2] and list(r.values()) == ["gold", "silver"]
assert r[1] == "gold" and r[True] == "gold" and r[2.0] == "silver"
raises(KeyError, lambda: r["1"])
raises(KeyError, lambda: r[3])
assert repr(r) == "{1: 'gold', 2: 'silver'}", repr(r)
assert dict(r.items()) == {1: "gold", 2: "silver"}

k = c.root.keyed()
assert k[b"raw"] == "bytes" and k[(1, "a")] == "tuple" and k[7] == "int"
assert (1, "a") in k and (1, "b") not in k and "raw" not in k
raises(KeyError, lambda: k["raw"])
assert dict(k) == {b"raw": "bytes", (1, "a"): "tuple", 7: "int"}
"#,
    );
}

#[test]
fn a_serde_struct_by_reference_has_attributes() {
    run_python(
        r#"
p = c.root.frozen()
assert p.name == "ann" and p.age == 37
assert p.address.city == "Oslo" and p.address.zip == 150
assert p.tags == ("a", "b") and p.tags[1] == "b"
assert p.scores["math"] == 9 and dict(p.scores) == {"math": 9, "art": 7}
assert sorted(dir(p)) == ["address", "age", "name", "scores", "tags"], dir(p)
assert dir(p.address) == ["city", "zip"]
assert repr(p) == ("Profile(name='ann', age=37, address=Address(city='Oslo', zip=150), "
                   "tags=('a', 'b'), scores={'art': 7, 'math': 9})"), repr(p)
assert repr(p.address) == "Address(city='Oslo', zip=150)"

# Read-only: every field, nested ones too; deleting is refused as well.
raises(AttributeError, lambda: setattr(p, "name", "bo"))
raises(AttributeError, lambda: setattr(p.address, "city", "Bergen"))
raises(AttributeError, lambda: delattr(p, "age"))
assert p.name == "ann"

# Nothing but the fields is reachable: the server's access policy refuses the rest.
for name in ("missing", "_secret", "__dict__", "__globals__", "__code__", "__builtins__"):
    e = raises(AttributeError, lambda: getattr(p, name))
    assert f"cannot access '{name}'" in str(e), str(e)
raises(AttributeError, lambda: p.exposed_missing)
raises(TypeError, lambda: len(p))
raises(TypeError, lambda: p["name"])

# The service reads a record handed back to it.
assert c.root.city_of(p) == "Oslo"
"#,
    );
}

#[test]
fn writable_fields_are_type_checked_and_the_service_reads_them_back() {
    run_python(
        r#"
p = c.root.profile()
p.name = "bo"
assert p.name == "bo"
assert c.root.profile_now() == ("bo", "Oslo", 150)

e = raises(TypeError, lambda: setattr(p, "name", 5))
assert "name" in str(e), str(e)
assert p.name == "bo"

# A nested struct is set as a whole, from a tuple (fields in order).
p.address = ("Bergen", 5003)
assert p.address.city == "Bergen" and c.root.profile_now() == ("bo", "Bergen", 5003)
raises(TypeError, lambda: setattr(p, "address", ["Oslo", 1]))  # a list travels by reference
raises(TypeError, lambda: setattr(p, "address", ("Oslo",)))
assert p.address.zip == 5003

# Fields not declared writable stay read-only.
raises(AttributeError, lambda: setattr(p, "age", 40))
raises(AttributeError, lambda: setattr(p, "tags", ()))
assert p.age == 37

# A change the service makes is seen on the next access.
c.root.birthday()
assert p.age == 38
"#,
    );
}

#[tokio::test]
async fn a_rust_client_reads_them_with_the_netref_api() -> rpyc::Result<()> {
    let (client, _server) =
        rpyc::connect_pair_with(Registry::default(), rpyc::Config::default()).await;
    let root = client.root().await?;

    let prices: NetRef = root.call_method("prices", ()).await?.extract()?;
    assert_eq!(prices.getitem("apple").await?, Value::Int(3));
    assert!(prices
        .getitem("fig")
        .await
        .unwrap_err()
        .is_remote("KeyError"));
    assert_eq!(prices.len().await?, 2);
    assert!(prices.contains("pear").await?);
    let all: HashMap<String, i64> = prices.fetch().await?;
    assert_eq!(
        all,
        HashMap::from([("apple".into(), 3), ("pear".into(), 5)])
    );
    let get = prices.call_method("get", ("fig", 0)).await?;
    assert_eq!(get, Value::Int(0));

    let ranks: NetRef = root.call_method("ranks", ()).await?.extract()?;
    let ranks: BTreeMap<i64, String> = ranks.fetch().await?;
    assert_eq!(ranks[&2], "silver");

    let keyed: NetRef = root.call_method("keyed", ()).await?.extract()?;
    assert_eq!(
        keyed.getitem(Value::bytes(&b"raw"[..])).await?,
        Value::str("bytes")
    );

    let profile: NetRef = root.call_method("profile", ()).await?.extract()?;
    assert_eq!(profile.attr::<String>("name").await?, "ann");
    let address: NetRef = profile.attr("address").await?;
    assert_eq!(address.attr::<u32>("zip").await?, 150);
    let scores: NetRef = profile.attr("scores").await?;
    assert_eq!(scores.getitem("art").await?, Value::Int(7));
    assert_eq!(
        profile.dir().await?,
        ["address", "age", "name", "scores", "tags"]
    );
    let Serde(whole): Serde<Profile> = profile.fetch().await?;
    assert_eq!(whole, ann());

    profile.setattr("name", "cy").await?;
    assert!(profile
        .setattr("age", 1)
        .await
        .unwrap_err()
        .is_remote("AttributeError"));
    assert!(profile
        .setattr("name", 1)
        .await
        .unwrap_err()
        .is_remote("TypeError"));
    let now: (String, String, u32) = root.call_method("profile_now", ()).await?.extract()?;
    assert_eq!(now.0, "cy");
    let Serde(whole): Serde<Profile> = profile.fetch().await?;
    assert_eq!(whole.name, "cy");
    Ok(())
}
