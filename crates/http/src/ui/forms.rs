//! Form bodies of the UI — URL-encoded (`application/x-www-form-urlencoded`) or multipart (`multipart/form-data`,
//! for the wallet-file upload) — read into one map of fields, and the errors a form shows next to its fields.
//!
//! Secrets (passwords, recovery phrases, wallet files) pass through [`FormData`] only for the request that
//! carries them: the map is wiped when dropped and never printed (its `Debug` shows field names only).

use ferrochain_node::ErrorCode;
use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::Serialize;
use zeroize::Zeroize;

use crate::ui::UiError;

/// Largest text field read from a form, in bytes (a wallet file is about 1 KiB).
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// The fields of a submitted form, by name (the last value of a repeated name wins).
#[derive(Default)]
pub struct FormData {
    fields: BTreeMap<String, String>,
}

impl std::fmt::Debug for FormData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormData")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Drop for FormData {
    fn drop(&mut self) {
        for value in self.fields.values_mut() {
            value.zeroize();
        }
    }
}

impl FormData {
    /// A form from `(name, value)` pairs (tests, and bodies already parsed).
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> FormData {
        FormData {
            fields: pairs.into_iter().collect(),
        }
    }

    /// A field's value, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", |v| v.trim())
    }

    /// A field's value exactly as sent (passwords); empty when absent.
    pub fn raw(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// A field's value, trimmed, or `None` when absent or blank.
    pub fn optional(&self, name: &str) -> Option<&str> {
        Some(self.text(name)).filter(|v| !v.is_empty())
    }

    /// The fields that are safe to show again in a form re-drawn after an error (everything except
    /// passwords, phrases and wallet files).
    pub fn echo(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "password" | "password2" | "phrase" | "wallet_file"
                )
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn form_error(message: impl Into<String>) -> UiError {
    UiError::new(
        StatusCode::BAD_REQUEST,
        "The form could not be read",
        message,
    )
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let mut multipart = Multipart::from_request(req, state)
                .await
                .map_err(|e| form_error(e.body_text()))?;
            let mut fields = BTreeMap::new();
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| form_error(e.body_text()))?
            {
                let name = field.name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(|e| form_error(e.body_text()))?;
                if bytes.len() > MAX_FIELD_BYTES {
                    return Err(UiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Too large",
                        format!("field {name:?} is larger than {MAX_FIELD_BYTES} bytes"),
                    ));
                }
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| form_error(format!("field {name:?} is not UTF-8 text")))?;
                fields.insert(name, text);
            }
            return Ok(FormData { fields });
        }
        if !content_type.is_empty()
            && !content_type.starts_with("application/x-www-form-urlencoded")
        {
            return Err(UiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Not a form",
                format!("send an HTML form (URL-encoded or multipart); got {content_type:?}"),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| form_error(e.body_text()))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| form_error(format!("form data: {e}")))?;
        Ok(FormData::from_pairs(pairs))
    }
}

/// A page's query string as a map (the last value of a repeated name wins); a malformed one is a 400 page.
#[derive(Debug, Default)]
pub struct UiQuery(pub BTreeMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for UiQuery {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
                .map_err(|e| UiError::bad_request(format!("query string: {e}")))?;
        Ok(UiQuery(pairs.into_iter().collect()))
    }
}

/// Errors to show next to the fields that caused them, plus one for the whole form.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct FieldErrors {
    /// Field name → message.
    pub fields: BTreeMap<String, String>,
    /// A message about the form as a whole.
    pub form: Option<String>,
}

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> FieldErrors {
        FieldErrors::default()
    }

    /// Adds an error for `field` (the first one per field is kept).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }

    /// Whether there is any error.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }

    /// The errors of a refused operation, placed on the field the REST error code and field point at
    /// (`invalid_amount` → `amount` or `fee`, `invalid_address` → `to`, `insufficient_funds` → `amount`, ...),
    /// else on the form.
    pub fn from_api(e: &crate::error::ApiError, address_field: &str) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let field = match (e.code, e.field) {
            (ErrorCode::InvalidAmount, Some(field)) => Some(field),
            (ErrorCode::InvalidAmount | ErrorCode::InsufficientFunds, _) => Some("amount"),
            (ErrorCode::InvalidAddress | ErrorCode::WrongNetwork, _) => Some(address_field),
            (ErrorCode::KeyNotHeld, _) => Some("from"),
            _ => None,
        };
        match field {
            Some(f) => errors.add(f, e.message.clone()),
            None => errors.form = Some(e.message.clone()),
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_echoed_and_not_printed() {
        let form = FormData::from_pairs([
            ("to".to_string(), " dev1abc ".to_string()),
            ("password".to_string(), "hunter2".to_string()),
            ("phrase".to_string(), "abandon ...".to_string()),
        ]);
        assert_eq!(form.text("to"), "dev1abc");
        assert_eq!(form.raw("password"), "hunter2");
        assert_eq!(form.optional("missing"), None);
        let echo = form.echo();
        assert!(
            echo.contains_key("to")
                && !echo.contains_key("password")
                && !echo.contains_key("phrase")
        );
        let debug = format!("{form:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("abandon"));
    }

    #[test]
    fn api_errors_land_on_their_fields() {
        let e = crate::error::ApiError::bad_request(ErrorCode::InvalidAmount, "fee: not a number")
            .on_field("fee");
        assert!(FieldErrors::from_api(&e, "to").fields.contains_key("fee"));
        let e = crate::error::ApiError::bad_request(ErrorCode::InsufficientFunds, "need more");
        assert!(
            FieldErrors::from_api(&e, "to")
                .fields
                .contains_key("amount")
        );
        let e = crate::error::ApiError::bad_request(ErrorCode::WrongNetwork, "lab address");
        assert!(FieldErrors::from_api(&e, "to").fields.contains_key("to"));
        let e = crate::error::ApiError::bad_request(ErrorCode::InvalidTransaction, "bad");
        assert_eq!(FieldErrors::from_api(&e, "to").form.as_deref(), Some("bad"));
    }
}
