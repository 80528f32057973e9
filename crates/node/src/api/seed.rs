//! The seed-compatible routes (`../shared/SEED-ROUTES.md`): the paths, methods, field names and response shapes
//! of the four tutorial systems ferrochain replaces, answered by a real node.

use axum::Router;

use crate::node::Node;

/// The seed-compatible routes.
pub fn router() -> Router<Node> {
    Router::new()
}
