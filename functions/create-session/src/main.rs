//! `POST /identity`: validates a request and opens a verification session.

use shared::api::Endpoint;

fn accepts(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::CreateSession)
}

fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::on_one_thread(shared::lambda::serve(accepts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const EVENT: &str = include_str!("../../../events/create-session.json");

    #[tokio::test]
    async fn the_sample_event_creates_a_session_once() {
        let demo = shared::testing::demo().await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let req = lambda_http::request::from_str(EVENT).unwrap();
            let resp = shared::lambda::handle(&demo.app, req, accepts).await;
            assert_eq!(resp.status(), 201);
            let body: Value = serde_json::from_slice(resp.body()).unwrap();
            assert_eq!(body["status"], "success");
            ids.push(body["session_id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids[0], ids[1], "the event's Idempotency-Key replays the first session");
    }

    #[tokio::test]
    async fn other_routes_are_not_served_here() {
        let demo = shared::testing::demo().await;
        let req = lambda_http::request::from_str(include_str!("../../../events/list-sessions.json")).unwrap();
        assert_eq!(shared::lambda::handle(&demo.app, req, accepts).await.status(), 404);
    }
}
