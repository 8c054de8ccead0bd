//! The OpenAPI 3.1 contract of every server and journey endpoint, served at
//! `GET /openapi.json`. Its paths are checked against [`super::ROUTES`] and the routers
//! (tests below), so an endpoint cannot be added, removed or moved without the document.

use serde_json::{Map, Value, json};

fn error_ref(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

/// The error responses an operation can give, by status.
fn errors(statuses: &[u16]) -> Map<String, Value> {
    statuses
        .iter()
        .map(|s| {
            let mut response = error_ref(match s {
                400 => "Invalid input: `code` and `field` say what and where",
                401 => "Missing or unknown API key (`unauthorized`)",
                404 => "Not found (another tenant's session reads the same as a missing one)",
                409 => "Conflict with the session's state or a concurrent change",
                410 => "The link has expired",
                413 => "Body over 64 KiB (`payload_too_large`)",
                415 => "Body is not `application/json` (`unsupported_media_type`)",
                429 => "Over the tenant's rate limit (`rate_limited`); retry after `Retry-After` seconds",
                503 => "Storage or queue temporarily unavailable; retry after `Retry-After` seconds",
                _ => "Error",
            });
            if matches!(s, 429 | 503) {
                response["headers"] = json!({"Retry-After": {"$ref": "#/components/headers/RetryAfter"}});
            }
            (s.to_string(), response)
        })
        .collect()
}

fn responses(success: &[(u16, Value)], error_statuses: &[u16]) -> Value {
    let mut all = errors(error_statuses);
    for (status, response) in success {
        all.insert(status.to_string(), response.clone());
    }
    Value::Object(all)
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn json_body(schema: &str, example: Value) -> Value {
    json!({"required": true, "content": {"application/json": {
        "schema": {"$ref": format!("#/components/schemas/{schema}")}, "example": example}}})
}

/// Journey operations: authorised by the secret in the path, never by an API key.
fn journey_op(summary: &str, op_id: &str, responses: Value) -> Value {
    json!({"tags": ["journey"], "summary": summary, "operationId": op_id, "security": [],
           "parameters": [path_param("secret", "the journey secret from `identity_url`")], "responses": responses})
}

fn server_paths() -> Value {
    let session_id = path_param("session_id", "the session's id (a UUID)");
    json!({
        "/identity": {
            "post": {
                "tags": ["sessions"], "summary": "Start a verification", "operationId": "createSession",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "makes retries safe for 24 hours (same key + same body = same session)",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
                "requestBody": json_body("CreateSession", json!({
                    "reference": "cust_00123", "redirect_url": "https://yourapp.com/verified",
                    "steps": ["document", "liveness", "dvs"], "first_name": "Jane", "last_name": "Smith",
                    "birth_date": "1990-01-31"})),
                "responses": responses(&[(201, json!({
                    "description": "Created (or, with `Idempotent-Replayed: true`, the earlier session)",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Created"},
                        "example": {"status": "success", "session_id": "0b6f5e7a-3c1d-4f7e-9a2b-1c3d5e7f9a0b",
                            "identity_url": "https://verify.example.com/j/Xo3…", "expires_at": 1795802400}}}}))],
                    &[400, 401, 409, 413, 415, 429, 503]),
            },
            "get": {
                "tags": ["sessions"], "summary": "Your sessions for a reference, newest first", "operationId": "listSessions",
                "parameters": [
                    {"name": "reference", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
                ],
                "responses": responses(&[(200, ok("The sessions", "SessionList"))], &[400, 401, 503]),
            },
        },
        "/identity/{session_id}": {
            "parameters": [session_id],
            "get": {
                "tags": ["sessions"], "summary": "Poll a session (with its result once finished)", "operationId": "getSession",
                "responses": responses(&[(200, ok("The session", "Session"))], &[401, 404, 503]),
            },
            "delete": {
                "tags": ["sessions"], "summary": "Cancel a session (repeating it is harmless)", "operationId": "cancelSession",
                "responses": responses(&[(200, ok("The cancelled session", "Session"))], &[401, 404, 409, 503]),
            },
        },
        "/identity/{session_id}/events": {
            "parameters": [session_id],
            "get": {
                "tags": ["sessions"], "summary": "The session's audit timeline, oldest first (no personal data)",
                "operationId": "sessionEvents",
                "responses": responses(&[(200, ok("The timeline", "Events"))], &[401, 404, 503]),
            },
        },
        "/identity/{session_id}/redact": {
            "parameters": [session_id],
            "post": {
                "tags": ["sessions"], "summary": "Erase the session's captures and personal data (asynchronous; repeating it is harmless)",
                "operationId": "redactSession",
                "responses": responses(&[(202, ok("Redaction pending or already completed", "Redaction"))], &[401, 404, 409, 503]),
            },
        },
    })
}

/// A hosted page: HTML for success and for every failure the user may meet.
fn html(description: &str) -> Value {
    json!({"description": description, "content": {"text/html": {"schema": {"type": "string"}}}})
}

fn page_op(summary: &str, op_id: &str, param: Value, statuses: &[(u16, &str)]) -> Value {
    let responses: Map<String, Value> = statuses.iter().map(|(s, d)| (s.to_string(), html(d))).collect();
    json!({"tags": ["pages"], "summary": summary, "operationId": op_id, "security": [], "parameters": [param],
           "responses": responses})
}

fn journey_paths() -> Value {
    let view = || ok("The journey's state", "Journey");
    json!({
        "/j/{secret}/session": {"get": journey_op("The journey's state", "journeySession",
            responses(&[(200, view())], &[404, 503]))},
        "/j/{secret}/uploads": {"post": with_body(
            journey_op("A presigned upload for one capture", "requestUpload",
                responses(&[(201, ok("Where and how to POST the file", "UploadSlot"))], &[400, 404, 409, 413, 415, 503])),
            json_body("UploadRequest", json!({"artifact": "document-front", "content_type": "image/jpeg"})))},
        "/j/{secret}/details": {"put": with_body(
            journey_op("The details the dvs and bank steps check (never echoed)", "putDetails",
                responses(&[(200, view())], &[400, 404, 409, 413, 415, 503])),
            json_body("Details", json!({"dvs": {"document_type": "passport", "number": "PA1234567"}})))},
        "/j/{secret}/consent": {"post": journey_op("The user consents to the checks", "consent",
            responses(&[(200, view())], &[404, 409, 503]))},
        "/j/{secret}/submit": {"post": journey_op("The user's part is done; the checks run", "submit",
            responses(&[(200, view())], &[404, 409, 503]))},
        "/j/{secret}/finish": {"get": journey_op("Redirect to `redirect_url` with the signed result", "finish",
            responses(&[(303, json!({"description": "To `redirect_url` with `token=<jwt>` added",
                "headers": {"Location": {"schema": {"type": "string"}}}}))], &[404, 409, 503]))},
        "/j/{secret}": {"get": page_op("The hosted journey page", "journeyPage",
            path_param("secret", "the journey secret from `identity_url`"),
            &[(200, "The journey (or, once finished, its finished page)"), (404, "No such journey"),
              (410, "The journey expired or was cancelled"), (503, "Temporarily unavailable")])},
        "/j/{secret}/handoff": {"post": journey_op("A single-use link (and its QR code) to continue on a phone",
            "createHandoff", responses(&[(201, ok("The link, its QR code as SVG, and its expiry", "Handoff"))],
                &[404, 409, 503]))},
        "/h/{token}": {
            "get": page_op("A handoff link's landing page", "handoffPage",
                path_param("token", "the handoff token from the QR code"),
                &[(200, "Continue on this phone"), (404, "No such link"), (410, "The link was used or expired"),
                  (503, "Temporarily unavailable")]),
            "post": page_op("Open the handoff link (once)", "openHandoff",
                path_param("token", "the handoff token from the QR code"),
                &[(303, "To the journey page, as the phone"), (404, "No such link"),
                  (410, "The link was used or expired"), (503, "Temporarily unavailable")]),
        },
        "/assets/{file}": {"get": {"tags": ["pages"], "summary": "The pages' script and stylesheet (named by digest)",
            "operationId": "asset", "security": [], "parameters": [path_param("file", "e.g. `journey-<digest>.js`")],
            "responses": responses(&[(200, json!({"description": "The file, cacheable for a year", "content": {
                "text/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}}}}))], &[404])}},
        "/.well-known/jwks.json": {"get": {"tags": ["journey"], "summary": "Public keys for result tokens",
            "operationId": "jwks", "security": [], "responses": {"200": ok("A JWK set", "Jwks")}}},
        "/appendix/{token}": {"get": {"tags": ["journey"], "summary": "An evidence link", "operationId": "appendix",
            "security": [], "parameters": [path_param("token", "the opaque link token")],
            "responses": responses(&[(302, json!({"description": "To a presigned GET that lives 60 s",
                "headers": {"Location": {"schema": {"type": "string"}}}}))], &[404, 410, 503])}},
        "/openapi.json": {"get": {"tags": ["meta"], "summary": "This document", "operationId": "openapi",
            "security": [], "responses": {"200": {"description": "OpenAPI 3.1",
                "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    })
}

fn with_body(mut operation: Value, body: Value) -> Value {
    operation["requestBody"] = body;
    operation
}

/// What `dvs.document_type` accepts (a test checks each against the parser).
const DVS_DOCUMENTS: [&str; 7] =
    ["driverslicence", "passport", "medicare", "visa", "birthcertificate", "citizenship", "immicard"];

/// A request object whose parser reads JSON null as absent: its optional properties admit null.
fn null_when_optional(mut object: Value) -> Value {
    let required: Vec<Value> = object["required"].as_array().cloned().unwrap_or_default();
    if let Some(properties) = object["properties"].as_object_mut() {
        for (name, schema) in properties.iter_mut().filter(|(name, _)| !required.contains(&json!(name))) {
            if let Some(kind) = schema.get("type").and_then(Value::as_str).map(str::to_owned) {
                schema["type"] = json!([kind, "null"]);
            }
            if let Some(Value::Array(values)) = schema.get_mut("enum") {
                values.push(Value::Null);
            }
            debug_assert!(schema["type"].is_array(), "{name} has a type");
        }
    }
    object
}

fn schemas() -> Value {
    let step_names: Vec<&str> = crate::domain::Step::ALL.iter().map(|s| s.as_str()).collect();
    let step = json!({"type": "string", "enum": step_names});
    let artifacts: Vec<&str> = crate::artifacts::Artifact::ALL.iter().map(|a| a.as_str()).collect();
    let steps = json!({"type": "array", "items": {"type": "object", "required": ["name", "status"],
        "properties": {"name": step, "status": {"type": "string"}}}});
    let name = json!({"type": "string", "minLength": 1, "maxLength": 100});
    // Spaces are dropped before the number is checked.
    let document_number = json!({"type": "string", "pattern": "^ *([A-Za-z0-9] *){1,20}$"});
    json!({
        "Error": {"type": "object", "required": ["status", "error"], "properties": {
            "status": {"const": "error"},
            "error": {"type": "object", "required": ["code", "field", "message"], "properties": {
                "code": {"type": "string", "description": "machine code, e.g. `invalid_birth_date`, `rate_limited`"},
                "field": {"type": ["string", "null"], "description": "the offending body field, header, `path`, `method`, …"},
                "message": {"type": "string"}}}}},
        "CreateSession": null_when_optional(json!({"type": "object", "additionalProperties": false, "required": ["reference", "redirect_url"], "properties": {
            "reference": {"type": "string", "minLength": 1, "maxLength": 128, "description": "your id for this person or case"},
            "redirect_url": {"type": "string", "format": "uri", "description": "https, on an origin registered for your tenant"},
            "steps": {"type": "array", "items": step, "minItems": 1, "uniqueItems": true},
            "first_name": name, "last_name": name,
            "birth_date": {"type": "string", "format": "date", "description": "YYYY-MM-DD, not in the future"},
            "min_age": {"type": "integer", "minimum": 1, "maximum": 125},
            "threshold": {"type": "number", "minimum": 0, "maximum": 1},
            "webhook_url": {"type": "string", "format": "uri"},
            "locale": {"type": "string", "examples": ["en-AU"]},
            "expires_in": {"type": "integer", "minimum": 600, "maximum": 604800},
            "metadata": {"type": "object", "maxProperties": 20, "additionalProperties": {"type": "string"}}}})),
        "Created": {"type": "object", "required": ["status", "session_id", "expires_at"], "properties": {
            "status": {"const": "success"}, "session_id": {"type": "string", "format": "uuid"},
            "identity_url": {"type": ["string", "null"]}, "expires_at": {"type": "integer"}}},
        "Session": {"type": "object", "required": ["session_id", "reference", "status", "steps", "threshold",
            "created_at", "updated_at", "expires_at", "metadata"], "properties": {
            "session_id": {"type": "string", "format": "uuid"}, "reference": {"type": "string"},
            "status": {"type": "string", "enum": ["created", "in_progress", "processing", "finished", "expired", "cancelled"]},
            "steps": steps, "threshold": {"type": "number"}, "created_at": {"type": "integer"},
            "updated_at": {"type": "integer"}, "expires_at": {"type": "integer"},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "identity_url": {"type": "string"}, "cancelled_at": {"type": "integer"}, "min_age": {"type": "integer"},
            "locale": {"type": "string"}, "intent": {"const": "journey_end"}, "score": {"type": "number"},
            "decision": {"type": "string", "enum": ["approved", "declined", "review"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "evidence": {"type": "object"}, "finished_at": {"type": ["integer", "null"]},
            "appendix": {"type": "array", "items": {"type": "object", "required": ["url", "expiry", "filename", "type"],
                "properties": {"url": {"type": "string"}, "expiry": {"type": "integer"}, "filename": {"type": "string"},
                    "type": {"type": "string"}}}}}},
        "SessionList": {"type": "object", "required": ["status", "data"], "properties": {
            "status": {"const": "success"}, "data": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}}}},
        "Journey": {"type": "object", "required": ["status", "steps", "captures", "challenge", "consented",
            "details_provided", "expires_at"], "properties": {
            "status": {"type": "string"}, "steps": steps,
            "captures": {"type": "array", "items": {"type": "object", "required": ["artifact", "required", "status"],
                "properties": {"artifact": {"type": "string"}, "required": {"type": "boolean"},
                    "status": {"type": "string", "enum": ["missing", "accepted", "rejected"]}, "reason": {"type": "string"}}}},
            "challenge": {"type": "array", "items": {"type": "string"}},
            "consented": {"type": "boolean"},
            "details_provided": {"type": "object", "additionalProperties": {"type": "boolean"}},
            "expires_at": {"type": "integer"}}},
        "Events": {"type": "object", "required": ["status", "session_id", "events"], "properties": {
            "status": {"const": "success"}, "session_id": {"type": "string", "format": "uuid"},
            "events": {"type": "array", "items": {"type": "object", "required": ["at", "type"], "properties": {
                "at": {"type": "integer", "description": "unix seconds"},
                "type": {"type": "string", "examples": ["session.created", "journey.opened", "step.completed"]}}}},
            "dropped": {"type": "integer", "description": "repeatable entries left out once the trail's cap was reached"}}},
        "Redaction": {"type": "object", "required": ["status", "session_id", "redaction"], "properties": {
            "status": {"const": "success"}, "session_id": {"type": "string", "format": "uuid"},
            "redaction": {"type": "string", "enum": ["pending", "completed"]}}},
        "Handoff": {"type": "object", "required": ["url", "qr_svg", "expires_at"], "properties": {
            "url": {"type": "string", "description": "single use; opens with a POST from its landing page"},
            "qr_svg": {"type": "string", "description": "the URL as a QR code, an SVG document"},
            "expires_at": {"type": "integer"}}},
        "UploadRequest": {"type": "object", "required": ["artifact", "content_type"], "properties": {
            "artifact": {"type": "string", "enum": artifacts},
            "content_type": {"type": "string", "enum": ["image/jpeg", "image/png", "image/webp"]}}},
        "UploadSlot": {"type": "object", "required": ["url", "fields", "expires_at", "min_bytes", "max_bytes"], "properties": {
            "url": {"type": "string"}, "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            "expires_at": {"type": "integer"}, "min_bytes": {"type": "integer"}, "max_bytes": {"type": "integer"}}},
        "Details": {"type": "object", "additionalProperties": false, "properties": {
            "dvs": null_when_optional(json!({"type": "object", "additionalProperties": false, "required": ["document_type", "number"],
                "properties": {
                    "document_type": {"type": "string", "enum": DVS_DOCUMENTS},
                    "number": document_number.clone(), "card_number": document_number,
                    "state": {"type": "string", "enum": crate::domain::details::STATES,
                        "description": "in any case; checked for every document, kept for a driver licence"}},
                "if": {"properties": {"document_type": {"const": "driverslicence"}}},
                "then": {"required": ["state"]}})),
            "bank": {"type": "object", "additionalProperties": false, "required": ["bsb", "account_number"], "properties": {
                "bsb": {"type": "string", "pattern": "^[ -]*([0-9][ -]*){6}$", "description": "six digits; dashes and spaces are dropped"},
                "account_number": {"type": "string", "pattern": "^[0-9]{5,10}$"}}}}},
        "Jwks": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {"type": "object"}}}},
    })
}

/// The document, with `public_url` as its server.
pub fn document(public_url: &str) -> Value {
    let mut paths = server_paths();
    if let (Some(all), Value::Object(journey)) = (paths.as_object_mut(), journey_paths()) {
        all.extend(journey);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Total Identity", "version": env!("CARGO_PKG_VERSION"),
            "description": "Identity verification you run yourself. Server endpoints take `Authorization: Bearer <API key>`; journey endpoints are authorised by the journey secret in their path.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
        "servers": [{"url": public_url.trim_end_matches('/')}],
        "security": [{"apiKey": []}],
        "tags": [{"name": "sessions"}, {"name": "journey"}, {"name": "meta"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                "description": "a tenant API key, `ti_live_…` or `ti_test_…`"}},
            "headers": {"RetryAfter": {"description": "whole seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
            "schemas": schemas(),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use http::Method;

    use super::*;
    use crate::api::journey::JourneyEndpoint;
    use crate::api::{Endpoint, ROUTES};
    use crate::error::ErrorKind;

    const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

    fn spec_routes(doc: &Value) -> BTreeSet<(String, String)> {
        let mut routes = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
        routes
    }

    /// Both routers, in the local server's order: journey paths first, then the server API.
    fn route(method: &str, path: &str) -> Result<(), ErrorKind> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        match JourneyEndpoint::route(&method, path) {
            Some(result) => result.map(|_| ()).map_err(|e| e.kind),
            None => Endpoint::route(&method, path).map(|_| ()).map_err(|e| e.kind),
        }
    }

    fn sample(template: &str) -> String {
        template
            .replace("{session_id}", "0b6f5e7a-3c1d-4f7e-9a2b-1c3d5e7f9a0b")
            .replace("{secret}", "s3cret")
            .replace("{token}", "t0ken")
    }

    #[test]
    fn the_document_lists_exactly_the_routes() {
        let documented = spec_routes(&document("https://verify.example.com"));
        let routed: BTreeSet<(String, String)> =
            ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
        assert_eq!(routed.len(), ROUTES.len(), "ROUTES has duplicates");
        assert_eq!(documented, routed, "documented vs routed: add the operation to openapi.rs or the entry to ROUTES");
    }

    #[test]
    fn every_route_routes_and_other_methods_do_not() {
        for (method, template) in ROUTES {
            let path = sample(template);
            assert_eq!(route(method, &path), Ok(()), "{method} {template}");
            let listed: Vec<&str> = ROUTES.iter().filter(|(_, t)| t == template).map(|(m, _)| *m).collect();
            for other in METHODS.iter().map(|m| m.to_uppercase()).filter(|m| !listed.contains(&m.as_str())) {
                assert_eq!(route(&other, &path), Err(ErrorKind::MethodNotAllowed), "{other} {template}");
            }
        }
        for unknown in ["/", "/identity/a/b/c", "/j/s3cret/nope", "/openapi.yaml", "/appendix", "/.well-known/other"] {
            assert_eq!(route("GET", unknown), Err(ErrorKind::NotFound), "{unknown}");
        }
    }

    fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
        let pointer = reference.strip_prefix('#').expect("local reference");
        doc.pointer(pointer).unwrap_or_else(|| panic!("{reference} does not resolve"))
    }

    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_document_is_consistent() {
        let doc = document("https://verify.example.com/");
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["servers"][0]["url"], "https://verify.example.com");
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.len() > 20);
        for r in &all {
            let _ = resolve(&doc, r);
        }
        let mut operation_ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                let op = &item[*method];
                assert!(operation_ids.insert(op["operationId"].as_str().unwrap().to_owned()), "{method} {path}");
                let params: Vec<&Value> = item
                    .get("parameters")
                    .into_iter()
                    .chain(op.get("parameters"))
                    .flat_map(|p| p.as_array().unwrap())
                    .collect();
                // Every {name} in the path is a documented path parameter.
                for segment in path.split('/').filter(|s| s.starts_with('{')) {
                    let name = segment.trim_matches(|c| c == '{' || c == '}');
                    assert!(params.iter().any(|p| p["name"] == name && p["in"] == "path"), "{method} {path}: {name}");
                }
                for (status, response) in op["responses"].as_object().unwrap() {
                    // Pages answer their failures with pages; everything else with the error shape.
                    let page = response["content"].get("text/html").is_some();
                    if (status.starts_with('4') || status.starts_with('5')) && !page {
                        let schema = &response["content"]["application/json"]["schema"]["$ref"];
                        assert_eq!(schema, "#/components/schemas/Error", "{method} {path} {status}");
                    }
                }
                // Server endpoints need the API key; journey ones are open (`security: []`).
                let open = op.get("security").is_some_and(|s| s == &json!([]));
                assert_eq!(open, !path.starts_with("/identity"), "{method} {path}");
                if !open {
                    assert!(op["responses"].get("401").is_some(), "{method} {path} can answer 401");
                }
            }
        }
    }

    #[test]
    fn documented_enums_are_what_the_parsers_accept() {
        for kind in DVS_DOCUMENTS {
            let details = json!({"document_type": kind, "number": "PA1234567", "state": "NSW"});
            assert!(crate::domain::DvsDetails::parse(&details).is_ok(), "{kind}");
        }
    }

    #[test]
    fn the_optional_fields_documented_as_nullable_are_the_ones_the_parser_reads_null_as_absent() {
        let doc = document("https://verify.example.com");
        let schema = &doc["components"]["schemas"]["CreateSession"];
        let example = &doc["paths"]["/identity"]["post"]["requestBody"]["content"]["application/json"]["example"];
        let required: Vec<&Value> = schema["required"].as_array().unwrap().iter().collect();
        for (name, property) in schema["properties"].as_object().unwrap() {
            let nullable = property["type"].as_array().is_some_and(|t| t.contains(&json!("null")));
            assert_eq!(nullable, !required.contains(&&json!(name)), "{name}");
            let mut body = example.clone();
            body[name] = Value::Null;
            let parsed = crate::domain::CreateSessionRequest::from_value(
                &body,
                crate::domain::UrlPolicy::HttpsOnly,
                1_764_000_000,
            );
            assert_eq!(parsed.is_ok(), nullable, "{name}: {parsed:?}");
        }
    }

    #[test]
    fn examples_are_accepted_by_the_parsers() {
        let doc = document("https://verify.example.com");
        let create = &doc["paths"]["/identity"]["post"]["requestBody"]["content"]["application/json"]["example"];
        let parsed =
            crate::domain::CreateSessionRequest::from_value(create, crate::domain::UrlPolicy::HttpsOnly, 1_764_000_000);
        assert!(parsed.is_ok(), "{parsed:?}");
        let details =
            &doc["paths"]["/j/{secret}/details"]["put"]["requestBody"]["content"]["application/json"]["example"];
        assert!(crate::domain::DvsDetails::parse(&details["dvs"]).is_ok());
    }
}
