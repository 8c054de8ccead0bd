//! `POST /identity/{session_id}/redact`: asks for the session's personal data and captures
//! to be erased. Marks the session `redaction: pending` and queues the erasure on the step
//! queue (process-step carries it out); answers 202. Asking again is harmless.

use shared::api::Endpoint;

fn accepts(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::RedactSession(_))
}

fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::on_one_thread(shared::lambda::serve_redaction(accepts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const EVENT: &str = include_str!("../../../events/redact-session.json");

    #[tokio::test]
    async fn the_sample_event_queues_one_erasure_and_answers_202_each_time() {
        let demo = shared::testing::demo().await;
        let req = lambda_http::request::from_str(EVENT).unwrap();
        assert_eq!(shared::lambda::handle(&demo.app, req, accepts).await.status(), 404);

        demo.seed_session("9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11").await;
        for _ in 0..2 {
            let req = lambda_http::request::from_str(EVENT).unwrap();
            let resp = shared::lambda::handle(&demo.app, req, accepts).await;
            assert_eq!(resp.status(), 202);
            let body: Value = serde_json::from_slice(resp.body()).unwrap();
            assert_eq!(body["session_id"], "9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11");
            assert_eq!(body["redaction"], "pending");
        }
        // Pending: each request queues the (idempotent) erasure again, so a lost one heals.
        let queued = demo.erasure.receive(10, std::time::Duration::ZERO).await;
        assert_eq!(queued.len(), 2);
        assert!(queued.iter().all(|(d, _)| d.body.contains("\"kind\":\"erase\"")));
    }
}
