//! The Prometheus exposition of the node's metrics at `GET /metrics`, and the middleware that records the
//! latency of every HTTP request under its route pattern (`route` is the route's pattern such as
//! `/api/v1/blocks/:id`, or `unmatched`, so URLs cannot blow up the label set). The metrics themselves live in
//! the node crate ([`ferrochain_node::Metrics`]). The `method` label comes from a closed set too
//! ([`method_label`]).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ferrochain_node::Node;

/// The `route` label of requests that matched no route.
pub(crate) const UNMATCHED_ROUTE: &str = "unmatched";

/// The `/metrics` route.
pub fn router() -> Router<Node> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(node): State<Node>) -> Response {
    let text = node.metrics_text();
    ([(CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response()
}

/// The HTTP methods that are `method` label values as they are; any other method is [`OTHER_METHOD`].
pub const METHOD_LABELS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];
/// The `method` label of a request with a method outside [`METHOD_LABELS`] (any token is a valid method, so
/// they would blow up the label set).
pub const OTHER_METHOD: &str = "other";

/// The `method` label of a request: from a closed set ([`METHOD_LABELS`], else [`OTHER_METHOD`]).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    METHOD_LABELS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or(OTHER_METHOD)
}

/// The `route` label of a route pattern: parameters written `:name` (`/api/v1/blocks/:id`) rather than
/// axum's `{name}`, because braces inside label values trip up simple text-format parsers and shell tools.
pub fn route_label(pattern: &str) -> String {
    pattern.replace('{', ":").replace('}', "")
}

/// Middleware recording the latency of every request under its route pattern (see the module docs), and
/// logging it at debug level.
pub async fn track_http(State(node): State<Node>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_string(), |p| route_label(p.as_str()));
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    node.metrics().observe_http(method, &route, status, elapsed);
    tracing::debug!(method, %route, status, ms = elapsed.as_secs_f64() * 1e3, "http request");
    response
}
