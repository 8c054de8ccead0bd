//! `GET /identity/{session_id}`: a session's status, steps and (once finished) its result;
//! `GET /identity/{session_id}/events`: its audit timeline (a read of the same record).

use shared::api::Endpoint;

fn accepts(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::GetSession(_) | Endpoint::SessionEvents(_))
}

fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::on_one_thread(shared::lambda::serve(accepts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const EVENT: &str = include_str!("../../../events/get-session.json");
    const EVENTS: &str = include_str!("../../../events/session-events.json");

    #[tokio::test]
    async fn the_sample_event_reads_the_session() {
        let demo = shared::testing::demo().await;
        let req = lambda_http::request::from_str(EVENT).unwrap();
        assert_eq!(shared::lambda::handle(&demo.app, req, accepts).await.status(), 404);

        demo.seed_session("9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11").await;
        let req = lambda_http::request::from_str(EVENT).unwrap();
        let resp = shared::lambda::handle(&demo.app, req, accepts).await;
        assert_eq!(resp.status(), 200);
        let body: Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(body["session_id"], "9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11");
        assert_eq!(body["status"], "created");
    }

    #[tokio::test]
    async fn the_events_sample_lists_the_timeline() {
        let demo = shared::testing::demo().await;
        let req = lambda_http::request::from_str(EVENTS).unwrap();
        assert_eq!(shared::lambda::handle(&demo.app, req, accepts).await.status(), 404);

        demo.seed_session("9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11").await;
        let req = lambda_http::request::from_str(EVENTS).unwrap();
        let resp = shared::lambda::handle(&demo.app, req, accepts).await;
        assert_eq!(resp.status(), 200);
        let body: Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(body["session_id"], "9b2f7f0e-3c55-4c1e-9f55-0f3c2d0b6a11");
        assert_eq!(body["events"][0]["type"], "session.created");
        assert_eq!(body["events"].as_array().unwrap().len(), 1);
    }
}
