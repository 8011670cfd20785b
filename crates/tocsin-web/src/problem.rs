//! Errors as RFC 9457 `application/problem+json`: a stable `type`, a
//! `title`, the `status`, a `detail` and, for bad input, `errors` naming
//! each bad field. 5xx bodies are opaque; the cause goes to the log once.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tocsin_store::StoreError;
use utoipa::ToSchema;

/// Base of our problem type URIs; each type is documented in docs/api.md.
const TYPE_BASE: &str = "https://tocsin.dev/problems/";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One bad field. For manifests, `file`, `line` and `column` locate it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field path (`services[0].team`).
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("{TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldProblem>) -> Self {
        self.errors = errors;
        self
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn invalid(detail: impl Into<String>, errors: Vec<FieldProblem>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            "Invalid input",
            detail,
        )
        .with_errors(errors)
    }

    pub fn field(field: &str, message: impl Into<String>) -> FieldProblem {
        FieldProblem {
            field: field.to_owned(),
            message: message.into(),
            file: None,
            line: None,
            column: None,
        }
    }

    /// An unexpected failure: logged here, opaque to the caller.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the request failed on the server; the cause is in the server log",
        )
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(msg) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", msg)
            }
            StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "database unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "the database cannot be reached; try again shortly",
                )
            }
            other => Problem::internal(&other),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(&self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tocsin\""),
            );
        }
        res
    }
}

/// `axum::Json`, but a body that does not parse answers problem+json
/// naming what was wrong, like every other error.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct JsonBody<T>(pub T);

impl From<axum::extract::rejection::JsonRejection> for Problem {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        let status = r.status();
        let detail = r.body_text();
        // serde's message names the field and position: "files[0]: missing field `content` at line 1 column 30".
        let mut p = Problem::new(
            status,
            "invalid-body",
            "Invalid request body",
            detail.clone(),
        );
        if status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST {
            p = p.with_errors(vec![Problem::field("body", detail)]);
        }
        p
    }
}

/// A JSON body that may be absent: an empty body is `T::default()`; one
/// that does not parse answers 422 naming the field.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &axum::body::Bytes,
) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        Problem::invalid(
            "the request body is not valid",
            vec![Problem::field(&field, e.inner().to_string())],
        )
    })
}
