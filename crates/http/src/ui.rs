//! The web UI (issue 7, DESIGN §8): what a person sees at `http://127.0.0.1:5000`.
//!
//! Server-rendered HTML pages (MiniJinja templates embedded in the binary), SVG charts drawn by the server,
//! and one small hand-written script ([`ASSET_JS`]) for live updates (server-sent events), the in-page
//! Merkle-proof check and the tamper sandbox. There is no build step and no Node toolchain: templates, script
//! and style sheet are `include_str!`ed, so the node binary is the whole UI.
//!
//! # Pages
//! | Path | Page |
//! | --- | --- |
//! | `/` | dashboard: height, tip, difficulty, hash rate, mempool, peers (live), block-interval and difficulty chart |
//! | `/ui/blocks`, `/ui/block/{height-or-hash}` | blocks (paged) and one block |
//! | `/ui/tx/{txid}` | a transaction with its Merkle proof, verified in the page |
//! | `/ui/address/{address}` | balance, unspent outputs, paged history |
//! | `/ui/records` | signed records by author, searchable by content (a bounded scan of recent blocks) |
//! | `/ui/mempool` | waiting transactions (live) |
//! | `/ui/network` | peers, add a peer, the block tree with forks |
//! | `/ui/wallet` | node-held keys; create, restore or open a wallet file to sign one transfer or record |
//! | `/ui/mining` | mine a block now, continuous mining, live hash rate |
//! | `/ui/how` | how it works: the chain of hashes with a tamper sandbox, proof of work, UTXOs and signatures |
//!
//! # Owner actions
//! Mining, node-held keys, peers and the wallet-file forms are owner actions: allowed from loopback, with the
//! API token as a bearer header, or with the token given once on a page (kept in an `HttpOnly`,
//! `SameSite=Strict` cookie). Every state-changing form is refused when the browser says it comes from another
//! site (`Origin` / `Sec-Fetch-Site`), so a web page elsewhere cannot make a loopback browser act as the owner.
//! Pages carry a strict content security policy: no inline script or style.
//!
//! # Layout
//! - [`explorer`]: dashboard, blocks, transactions, addresses, records, mempool, search, live fragments.
//! - [`control`]: mining and network pages, the owner token.
//! - [`wallet`]: node-held keys and wallet files (create, restore, open, send, sign a record).
//! - [`learn`]: "how it works".
//! - [`live`]: the server-sent-events stream of the dashboard.
//! - [`charts`]: SVG charts and the block-tree drawing.
//! - [`tree`]: the block index read for the tree (forks and stale branches).
//! - [`forms`]: form bodies (URL-encoded or multipart) and errors shown next to fields.

pub mod charts;
pub mod control;
pub mod explorer;
pub mod forms;
pub mod learn;
pub mod live;
pub mod tree;
pub mod wallet;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Environment, Value, context};
use tower_http::set_header::SetResponseHeaderLayer;

pub use crate::auth::IsOwner;
use crate::error::ApiError;
use ferrochain_node::Node;

/// The page script: live updates, in-page Merkle verification, tamper sandbox, proof-of-work demo.
pub const ASSET_JS: &str = include_str!("ui/static/app.js");
/// The style sheet (phone-width first).
pub const ASSET_CSS: &str = include_str!("ui/static/style.css");
/// The name of the cookie that carries the API token given on a page.
pub use crate::auth::TOKEN_COOKIE;
/// The content security policy of every page: the page's own script and style only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The templates, by name, compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("ui/templates/base.html")),
    ("macros.html", include_str!("ui/templates/macros.html")),
    ("error.html", include_str!("ui/templates/error.html")),
    (
        "dashboard.html",
        include_str!("ui/templates/dashboard.html"),
    ),
    ("_recent.html", include_str!("ui/templates/_recent.html")),
    ("_mempool.html", include_str!("ui/templates/_mempool.html")),
    ("blocks.html", include_str!("ui/templates/blocks.html")),
    ("block.html", include_str!("ui/templates/block.html")),
    ("_tx.html", include_str!("ui/templates/_tx.html")),
    ("tx.html", include_str!("ui/templates/tx.html")),
    ("address.html", include_str!("ui/templates/address.html")),
    ("records.html", include_str!("ui/templates/records.html")),
    ("mempool.html", include_str!("ui/templates/mempool.html")),
    ("network.html", include_str!("ui/templates/network.html")),
    ("mining.html", include_str!("ui/templates/mining.html")),
    ("wallet.html", include_str!("ui/templates/wallet.html")),
    (
        "wallet_created.html",
        include_str!("ui/templates/wallet_created.html"),
    ),
    (
        "wallet_open.html",
        include_str!("ui/templates/wallet_open.html"),
    ),
    ("how.html", include_str!("ui/templates/how.html")),
];

/// The UI routes, merged into the application at `/` and `/ui/...` by [`crate::app`].
pub fn router() -> Router<Node> {
    Router::new()
        .route("/", get(explorer::dashboard))
        .route("/ui", get(explorer::dashboard))
        .route("/ui/", get(explorer::dashboard))
        .route("/ui/static/app.js", get(script))
        .route("/ui/static/style.css", get(style))
        .route("/ui/live", get(live::stream))
        .route("/ui/partial/recent", get(explorer::partial_recent))
        .route("/ui/partial/chart", get(explorer::partial_chart))
        .route("/ui/partial/mempool", get(explorer::partial_mempool))
        .route("/ui/search", get(explorer::search))
        .route("/ui/blocks", get(explorer::blocks))
        .route("/ui/block/{id}", get(explorer::block))
        .route("/ui/tx/{txid}", get(explorer::transaction))
        .route("/ui/address/{address}", get(explorer::address))
        .route("/ui/records", get(explorer::records))
        .route("/ui/mempool", get(explorer::mempool))
        .route("/ui/network", get(control::network))
        .route("/ui/network/peers", post(control::add_peer))
        .route("/ui/mining", get(control::mining))
        .route("/ui/mining/mine", post(control::mine))
        .route("/ui/mining/start", post(control::start))
        .route("/ui/mining/stop", post(control::stop))
        .route("/ui/token", post(control::token))
        .route("/ui/wallet", get(wallet::page))
        .route("/ui/wallet/node/new", post(wallet::node_new_address))
        .route("/ui/wallet/node/send", post(wallet::node_send))
        .route("/ui/wallet/node/record", post(wallet::node_record))
        .route("/ui/wallet/create", post(wallet::create))
        .route("/ui/wallet/restore", post(wallet::restore))
        .route("/ui/wallet/open", post(wallet::open))
        .route("/ui/wallet/file/send", post(wallet::file_send))
        .route("/ui/wallet/file/record", post(wallet::file_record))
        .route("/ui/how", get(learn::page))
        .route("/ui/{*rest}", get(page_not_found))
        .route_layer(axum::middleware::from_fn(refuse_cross_site_posts))
        .route_layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .route_layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .route_layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

/// Refuses cross-site form posts (the security headers of every UI answer are set by the layers above).
async fn refuse_cross_site_posts(req: Request, next: Next) -> Response {
    if req.method() != Method::GET
        && req.method() != Method::HEAD
        && crate::auth::is_cross_site(req.headers())
    {
        return UiError::new(
            StatusCode::FORBIDDEN,
            "Refused: a form from another site",
            "This form was sent from another web site. Owner actions are only taken from this node's own \
             pages.",
        )
        .into_response();
    }
    next.run(req).await
}

async fn page_not_found(uri: axum::http::Uri) -> UiError {
    UiError::not_found(format!(
        "there is no page {}; the pages are listed in the menu above",
        uri.path()
    ))
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", ASSET_JS)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", ASSET_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

impl From<crate::auth::NotOwner> for UiError {
    fn from(_: crate::auth::NotOwner) -> UiError {
        UiError::new(
            crate::auth::NotOwner::STATUS,
            "Owner only",
            crate::auth::NotOwner::MESSAGE,
        )
    }
}

/// An error page: status, title and a message saying what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiError {
    /// The HTTP status (4xx for anything a visitor can cause).
    pub status: StatusCode,
    /// The page title.
    pub title: String,
    /// What went wrong and what to do instead.
    pub message: String,
}

impl UiError {
    /// An error page.
    pub fn new(
        status: StatusCode,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> UiError {
        UiError {
            status,
            title: title.into(),
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::BAD_REQUEST, "Not understood", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::NOT_FOUND, "Not found", message)
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> UiError {
        let title = match e.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::REQUEST_TIMEOUT => "Took too long",
            StatusCode::CONFLICT => "Conflict",
            s if s.is_server_error() => "The node failed",
            _ => "Not understood",
        };
        UiError::new(e.status, title, e.message)
    }
}

impl From<ferrochain_node::NodeError> for UiError {
    fn from(e: ferrochain_node::NodeError) -> UiError {
        UiError::from(ApiError::from(e))
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let ctx = context! {
            title => self.title,
            message => self.message.clone(),
            status => self.status.as_u16(),
            nav => "",
            network => "",
            owner => false,
        };
        let html = match templates()
            .get_template("error.html")
            .and_then(|t| t.render(ctx))
        {
            Ok(html) => html,
            Err(e) => {
                tracing::error!(error = %e, "the error page failed to render");
                format!(
                    "<!doctype html><title>error</title><p>{}</p>",
                    minijinja::HtmlEscape(&self.message)
                )
            }
        };
        let mut response = (self.status, Html(html)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// A page to render: template, title, the navigation entry it belongs to and its own context.
#[derive(Debug)]
pub struct Page {
    /// Template name.
    pub template: &'static str,
    /// Title (the `<title>` and the heading).
    pub title: String,
    /// The navigation entry to highlight.
    pub nav: &'static str,
    /// The page's own values.
    pub ctx: Value,
    /// Status (200 unless a form is shown again with errors).
    pub status: StatusCode,
    /// Answer with `Cache-Control: no-store` (pages with secrets, forms).
    pub no_store: bool,
}

impl Page {
    /// A page with status 200.
    pub fn new(
        template: &'static str,
        title: impl Into<String>,
        nav: &'static str,
        ctx: Value,
    ) -> Page {
        Page {
            template,
            title: title.into(),
            nav,
            ctx,
            status: StatusCode::OK,
            no_store: false,
        }
    }

    /// With this status.
    pub fn status(mut self, status: StatusCode) -> Page {
        self.status = status;
        self
    }

    /// Not to be stored by the browser.
    pub fn no_store(mut self) -> Page {
        self.no_store = true;
        self
    }

    /// Renders the page for `node` and a visitor who is or is not the owner.
    ///
    /// # Errors
    /// [`UiError`] 500 if the template fails (a bug; the cause is logged).
    pub fn render(self, node: &Node, owner: bool) -> Result<Response, UiError> {
        let spec = node.network().spec();
        let ctx = context! {
            title => self.title,
            nav => self.nav,
            network => spec.name.clone(),
            unit => spec.unit.clone(),
            owner => owner,
            has_token => node.config().api_token.is_some(),
            ..self.ctx
        };
        let html = templates()
            .get_template(self.template)
            .and_then(|t| t.render(ctx))
            .map_err(|e| {
                tracing::error!(template = self.template, error = %format!("{e:#}"), "a page failed to render");
                UiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The node failed",
                    "the page could not be drawn; see the node's log",
                )
            })?;
        let mut response = (self.status, Html(html)).into_response();
        if self.no_store {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Ok(response)
    }
}

/// Renders a template fragment (no page around it) for live refreshes.
///
/// # Errors
/// [`UiError`] 500 if the template fails.
pub fn fragment(name: &str, ctx: Value) -> Result<Response, UiError> {
    let html = templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| {
            tracing::error!(template = name, error = %format!("{e:#}"), "a fragment failed to render");
            UiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The node failed",
                "see the node's log",
            )
        })?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// Runs blocking work (state reads, signing, mining) off the async workers within the request time limit,
/// like the REST API's [`crate::parse::blocking`].
///
/// # Errors
/// The closure's [`UiError`], or a 408/500 page.
pub async fn blocking<T: Send + 'static>(
    node: &Node,
    f: impl FnOnce(Node) -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    let limit = crate::parse::time_limit(node);
    match tokio::time::timeout(limit, node.blocking(f)).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => Err(UiError::from(ApiError::internal(e))),
        Err(_) => Err(UiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "Took too long",
            format!(
                "the page took longer than the node's limit of {} s (request_timeout_secs)",
                node.config().request_timeout_secs.max(1)
            ),
        )),
    }
}

/// Renders `page` for the visitor from a handler.
///
/// # Errors
/// As [`Page::render`].
pub fn respond(node: &Node, owner: IsOwner, page: Page) -> Result<Response, UiError> {
    page.render(node, owner.is_owner())
}

/// The template environment (built once).
fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "a UI template does not compile");
            }
        }
        env.add_filter("short", |s: String| short(&s));
        env.add_filter("time", |ms: u64| format_time_ms(ms));
        env.add_filter("rate", |r: f64| format_rate(r));
        env.add_filter("bytes", |n: u64| format_bytes(n));
        env.add_filter("duration", |ms: u64| format_duration_ms(ms));
        env
    })
}

/// Checks that every template compiles and that the environment is built (tests call it).
///
/// # Errors
/// The first template that does not compile.
#[cfg(test)]
fn check_templates() -> Result<(), String> {
    let env = templates();
    for (name, _) in TEMPLATES {
        env.get_template(name)
            .map_err(|e| format!("{name}: {e:#}"))?;
    }
    Ok(())
}

/// A template value of anything serializable (the REST API's views, page rows).
pub fn v<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// A hash shortened for tables: the first 10 and last 6 hex digits.
pub fn short(s: &str) -> String {
    if s.len() > 20 && s.is_char_boundary(10) && s.is_char_boundary(s.len() - 6) {
        format!("{}…{}", &s[..10], &s[s.len() - 6..])
    } else {
        s.to_string()
    }
}

/// A hash rate for people: `812 H/s`, `1.25 MH/s`.
pub fn format_rate(rate: f64) -> String {
    let units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s"];
    let mut r = if rate.is_finite() { rate.max(0.0) } else { 0.0 };
    let mut i = 0;
    while r >= 1000.0 && i + 1 < units.len() {
        r /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{r:.0} {}", units[i])
    } else {
        format!("{r:.2} {}", units[i])
    }
}

/// A byte count for people.
pub fn format_bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

/// A duration in ms for people: `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`.
pub fn format_duration_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

/// A time in ms since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time_ms(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("{ms} ms after 1970"),
    }
}

/// The status page state shared by pages and the live stream: the REST API's status.
///
/// # Errors
/// [`UiError`] if the status cannot be read.
pub async fn status(node: &Node) -> Result<crate::views::Status, UiError> {
    crate::read::status(node.clone())
        .await
        .map_err(UiError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        assert_eq!(check_templates(), Ok(()));
    }

    #[test]
    fn times_rates_and_hashes_read_well() {
        assert_eq!(format_time_ms(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time_ms(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_time_ms(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_rate(812.4), "812 H/s");
        assert_eq!(format_rate(1_250_000.0), "1.25 MH/s");
        assert_eq!(format_rate(f64::NAN), "0 H/s");
        assert_eq!(format_bytes(2048), "2.0 KiB");
        assert_eq!(format_duration_ms(12_400), "12.4 s");
        assert_eq!(short(&"ab".repeat(32)), "ababababab…ababab");
        assert_eq!(short("dev1xyz"), "dev1xyz");
    }

    #[test]
    fn cross_site_forms_are_recognised() {
        let mut h = axum::http::HeaderMap::new();
        assert!(!crate::auth::is_cross_site(&h));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:5000"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:5000"),
        );
        assert!(!crate::auth::is_cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(crate::auth::is_cross_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(crate::auth::is_cross_site(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(crate::auth::is_cross_site(&h));
    }
}
