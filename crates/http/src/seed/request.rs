//! Reading seed requests and shaping seed errors: the body as a JSON object (or form) with field-by-field
//! errors, amounts in whole units, addresses, the owner rules, and one failure type rendered in each seed
//! system's own error shape.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrochain_core::crypto::{AddressError, SignatureError};
use ferrochain_core::{Amount, PubkeyHash, PublicKey, Signature};
use ferrochain_node::ErrorCode;
use ferrochain_wallet::build::BuildError;
use ferrochain_wallet::coin_select::SelectError;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::extract::{Body, Owner};
use ferrochain_node::{Node, NodeError};

/// How a seed system answered errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    /// A and B: `{"message": "..."}`.
    Message,
    /// C: plain text.
    Text,
    /// D: `{"data": null, "error": "Kind: message"}`.
    Envelope,
}

/// A failed seed request, independent of the shape it is answered in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Failure {
    /// HTTP status.
    pub status: StatusCode,
    /// D's error type (`Request`, `Amount`, `Address`, `Units`, ...).
    pub kind: &'static str,
    /// What went wrong and what to do instead.
    pub message: String,
    /// A detail shown beside the message (B's `Invalid Transaction!` says why in `reason`).
    pub reason: Option<String>,
    /// Answer as plain text whatever the style (A's and B's `Missing values`).
    pub plain: bool,
}

impl Failure {
    /// A failure with this status, D error type and message.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            kind,
            message: message.into(),
            reason: None,
            plain: false,
        }
    }

    /// The same failure with a `reason`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Failure {
        self.reason = Some(reason.into());
        self
    }

    /// 400.
    pub fn bad(kind: &'static str, message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, kind, message)
    }

    /// A's and B's `Missing values` (plain text, 400), naming the missing fields.
    pub fn missing(fields: &[&str]) -> Failure {
        Failure {
            plain: true,
            ..Failure::bad("Request", format!("Missing values: {}", fields.join(", ")))
        }
    }

    /// The same failure with `prefix` before its message.
    pub fn prefixed(mut self, prefix: &str) -> Failure {
        self.message = format!("{prefix}{}", self.message);
        self
    }

    /// The answer in `style`.
    pub fn render(self, style: Style) -> Response {
        if self.kind == "Busy" {
            let busy = Failure {
                kind: "Node",
                ..self
            };
            return crate::limits::with_retry_after(busy.render(style));
        }
        let style = if self.plain { Style::Text } else { style };
        let full = match &self.reason {
            Some(reason) => format!("{}: {reason}", self.message),
            None => self.message.clone(),
        };
        match style {
            Style::Message => {
                let mut body = json!({ "message": self.message });
                if let Some(reason) = self.reason {
                    body["reason"] = json!(reason);
                }
                (self.status, axum::Json(body)).into_response()
            }
            Style::Text => text(self.status, full),
            Style::Envelope => (
                self.status,
                axum::Json(json!({
                    "data": null,
                    "error": format!("{}: {full}", self.kind)
                })),
            )
                .into_response(),
        }
    }
}

impl From<crate::limits::Busy> for Failure {
    fn from(busy: crate::limits::Busy) -> Failure {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            busy.api_error().message,
        )
    }
}

impl From<ApiError> for Failure {
    /// Keeps the status (400, 403, 413, 415, ...) and message of the shared extractors' errors.
    fn from(e: ApiError) -> Failure {
        let kind = match e.status {
            StatusCode::FORBIDDEN => "Permission",
            s if s.is_server_error() => "Node",
            _ => "Request",
        };
        Failure::new(e.status, kind, e.message)
    }
}

/// The answer of a seed route: its success, or its failure in the route's `style`.
pub(super) fn answer(result: Result<Response, Failure>, style: Style) -> Response {
    result.unwrap_or_else(|f| f.render(style))
}

/// A plain-text answer.
pub(super) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// D's success envelope.
pub(super) fn envelope(data: Value) -> Response {
    axum::Json(json!({ "data": data, "error": null })).into_response()
}

/// Maps a node error to a seed failure: what the client caused is a 4xx with the node's message (insufficient
/// funds in whole units, as D said it); the node's own failures are a 500 whose cause is only logged.
pub(super) fn node_failure(node: &Node, e: NodeError) -> Failure {
    let decimals = node.network().spec().decimals;
    match e {
        NodeError::Build(BuildError::Selection(SelectError::InsufficientFunds {
            needed,
            available,
            ..
        })) => Failure::bad(
            "Units",
            format!(
                "Not enough units: {} needed, {} spendable",
                needed.format_units(decimals),
                available.format_units(decimals)
            ),
        ),
        other => {
            let api = ApiError::from(other);
            let kind = match api.code {
                ErrorCode::KeyNotHeld | ErrorCode::KeysDisabled => "Wallet",
                ErrorCode::InsufficientFunds => "Units",
                ErrorCode::InvalidAddress => "Address",
                ErrorCode::InvalidBlock => "Block",
                ErrorCode::Conflict | ErrorCode::InvalidTransaction => "Transaction",
                _ => "Node",
            };
            Failure::new(api.status, kind, api.message)
        }
    }
}

/// A blocking task that failed to run (the node is shutting down or the task panicked).
pub(super) fn task_failure(e: NodeError) -> Failure {
    ApiError::internal(e).into()
}

/// Allows owner operations only: loopback or the API token.
pub(super) fn require_owner(owner: &Result<Owner, ApiError>) -> Result<(), Failure> {
    match owner {
        Ok(_) => Ok(()),
        Err(e) => Err(e.clone().into()),
    }
}

/// Whether the node runs a `dev` chain (the seeds' world: mining on seed routes is open to anyone).
pub(super) fn is_dev(node: &Node) -> bool {
    node.is_dev_chain()
}

/// Mining and syncing through seed routes: open to anyone on `dev` chains, owner-only elsewhere.
pub(super) fn require_owner_off_dev(
    node: &Node,
    owner: &Result<Owner, ApiError>,
) -> Result<(), Failure> {
    if is_dev(node) {
        return Ok(());
    }
    require_owner(owner).map_err(|f| {
        f.prefixed("on this network (not a dev chain) mining and syncing through the seed routes are owner operations: ")
    })
}

/// The fields of a request body: a JSON object or a form.
#[derive(Debug, Default)]
pub(super) struct Fields(Map<String, Value>);

impl Fields {
    /// Reads the body the shared [`Body`] extractor produced; anything but an object (or a form) is a 400.
    pub fn from_body(body: Result<Body<Value>, ApiError>) -> Result<Fields, Failure> {
        match body.map_err(Failure::from)?.0 {
            Value::Object(map) => Ok(Fields(map)),
            other => Err(Failure::bad(
                "Request",
                format!(
                    "the body must be a JSON object (or an HTML form), not {}",
                    type_name(&other)
                ),
            )),
        }
    }

    /// The whole body as a JSON object.
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// The value of `name`, unless absent or `null`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// Whether `name` is present (and not `null`).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The names in `names` that are absent, `null` or empty text.
    pub fn missing<'a>(&self, names: &[&'a str]) -> Vec<&'a str> {
        names
            .iter()
            .filter(|n| match self.get(n) {
                None => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                Some(_) => false,
            })
            .copied()
            .collect()
    }

    /// Fails with A's and B's `Missing values` if any of `names` is missing.
    pub fn require(&self, names: &[&str]) -> Result<(), Failure> {
        let missing = self.missing(names);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Failure::missing(&missing))
        }
    }

    /// The text of `name` (a string, trimmed; numbers are accepted as their text). Absent: `None`.
    pub fn text(&self, name: &str) -> Result<Option<String>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(Failure::bad(
                "Request",
                format!("{name} must be a string, not {}", type_name(other)),
            )),
        }
    }

    /// The text of a field that must be there.
    pub fn required_text(&self, name: &str) -> Result<String, Failure> {
        self.text(name)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Failure::missing(&[name]))
    }
}

/// JSON's name for the type of `v`.
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads an amount in whole units (`5`, `"5"`, `0.5`, `"0.5"`) that must be positive, or, with `allow_zero`,
/// zero or more (fees).
pub(super) fn parse_amount(
    field: &str,
    value: &Value,
    decimals: u8,
    allow_zero: bool,
) -> Result<Amount, Failure> {
    let bad = |why: String| Failure::bad("Amount", format!("{field}: {why}"));
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.to_string(),
            (None, Some(i), _) if i < 0 => {
                return Err(bad(format!("{i} is negative; amounts must be positive")));
            }
            // Rust prints floats in full positional notation with the fewest digits that read back the same.
            (_, _, Some(f)) if f < 0.0 => {
                return Err(bad(format!("{f} is negative; amounts must be positive")));
            }
            (_, _, Some(f)) => format!("{f}"),
            _ => n.to_string(),
        },
        other => {
            return Err(bad(format!(
                "must be a number of whole units like 5 or \"0.5\", not {}",
                type_name(other)
            )));
        }
    };
    if text.starts_with('-') {
        return Err(bad(format!(
            "{text:?} is negative; amounts must be positive"
        )));
    }
    let amount = Amount::parse_units(&text, decimals).map_err(|e| bad(e.to_string()))?;
    if amount == Amount::ZERO && !allow_zero {
        return Err(bad(format!(
            "{text:?} is zero; send a positive amount of whole units"
        )));
    }
    Ok(amount)
}

/// Reads an address of this node's network.
pub(super) fn parse_address(node: &Node, field: &str, text: &str) -> Result<PubkeyHash, Failure> {
    node.network()
        .parse_address(text)
        .map_err(|e| Failure::bad("Address", format!("{field}: {e}")))
}

/// Reads B's `sender_address` / `recipient_address`: an address of this node's network, or an Ed25519 public
/// key (64 hex digits, the `public_key` of `GET /client/wallet/new`), which B's page asks for ("Your Public
/// Key") and which stands for the address it hashes to.
pub(super) fn parse_address_or_key(
    node: &Node,
    field: &str,
    text: &str,
) -> Result<PubkeyHash, Failure> {
    let text = text.trim();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let key: PublicKey = text
            .parse()
            .map_err(|e| Failure::bad("Address", format!("{field}: {e}")))?;
        // Verifying any signature tells a key that is not a curve point from a wrong signature.
        if key.verify(b"", &Signature::from_bytes([0; 64]))
            == Err(SignatureError::MalformedPublicKey)
        {
            return Err(Failure::bad(
                "Address",
                format!(
                    "{field}: {text} is not an Ed25519 public key; put the public_key (or the address) of \
                     GET /client/wallet/new here. If this is a private key, do not paste it anywhere but \
                     sender_private_key"
                ),
            ));
        }
        return Ok(key.pubkey_hash());
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Failure::bad(
            "Address",
            format!(
                "{field}: expected an address of this network ({}1…) or a public key (64 hex digits), not {} \
                 hex digits",
                node.network().spec().address_prefix,
                text.len()
            ),
        ));
    }
    let prefix = format!("{}1", node.network().spec().address_prefix);
    match node.network().parse_address(text) {
        Err(AddressError::Invalid(_))
            if !text
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()) =>
        {
            Err(Failure::bad(
                "Address",
                format!(
                    "{field}: {text:?} is neither an address of this network ({prefix}…) nor a public key (64 \
                     hex digits): use the address or the public_key of GET /client/wallet/new"
                ),
            ))
        }
        other => other.map_err(|e| Failure::bad("Address", format!("{field}: {e}"))),
    }
}

/// Whether `text` (hex) is the private key `secret`: a private key pasted where a public key or an address
/// belongs.
pub(super) fn is_private_key(text: &str, secret: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.eq_ignore_ascii_case(secret.trim())
}

/// Reads an optional fee (whole units, zero allowed; default zero: the seeds' arithmetic, DESIGN §7).
pub(super) fn parse_fee(node: &Node, fields: &Fields) -> Result<Amount, Failure> {
    match fields.get("fee") {
        None => Ok(Amount::ZERO),
        Some(v) => parse_amount("fee", v, node.network().spec().decimals, true),
    }
}

/// Whether the client asked for plain text: `?format=text`, or `Accept: text/plain` without JSON.
pub(super) fn wants_text(query: Option<&str>, headers: &HeaderMap) -> bool {
    let format = query.and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "format")
            .map(|(_, v)| v.to_ascii_lowercase())
    });
    match format.as_deref() {
        Some("text") => return true,
        Some(_) => return false,
        None => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    accept.contains("text/plain") && !accept.contains("json")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn amount(v: Value) -> Result<u64, String> {
        parse_amount("amount", &v, 8, false)
            .map(Amount::to_units)
            .map_err(|f| f.message)
    }

    #[test]
    fn amounts_are_whole_units_and_bad_ones_say_why() {
        assert_eq!(amount(json!(5)), Ok(500_000_000));
        assert_eq!(amount(json!("5")), Ok(500_000_000));
        assert_eq!(amount(json!(0.5)), Ok(50_000_000));
        assert_eq!(amount(json!(" 0.00000001 ")), Ok(1));
        assert_eq!(amount(json!(0.1)), Ok(10_000_000));
        assert!(amount(json!("-7abc")).unwrap_err().contains("negative"));
        assert!(amount(json!("7abc")).unwrap_err().contains("not an amount"));
        assert!(amount(json!(-7)).unwrap_err().contains("negative"));
        assert!(amount(json!(-0.5)).unwrap_err().contains("negative"));
        assert!(amount(json!(0)).unwrap_err().contains("zero"));
        assert!(amount(json!("0.0")).unwrap_err().contains("zero"));
        assert!(amount(json!("NaN")).unwrap_err().contains("not an amount"));
        assert!(amount(json!("1e3")).unwrap_err().contains("not an amount"));
        assert!(
            amount(json!("0.000000001"))
                .unwrap_err()
                .contains("decimal places")
        );
        assert!(amount(json!(1e300)).unwrap_err().contains("larger"));
        assert!(amount(json!("99999999999")).unwrap_err().contains("larger"));
        assert!(amount(json!(true)).unwrap_err().contains("a boolean"));
        assert!(amount(json!([1])).unwrap_err().contains("an array"));
        assert_eq!(
            parse_amount("fee", &json!(0), 8, true).map(Amount::to_units),
            Ok(0)
        );
    }

    #[test]
    fn text_is_chosen_by_query_or_accept() {
        let mut h = HeaderMap::new();
        assert!(!wants_text(None, &h));
        assert!(wants_text(Some("format=text"), &h));
        h.insert(header::ACCEPT, "text/plain".parse().unwrap());
        assert!(wants_text(None, &h));
        assert!(!wants_text(Some("format=json"), &h));
        h.insert(
            header::ACCEPT,
            "text/plain, application/json".parse().unwrap(),
        );
        assert!(!wants_text(None, &h));
        h.insert(header::ACCEPT, "*/*".parse().unwrap());
        assert!(!wants_text(None, &h));
    }

    #[test]
    fn failures_render_in_each_seed_shape() {
        let f = Failure::bad("Units", "Not enough units");
        let r = f.clone().render(Style::Envelope);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = Failure::missing(&["amount"]).render(Style::Message);
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/plain; charset=utf-8"
        );
    }
}
