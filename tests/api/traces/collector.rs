//! The test's loopback receiver for OTLP/HTTP JSON and webhooks, and the spans it got.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use serde_json::{Map, Value};

/// One POST received.
#[derive(Debug, Clone)]
pub struct Post {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A loopback HTTP server keeping every POST: the OTLP receiver (`/v1/traces`) and the webhook
/// receiver (`/hook`) at once.
pub struct Collector {
    address: SocketAddr,
    posts: Arc<Mutex<Vec<Post>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Collector {
    pub async fn start() -> Collector {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&posts));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Collector {
            address,
            posts,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn posts_to(&self, path: &str) -> Vec<Post> {
        let posts = self.posts.lock().unwrap();
        posts.iter().filter(|p| p.path == path).cloned().collect()
    }

    /// Every span exported so far.
    pub fn spans(&self) -> Vec<Exported> {
        self.posts_to("/v1/traces")
            .iter()
            .flat_map(|post| Exported::all_in(&serde_json::from_slice(&post.body).unwrap()))
            .collect()
    }

    /// The first exported span `matches` accepts, once it has arrived.
    pub async fn span(&self, what: &str, matches: impl Fn(&Exported) -> bool) -> Exported {
        let started = Instant::now();
        loop {
            if let Some(span) = self.spans().into_iter().find(&matches) {
                return span;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no {what} among the spans exported: {:#?}",
                self.spans()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The webhook deliveries received, once there are `count`.
    pub async fn deliveries(&self, count: usize) -> Vec<Post> {
        let started = Instant::now();
        loop {
            let hooks = self.posts_to("/hook");
            if hooks.len() >= count {
                return hooks;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "no delivery");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(
    State(posts): State<Arc<Mutex<Vec<Post>>>>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ([(&'static str, &'static str); 1], &'static str) {
    posts.lock().unwrap().push(Post {
        path: uri.path().to_owned(),
        headers,
        body: body.to_vec(),
    });
    ([("content-type", "application/json")], "{}")
}

/// One span as OTLP/JSON carries it.
#[derive(Debug, Clone)]
pub struct Exported {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    pub kind: i64,
    pub attributes: Map<String, Value>,
    pub resource: Map<String, Value>,
}

impl Exported {
    fn all_in(request: &Value) -> Vec<Exported> {
        let mut spans = Vec::new();
        for resource_spans in request["resourceSpans"].as_array().unwrap() {
            let resource = attributes(&resource_spans["resource"]["attributes"]);
            for scope in resource_spans["scopeSpans"].as_array().unwrap() {
                for span in scope["spans"].as_array().unwrap() {
                    spans.push(Exported {
                        trace_id: span["traceId"].as_str().unwrap().to_owned(),
                        span_id: span["spanId"].as_str().unwrap().to_owned(),
                        parent_span_id: span["parentSpanId"].as_str().unwrap_or("").to_owned(),
                        name: span["name"].as_str().unwrap().to_owned(),
                        kind: span["kind"].as_i64().unwrap(),
                        attributes: attributes(&span["attributes"]),
                        resource: resource.clone(),
                    });
                }
            }
        }
        spans
    }

    /// An attribute's value as text, whatever its type.
    pub fn attribute(&self, key: &str) -> String {
        match &self.attributes.get(key) {
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => panic!(
                "{} has no attribute {key}: {:?}",
                self.name, self.attributes
            ),
        }
    }
}

/// OTLP/JSON `[{key, value: {stringValue | intValue | ...}}]` as a map of plain values.
fn attributes(list: &Value) -> Map<String, Value> {
    let mut map = Map::new();
    for entry in list.as_array().into_iter().flatten() {
        let value = entry["value"].as_object().and_then(|v| v.values().next());
        map.insert(
            entry["key"].as_str().unwrap().to_owned(),
            value.cloned().unwrap_or(Value::Null),
        );
    }
    map
}
