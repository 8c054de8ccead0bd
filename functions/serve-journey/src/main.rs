//! The end user's side of the API, authorised by the journey secret: upload slots,
//! submission, the finishing redirect with the signed result, and the JWKS.

fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::on_one_thread(shared::lambda::serve_journey())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::Value;
    use shared::api::journey::JourneyApi;
    use shared::results::ResultTokens;
    use shared::signing::{ResultSigner, SigningKey};

    const EVENT: &str = include_str!("../../../events/serve-journey.json");

    #[tokio::test]
    async fn the_sample_event_serves_the_jwks() {
        let demo = shared::testing::demo().await;
        let dir = tempfile::tempdir().unwrap();
        let local = shared::testing::local_pipeline(&demo, dir.path(), 5);
        let signer = ResultSigner::new(SigningKey::generate_es256().unwrap()).unwrap();
        let kid = signer.kid().unwrap().to_owned();
        let api = JourneyApi {
            pipeline: Arc::new(local.pipeline),
            tokens: Arc::new(ResultTokens::new(signer, "https://verify.example.com")),
        };
        let req = lambda_http::request::from_str(EVENT).unwrap();
        let resp = shared::lambda::handle_journey(&api, req).await;
        assert_eq!(resp.status(), 200);
        let body: Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(body["keys"][0]["kid"], kid.as_str());
        assert_eq!(body["keys"][0]["alg"], "ES256");
        assert!(body["keys"][0].get("d").is_none(), "no private part is published");
    }
}
