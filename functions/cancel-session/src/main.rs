//! `DELETE /identity/{session_id}`: cancels a session; no further steps are accepted.

use shared::api::Endpoint;

fn accepts(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::CancelSession(_))
}

fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::on_one_thread(shared::lambda::serve(accepts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const EVENT: &str = include_str!("../../../events/cancel-session.json");

    #[tokio::test]
    async fn the_sample_event_cancels_the_session_idempotently() {
        let demo = shared::testing::demo().await;
        demo.seed_session("9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11").await;
        for _ in 0..2 {
            let req = lambda_http::request::from_str(EVENT).unwrap();
            let resp = shared::lambda::handle(&demo.app, req, accepts).await;
            assert_eq!(resp.status(), 200);
            let body: Value = serde_json::from_slice(resp.body()).unwrap();
            assert_eq!(body["status"], "cancelled");
            assert!(body.get("identity_url").is_none());
        }
    }
}
