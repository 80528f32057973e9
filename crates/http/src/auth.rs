//! The authorization layer: the one place that decides whether a request is the node's owner's, for every
//! surface (REST, seed routes, peer routes, web UI).
//!
//! A request is the owner's when it carries the API token (`Authorization: Bearer <--api-token>`; the web UI
//! also accepts it from its cookie), or when it comes from loopback. The proof is an [`Owner`] value: its field
//! is private and only this module makes one, so a handler that takes an `Owner` runs for the owner only, and
//! no other code can claim to be the owner.
//!
//! [`is_cross_site`] reads what a browser says about where a request comes from (`Sec-Fetch-Site`, `Origin`);
//! [`guard`], the middleware in front of every route, refuses a `Host` the node does not answer to (DNS
//! rebinding) and a state-changing request that a browser sends from another site (ADR 0019).

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use ferrochain_node::Node;

use ferrochain_node::ErrorCode;

use crate::error::ApiError;

/// The cookie in which the web UI keeps the API token a visitor gave (`/ui/token`).
pub const TOKEN_COOKIE: &str = "ferrochain_token";

/// Proof that the request may perform owner operations: it comes from loopback, or carries the API token.
/// Only the authorization layer makes one.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    _proven: (),
}

/// Decides whether the request is the owner's: the bearer token, or loopback. A request that carries an
/// `Authorization` header proves itself by it alone: a wrong, malformed or unexpected token is a 401, even
/// from loopback.
async fn owner_of(parts: &mut Parts, node: &Node) -> Result<Option<Owner>, ApiError> {
    if let Some(header) = parts.headers.get(header::AUTHORIZATION) {
        let given = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_string());
        let given = given.as_deref();
        let client = crate::throttle::Client::from_request_parts(parts, node).await?;
        return match (node.config().api_token.as_deref(), given) {
            (Some(token), Some(given)) if client.guess_token(given, token)? => {
                Ok(Some(Owner { _proven: () }))
            }
            (None, _) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::BadToken,
                "this node has no API token (--api-token), so an Authorization header proves nothing: \
                 send none from the node's own machine, or start the node with --api-token",
            )),
            _ => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::BadToken,
                "wrong or malformed API token: send `Authorization: Bearer <the node's --api-token>`",
            )),
        };
    }
    if node.config().require_token_on_loopback {
        return Ok(None);
    }
    // The extractor (not the raw extension) so that tests' `MockConnectInfo` is honoured too.
    let from_loopback = ConnectInfo::<SocketAddr>::from_request_parts(parts, node)
        .await
        .is_ok_and(|ConnectInfo(addr)| addr.ip().is_loopback());
    Ok(from_loopback.then_some(Owner { _proven: () }))
}

impl FromRequestParts<Node> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, node: &Node) -> Result<Self, Self::Rejection> {
        owner_of(parts, node).await?.ok_or_else(|| {
            if node.config().require_token_on_loopback {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::BadToken,
                    "this node requires the API token for owner operations, even from its own machine \
                     (require_token_on_loopback): send `Authorization: Bearer <the node's --api-token>`",
                )
            } else {
                ApiError::owner_only()
            }
        })
    }
}

/// For web pages: whether the request may take owner actions — the [`Owner`] rule, or the API token in the
/// UI's cookie. Never rejects: pages show owner forms or explain why not.
#[derive(Debug, Clone, Copy)]
pub struct IsOwner(Option<Owner>);

impl FromRequestParts<Node> for IsOwner {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, node: &Node) -> Result<Self, Self::Rejection> {
        if let Ok(Some(owner)) = owner_of(parts, node).await {
            return Ok(IsOwner(Some(owner)));
        }
        let Some(token) = node.config().api_token.as_deref() else {
            return Ok(IsOwner(None));
        };
        let Some(cookie) = CookieJar::from_headers(&parts.headers)
            .get(TOKEN_COOKIE)
            .map(|c| c.value().to_string())
        else {
            return Ok(IsOwner(None));
        };
        // A cookie is a guess too: counted, and refused during a lockout.
        let from_cookie = match crate::throttle::Client::from_request_parts(parts, node).await {
            Ok(client) => client.guess_token(&cookie, token).unwrap_or(false),
            Err(_) => false,
        };
        Ok(IsOwner(from_cookie.then_some(Owner { _proven: () })))
    }
}

impl IsOwner {
    /// Whether the visitor is the owner.
    pub fn is_owner(self) -> bool {
        self.0.is_some()
    }

    /// The owner's proof.
    ///
    /// # Errors
    /// [`NotOwner`] (the web UI shows it as its 403 page).
    pub fn require(self) -> Result<Owner, NotOwner> {
        self.0.ok_or(NotOwner)
    }
}

/// The visitor of a page is not the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotOwner;

impl NotOwner {
    /// What the visitor can do about it.
    pub const MESSAGE: &str = "This action is for the node's owner: open the page on the node's own machine \
         (http://127.0.0.1), or give the node's API token (--api-token) on the wallet or mining page.";

    /// The HTTP status.
    pub const STATUS: StatusCode = StatusCode::FORBIDDEN;
}

/// Whether the browser says the request comes from another site: `Sec-Fetch-Site: cross-site`, or an
/// `Origin` whose host is not the request's `Host`.
pub fn is_cross_site(headers: &axum::http::HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !origin_host.eq_ignore_ascii_case(host)
}

/// Routes a page of another site may call: public reads and the submission of transactions signed by their
/// sender (system B's two-port layout; they answer with CORS headers).
pub(crate) const CROSS_ORIGIN_ROUTES: &[&str] = &[
    "/chain",
    "/blockchain/chain",
    "/blockchain/transactions/new",
    "/blockchain/transactions/get",
    "/blockchain/nodes/get",
    "/client/wallet/new",
    "/client/generate/transaction",
];

/// GET routes that change the node (the seeds' mining, resolving and saving on a GET).
const STATE_CHANGING_GETS: &[&str] = &[
    "/mine",
    "/nodes/resolve",
    "/blockchain/mine",
    "/blockchain/nodes/resolve",
    "/save",
    "/supply-chain/mine",
];

/// The host part of a `Host` header value (`name`, `1.2.3.4`, `[::1]`), lower-cased, without the port.
fn host_name(value: &str) -> String {
    let v = value.trim().to_ascii_lowercase();
    if let Some(rest) = v.strip_prefix('[') {
        return format!("[{}]", rest.split(']').next().unwrap_or_default());
    }
    v.split(':').next().unwrap_or_default().to_string()
}

/// Whether the node answers to `Host: value`: an IP address (rebinding needs a name), a loopback name, the
/// public URL's host, or a configured `allowed_hosts` entry.
fn host_allowed(node: &Node, value: &str) -> bool {
    let name = host_name(value);
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
    {
        return true;
    }
    let public = node.config().public_url();
    if ferrochain_node::parse_peer_origin(&public)
        .ok()
        .and_then(|o| o.split("://").nth(1).map(host_name))
        .is_some_and(|h| h == name)
    {
        return true;
    }
    node.config()
        .allowed_hosts
        .iter()
        .any(|h| host_name(h) == name || h.eq_ignore_ascii_case(value.trim()))
}

/// Whether a browser sent this request from another site: `Sec-Fetch-Site: cross-site`, or an `Origin` that is
/// neither the request's own (`Host`) nor a configured `allowed_origins` entry.
fn from_other_site(node: &Node, headers: &axum::http::HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = |o: &str| {
        node.config()
            .allowed_origins
            .iter()
            .filter_map(|a| ferrochain_node::parse_peer_origin(a).ok())
            .any(|a| ferrochain_node::parse_peer_origin(o).is_ok_and(|o| o == a))
    };
    if let Some(o) = origin
        && allowed(o)
    {
        return false;
    }
    is_cross_site(headers)
}

/// The middleware in front of every route: a foreign `Host` is a 421, and a state-changing request that a
/// browser sends from another site (any method but GET/HEAD/OPTIONS, or one of the seeds' state-changing GETs)
/// is a 403 — except on the routes other sites may call (public reads, signed submissions) and on the web UI,
/// whose own layer answers such a form with its error page.
pub async fn guard(State(node): State<Node>, request: Request, next: Next) -> Response {
    if let Some(host) = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        && !host_allowed(&node, host)
    {
        return ApiError::of(
            ErrorCode::ForeignHost,
            format!(
                "this node does not answer to the host {host:?}: use its address (an IP address or localhost), \
                 or add the name to the `allowed_hosts` setting (--allowed-host)"
            ),
        )
        .into_response();
    }
    let path = request.uri().path();
    let method = request.method();
    let changes_state = !matches!(
        *method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    ) || STATE_CHANGING_GETS.contains(&path);
    if changes_state
        && !CROSS_ORIGIN_ROUTES.contains(&path)
        && !path.starts_with("/ui/")
        && from_other_site(&node, request.headers())
    {
        return ApiError::of(
            ErrorCode::CrossSite,
            "refused: a web page of another site sent this request; owner actions come from this node's own \
             pages, from scripts and tools (no Origin), or from an origin named in the `allowed_origins` \
             setting (--allowed-origin)",
        )
        .into_response();
    }
    next.run(request).await
}
