//! `GET /identity?reference=...`: a tenant's sessions for one of its references, newest first.

use shared::api::Endpoint;

fn accepts(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::ListSessions)
}

fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::on_one_thread(shared::lambda::serve(accepts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const EVENT: &str = include_str!("../../../events/list-sessions.json");

    #[tokio::test]
    async fn the_sample_event_lists_sessions_for_the_reference() {
        let demo = shared::testing::demo().await;
        demo.seed_session("9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11").await;
        let req = lambda_http::request::from_str(EVENT).unwrap();
        let resp = shared::lambda::handle(&demo.app, req, accepts).await;
        assert_eq!(resp.status(), 200);
        let body: Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 1);
        assert_eq!(body["data"][0]["session_id"], "9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11");
    }
}
