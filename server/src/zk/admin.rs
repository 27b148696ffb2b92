//! The HTTP status endpoint (ZooKeeper's AdminServer, in part): `GET /commands/<word>`
//! answers any four-letter word as JSON (`mntr` as an object of its values), and
//! `GET /metrics` gives the `mntr` numbers in Prometheus' text format. Off unless
//! `admin.enableServer=true` (or `admin.serverPort` is set) in `zoo.cfg`.

use super::{lock, Facing};
use axum::extract::{Path, State as AxumState};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

/// The router, for a standalone server or an ensemble member.
pub(crate) fn router<F: Facing + Sync>(shared: Arc<Mutex<F>>) -> Router {
    Router::new()
        .route("/commands/{word}", get(command::<F>))
        .route("/metrics", get(metrics::<F>))
        .with_state(shared)
}

fn mntr_map(text: &str) -> Map<String, Value> {
    let mut m = Map::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('\t') {
            let k = k.strip_prefix("zk_").unwrap_or(k).to_string();
            let v = v.parse::<f64>().ok().and_then(|f| serde_json::Number::from_f64(f).map(Value::Number));
            m.insert(
                k,
                v.unwrap_or_else(|| Value::String(line.split_once('\t').map(|x| x.1).unwrap_or("").into())),
            );
        }
    }
    m
}

async fn command<F: Facing + Sync>(
    AxumState(shared): AxumState<Arc<Mutex<F>>>,
    Path(word): Path<String>,
) -> impl IntoResponse {
    // The admin endpoint answers every word (it is opt-in itself).
    let text = lock(&shared).four_letter_any(&word);
    match text {
        None => (StatusCode::NOT_FOUND, axum::Json(json!({"command": word, "error": "unknown command"}))),
        Some(t) if word == "mntr" => {
            let mut m = mntr_map(&t);
            m.insert("command".into(), json!("mntr"));
            m.insert("error".into(), Value::Null);
            (StatusCode::OK, axum::Json(Value::Object(m)))
        }
        Some(t) => (StatusCode::OK, axum::Json(json!({"command": word, "output": t, "error": null}))),
    }
}

async fn metrics<F: Facing + Sync>(AxumState(shared): AxumState<Arc<Mutex<F>>>) -> impl IntoResponse {
    let text = lock(&shared).four_letter_any("mntr").unwrap_or_default();
    let mut out = String::new();
    for (k, v) in mntr_map(&text) {
        if let Value::Number(n) = v {
            out.push_str(&format!("# TYPE {k} gauge\n{k} {n}\n"));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
