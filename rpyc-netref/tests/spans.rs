//! The `rpyc.request` and `rpyc.call` spans, as a subscriber sees them: their fields for a
//! call, and a callback nested under the call that caused it, on both sides of one connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rpyc::{connect_pair_with, testing::EchoService, Callback, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// One recorded span: its name, fields and parent's id.
#[derive(Debug, Clone)]
struct Seen {
    id: u64,
    name: &'static str,
    parent: Option<u64>,
    fields: HashMap<String, String>,
}

impl Seen {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// A layer collecting every span with its fields (recorded ones included).
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Seen>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Collect {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = attrs.parent().cloned().or_else(|| {
            attrs
                .is_contextual()
                .then(|| ctx.current_span().id().cloned())
                .flatten()
        });
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Seen {
            id: id.into_u64(),
            name: attrs.metadata().name(),
            parent: parent.map(|p| p.into_u64()),
            fields,
        });
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some(s) = spans.iter_mut().rev().find(|s| s.id == id.into_u64()) {
            values.record(&mut Fields(&mut s.fields));
        }
    }
}

impl Collect {
    fn find(&self, name: &str, conn: u64, what: impl Fn(&Seen) -> bool) -> Seen {
        let spans = self.0.lock().unwrap();
        let found: Vec<&Seen> = spans
            .iter()
            .filter(|s| s.name == name && s.field("conn") == conn.to_string() && what(s))
            .collect();
        assert_eq!(found.len(), 1, "one {name} on conn {conn}: {spans:#?}");
        found[0].clone()
    }
}

#[tokio::test]
async fn a_call_and_its_callback_are_spans_nested_across_both_directions() {
    let spans = Collect::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _default = tracing::subscriber::set_default(subscriber);

    let (client, server) = connect_pair_with(EchoService, Default::default()).await;
    let root = client.root().await.unwrap();
    let double = Callback::sync(|mut a| a.take::<i64>(0, "x").map(|x| x * 2));
    let r = root.call_method("call", (double, 21)).await.unwrap();
    assert_eq!(r, Value::Int(42));
    let err = root.call_method("nope", ()).await.unwrap_err();
    assert!(err.is_remote("AttributeError"));

    let (c, s) = (client.id(), server.id());
    // The client's call: handler, target type and member; never the arguments.
    let call = spans.find("rpyc.call", c, |s| s.field("member") == "call");
    assert_eq!(call.field("handler"), "callattr");
    assert_eq!(call.field("type"), "rpyc_rs.EchoService");
    assert_eq!(call.field("outcome"), "ok");
    assert!(call.field("seq").parse::<i64>().is_ok());
    assert!(call.field("duration_us").parse::<u64>().is_ok());
    // (The numbers it records, a duration such as 217 µs among them, may contain "21".)
    let words = |(k, _): &(&String, &String)| !matches!(k.as_str(), "duration_us" | "seq" | "conn");
    assert!(
        !call
            .fields
            .iter()
            .filter(words)
            .any(|(_, v)| v.contains("21")),
        "{call:?}"
    );
    // The server's side of it.
    let req = spans.find("rpyc.request", s, |s| s.field("member") == "call");
    assert_eq!(req.field("handler"), "callattr");
    assert_eq!(req.field("type"), "rpyc_rs.EchoService");
    assert_eq!(req.field("seq"), call.field("seq"));
    assert_eq!(req.field("outcome"), "ok");
    // The callback: the server's call back to the client runs in that request's span...
    let back = spans.find("rpyc.call", s, |s| s.field("handler") == "call");
    assert_eq!(back.parent, Some(req.id), "{back:?}");
    assert_eq!(back.field("outcome"), "ok");
    // ... and the client handles it under the call that caused it.
    let handled = spans.find("rpyc.request", c, |s| s.field("handler") == "call");
    assert_eq!(handled.parent, Some(call.id), "{handled:?}");
    assert_eq!(handled.field("seq"), back.field("seq"));
    assert_eq!(handled.field("outcome"), "ok");

    // A remote exception is the outcome, by class, on both sides.
    let failed = spans.find("rpyc.call", c, |s| s.field("member") == "nope");
    assert_eq!(failed.field("outcome"), "AttributeError");
    let refused = spans.find("rpyc.request", s, |s| s.field("member") == "nope");
    assert_eq!(refused.field("outcome"), "AttributeError");
}

#[tokio::test]
async fn a_callback_with_several_calls_waiting_belongs_to_the_connection() {
    let spans = Collect::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _default = tracing::subscriber::set_default(subscriber);

    let (client, server) = connect_pair_with(EchoService, Default::default()).await;
    let root = client.root().await.unwrap();
    let double = Callback::sync(|mut a| a.take::<i64>(0, "x").map(|x| x * 2));
    let triple = Callback::sync(|mut a| a.take::<i64>(0, "x").map(|x| x * 3));
    // Both calls are sent before either is answered: a callback could be either one's.
    let (a, b) = tokio::join!(
        root.call_method("call", (double, 1)),
        root.call_method("call", (triple, 1))
    );
    assert_eq!((a.unwrap(), b.unwrap()), (Value::Int(2), Value::Int(3)));

    let (c, s) = (client.id(), server.id());
    let client_conn = spans.find("rpyc.connection", c, |_| true);
    let server_conn = spans.find("rpyc.connection", s, |_| true);
    let handled: Vec<Seen> = spans
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|x| x.name == "rpyc.request" && x.field("conn") == c.to_string())
        .filter(|x| x.field("handler") == "call")
        .cloned()
        .collect();
    assert_eq!(handled.len(), 2, "{handled:#?}");
    for h in &handled {
        assert_eq!(h.parent, Some(client_conn.id), "{h:?}");
    }
    // The server's requests: no call of the server's waits when they come.
    let req = spans.find("rpyc.request", s, |x| x.field("handler") == "getroot");
    assert_eq!(req.parent, Some(server_conn.id), "{req:?}");
}
