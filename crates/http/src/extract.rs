//! Request extractors shared by the HTTP surfaces: bodies as JSON or HTML-form data with JSON errors instead
//! of axum's plain-text rejections. The owner check is [`crate::auth::Owner`].

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use ferrochain_node::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        _ => ErrorCode::InvalidJson,
    };
    // 422 (wrong types, missing fields) is reported as 400: the request is malformed either way.
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    ApiError::new(status, code, rejection.body_text())
}

/// A request body read as JSON when it says it is JSON or says nothing, or as an HTML form
/// (`application/x-www-form-urlencoded`) — the seed systems' clients send both. A JSON body must be an
/// object.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                let status = e.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorCode::BodyTooLarge
                } else {
                    ErrorCode::InvalidBody
                };
                ApiError::new(status, code, e.body_text())
            })?;
        if content_type.starts_with("application/x-www-form-urlencoded") {
            return serde_urlencoded_from(&bytes).map(Body);
        }
        if !content_type.is_empty()
            && !content_type.starts_with("application/json")
            && !content_type.contains("+json")
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                format!(
                    "send JSON (Content-Type: application/json) or a form; got {content_type:?}"
                ),
            ));
        }
        // Every route's body is an object: serde would also read a struct from an array (`[null, null]`).
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidJson,
                "the body must be a JSON object ({...})",
            ));
        }
        let value = axum::Json::<T>::from_bytes(&bytes).map_err(json_rejection)?;
        Ok(Body(value.0))
    }
}

fn serde_urlencoded_from<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidForm, format!("form data: {e}")))
}

pub use crate::auth::Owner;

/// Query parameters read with JSON errors (`400 invalid_query`) instead of axum's plain-text rejection.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(Query)
            .map_err(|e| {
                ApiError::bad_request(ErrorCode::InvalidQuery, format!("query string: {e}"))
            })
    }
}

/// A path parameter read with JSON errors (`400 invalid_path`).
#[derive(Debug)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidPath, e.body_text()))
    }
}

/// A JSON body that may be left out entirely (no body, or `Content-Length: 0`): then `T::default()`.
#[derive(Debug)]
pub struct OptionalBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::body::HttpBody;
        if req.body().size_hint().exact() == Some(0) {
            return Ok(OptionalBody(T::default()));
        }
        Body::<T>::from_request(req, state)
            .await
            .map(|Body(v)| OptionalBody(v))
    }
}
