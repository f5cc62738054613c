//! The OpenAPI document, built from the routes themselves: every handler
//! carries a `#[utoipa::path]` and is registered through utoipa's router,
//! so the document lists exactly what the server routes.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

use crate::api::state::AppState;

/// Every error reply: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorInner,
}

/// A stable code (clients switch on it) and a message for people.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorInner {
    #[schema(example = "unknown_lot")]
    pub code: String,
    pub message: String,
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Paddle",
        description = "The public API of a Paddle auction node. Every node serves it. \
                       Amounts sent are decimal strings in the sale's currency; amounts \
                       received are integer minor units. The WebSocket protocol (`/ws`) is \
                       described in docs/protocol.md.",
    ),
    modifiers(&Bearer),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// The skeleton the routes are added to.
pub fn base() -> Document {
    ApiDoc::openapi()
}

/// Serve the document built at startup.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json")))]
pub async fn document(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(s.api.openapi.as_ref().clone())
}
