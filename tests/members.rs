//! Members the macros expose besides methods: constants (RPyC's `exposed_x = 43`) and struct
//! fields (`#[rpyc::object(fields(...))]`), read-only, under the access policy.

#[macro_use]
mod common;

use common::{connect_default, Transport};
use rpyc::Value;

#[derive(Default)]
struct Answers;

#[rpyc::service]
impl Answers {
    /// The literal translation of RPyC's `exposed_the_real_answer_though = 43`.
    #[exposed]
    const THE_REAL_ANSWER_THOUGH: i64 = 43;

    /// Exposed by its prefix, as in Python.
    #[allow(non_upper_case_globals)]
    const exposed_greeting: &'static str = "hi";

    /// Renamed.
    #[exposed(name = "pi")]
    const PI_ISH: f64 = 3.25;

    /// Not exposed: unreachable.
    const HIDDEN: i64 = 7;

    #[exposed]
    fn user(&self) -> User {
        User {
            name: "ann".into(),
            age: 7,
            password: "secret".into(),
        }
    }
}

struct User {
    name: String,
    age: u32,
    #[allow(dead_code)]
    password: String,
}

#[rpyc::object(fields(name, age))]
impl User {}

async fn constants_and_fields_read_as_attributes(t: Transport) -> rpyc::Result<()> {
    let (conn, _guard) = connect_default(t, || Answers).await;
    let root = conn.root().await?;
    assert_eq!(root.attr::<i64>("the_real_answer_though").await?, 43);
    assert_eq!(
        root.attr::<i64>("exposed_the_real_answer_though").await?,
        43
    );
    assert_eq!(root.attr::<String>("greeting").await?, "hi");
    assert_eq!(root.attr::<f64>("pi").await?, 3.25);
    for hidden in [
        "HIDDEN",
        "hidden",
        "exposed_hidden",
        "PI_ISH",
        "THE_REAL_ANSWER_THOUGH",
    ] {
        let err = root.getattr(hidden).await.unwrap_err();
        assert!(err.is_remote("AttributeError"), "{hidden}: {err}");
    }
    let user: rpyc::NetRef = root.call_method("user", ()).await?.extract()?;
    assert_eq!(user.attr::<String>("name").await?, "ann");
    assert_eq!(user.attr::<u32>("age").await?, 7);
    assert!(user
        .getattr("password")
        .await
        .unwrap_err()
        .is_remote("AttributeError"));
    // Read-only: setting a field or a constant is refused.
    assert!(user
        .setattr("age", 8)
        .await
        .unwrap_err()
        .is_remote("AttributeError"));
    assert!(root
        .setattr("the_real_answer_though", 1)
        .await
        .unwrap_err()
        .is_remote("AttributeError"));
    assert_eq!(user.attr::<u32>("age").await?, 7);
    // dir() lists them.
    let names = root.dir().await?;
    assert!(
        names.iter().any(|n| n == "the_real_answer_though"),
        "{names:?}"
    );
    assert_eq!(
        root.call_method("user", ())
            .await?
            .extract::<rpyc::NetRef>()?
            .getattr("name")
            .await?,
        Value::str("ann")
    );
    Ok(())
}

transport_tests!(constants_and_fields_read_as_attributes);
