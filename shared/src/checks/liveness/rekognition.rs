//! Amazon Rekognition adapter for the face port: DetectFaces for pose and quality,
//! CompareFaces for likeness.

use async_trait::async_trait;
use aws_sdk_rekognition::Client;
use aws_sdk_rekognition::config::http::HttpResponse;
use aws_sdk_rekognition::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rekognition::primitives::Blob;
use aws_sdk_rekognition::types::{Attribute, BoundingBox, FaceDetail, Image};

use super::{Face, FaceAnalyzer};
use crate::pipeline::checks::CheckError;

/// Rekognition's yaw is seen from the camera: positive when the face points toward the
/// right of the image (AWS re:Post: "a positive value means the camera is facing to the
/// right"; public DetectFaces responses agree: faces with negative yaw show the image-left
/// half of the face foreshortened). In an unmirrored camera image, pointing to image-right
/// is the person turning to their own left, which is the port's positive: the sign is kept.
/// A mirrored capture (a selfie preview saved as shown) would flip it, so capture clients
/// must send frames as the camera saw them. Pitch is kept too: the same samples show
/// positive pitch on faces tilted up, the port's positive.
const YAW_TO_PORT: f32 = 1.0;

/// Rekognition's eye state is a classifier's guess; below this confidence it is no evidence.
const MIN_EYES_CONFIDENCE: f32 = 80.0;

#[derive(Clone)]
pub struct RekognitionFaces {
    client: Client,
}

impl RekognitionFaces {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_config(config: &aws_types::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }
}

fn image(bytes: &[u8]) -> Image {
    Image::builder().bytes(Blob::new(bytes)).build()
}

#[async_trait]
impl FaceAnalyzer for RekognitionFaces {
    fn name(&self) -> &'static str {
        "rekognition"
    }

    async fn detect(&self, bytes: &[u8]) -> Result<Vec<Face>, CheckError> {
        // DEFAULT gives the box, pose, quality and confidence; eye state is asked for on its own.
        let output = self
            .client
            .detect_faces()
            .image(image(bytes))
            .attributes(Attribute::Default)
            .attributes(Attribute::EyesOpen)
            .send()
            .await
            .map_err(|e| rekognition_err("DetectFaces", &e))?;
        output.face_details().iter().map(face).collect()
    }

    async fn compare(&self, source: &[u8], target: &[u8]) -> Result<Option<f32>, CheckError> {
        // Threshold 0: every face in the target comes back as a match with its similarity,
        // so a low one is reported rather than hidden among the unmatched.
        let result = self
            .client
            .compare_faces()
            .source_image(image(source))
            .target_image(image(target))
            .similarity_threshold(0.0)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            // What this request can get wrong is only the source having no face: Rekognition
            // answers that with a bare "Request has invalid parameters".
            Err(e) if e.code() == Some("InvalidParameterException") => return Ok(None),
            Err(e) => return Err(rekognition_err("CompareFaces", &e)),
        };
        let matched = output.face_matches().iter().map(|m| (m.face().and_then(|f| f.bounding_box()), m.similarity()));
        let unmatched = output.unmatched_faces().iter().map(|f| (f.bounding_box(), Some(0.0)));
        // The port compares the largest face in the target (a document's portrait, not its ghost image).
        let largest = matched.chain(unmatched).max_by(|a, b| area(a.0).total_cmp(&area(b.0)));
        Ok(largest.map(|(_, similarity)| similarity.unwrap_or(0.0)))
    }
}

fn area(bbox: Option<&BoundingBox>) -> f32 {
    bbox.map_or(0.0, |b| (b.width().unwrap_or(0.0) * b.height().unwrap_or(0.0)).clamp(0.0, 1.0))
}

/// DEFAULT attributes always carry pose and quality; a face without them is a broken answer.
fn face(detail: &FaceDetail) -> Result<Face, CheckError> {
    let incomplete = || CheckError::Permanent { code: "provider_error".into() };
    let pose = detail.pose().ok_or_else(incomplete)?;
    let quality = detail.quality().ok_or_else(incomplete)?;
    let angle = |v: Option<f32>| v.ok_or_else(incomplete);
    let eyes_open = detail.eyes_open().and_then(|e| {
        let sure = e.confidence().unwrap_or(0.0) >= MIN_EYES_CONFIDENCE;
        sure.then_some(e.value())
    });
    Ok(Face {
        confidence: detail.confidence().unwrap_or(0.0),
        yaw: angle(pose.yaw())? * YAW_TO_PORT,
        pitch: angle(pose.pitch())?,
        roll: angle(pose.roll())?,
        sharpness: quality.sharpness().unwrap_or(0.0),
        brightness: quality.brightness().unwrap_or(0.0),
        eyes_open,
        area: area(detail.bounding_box()),
    })
}

/// The service's refusals of what was sent, as the step's outcome codes.
const REFUSED: &[(&str, &str)] = &[
    ("ImageTooLargeException", "image_unreadable"),
    ("InvalidImageFormatException", "image_unreadable"),
    ("InvalidParameterException", "image_unreadable"),
];

fn rekognition_err<E: ProvideErrorMetadata>(op: &str, err: &SdkError<E, HttpResponse>) -> CheckError {
    crate::checks::aws_failure::check_err(op, err, REFUSED)
}

#[cfg(test)]
mod tests {
    use aws_sdk_rekognition::config::retry::RetryConfig;
    use aws_sdk_rekognition::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_rekognition::operation::compare_faces::CompareFacesInput;
    use aws_sdk_rekognition::operation::detect_faces::DetectFacesInput;
    use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
    use serde_json::{Value as Json, json};

    use super::*;

    /// A real SDK client whose HTTP exchanges are replayed: responses go through the SDK's
    /// own deserialisation and error parsing.
    fn replaying(rules: &[&Rule]) -> RekognitionFaces {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        let config = aws_sdk_rekognition::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("ap-southeast-2"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .retry_config(RetryConfig::disabled())
            .build();
        RekognitionFaces::new(Client::from_conf(config))
    }

    fn detect_answering(status: u16, body: Json) -> Rule {
        mock!(Client::detect_faces).sequence().http_status(status, Some(body.to_string())).repeatedly().build()
    }

    fn compare_answering(status: u16, body: Json) -> Rule {
        mock!(Client::compare_faces).sequence().http_status(status, Some(body.to_string())).repeatedly().build()
    }

    fn bbox(width: f32, height: f32) -> Json {
        json!({"Width": width, "Height": height, "Left": 0.1, "Top": 0.1})
    }

    fn face_detail(yaw: f32, pitch: f32, eyes: (bool, f32), bbox: Json) -> Json {
        json!({
            "BoundingBox": bbox,
            "Pose": {"Roll": -2.5, "Yaw": yaw, "Pitch": pitch},
            "Quality": {"Brightness": 72.5, "Sharpness": 86.0},
            "EyesOpen": {"Value": eyes.0, "Confidence": eyes.1},
            "Landmarks": [{"Type": "nose", "X": 0.5, "Y": 0.5}],
            "Confidence": 99.9
        })
    }

    #[tokio::test]
    async fn detect_maps_every_face_and_asks_for_eye_state() {
        let body = json!({"FaceDetails": [
            face_detail(31.5, 4.0, (true, 97.0), bbox(0.4, 0.5)),
            face_detail(-3.0, -22.0, (false, 61.0), bbox(0.1, 0.2)),
        ]});
        let rule = mock!(Client::detect_faces)
            .match_requests(|input: &DetectFacesInput| {
                input.attributes() == [Attribute::Default, Attribute::EyesOpen]
                    && input.image().and_then(|i| i.bytes()).map(|b| b.as_ref()) == Some(&b"selfie"[..])
            })
            .sequence()
            .http_status(200, Some(body.to_string()))
            .build();

        let faces = replaying(&[&rule]).detect(b"selfie").await.unwrap();

        assert_eq!(faces.len(), 2);
        let first = faces[0];
        assert_eq!((first.yaw, first.pitch, first.roll), (31.5, 4.0, -2.5));
        assert_eq!((first.sharpness, first.brightness, first.confidence), (86.0, 72.5, 99.9));
        assert_eq!(first.eyes_open, Some(true));
        assert!((first.area - 0.2).abs() < 1e-6, "{}", first.area);
        // An unsure eye classification is no evidence either way.
        assert_eq!(faces[1].eyes_open, None);
        assert_eq!(faces[1].pitch, -22.0);
    }

    #[tokio::test]
    async fn yaw_keeps_rekognitions_sign_as_the_ports_own_left_is_image_right() {
        // A DetectFaces answer for a face pointing toward the image's left (the person's own
        // right): Rekognition gives it a negative yaw, which the port reads as a right turn.
        let body = json!({"FaceDetails": [face_detail(-33.3, -6.0, (true, 90.0), bbox(0.27, 0.53))]});
        let rule = detect_answering(200, body);
        let faces = replaying(&[&rule]).detect(b"frame").await.unwrap();
        assert_eq!(faces[0].yaw, -33.3);
    }

    #[tokio::test]
    async fn no_face_is_an_empty_list_and_a_face_without_pose_is_a_provider_error() {
        let empty = detect_answering(200, json!({"FaceDetails": []}));
        assert_eq!(replaying(&[&empty]).detect(b"wall").await.unwrap(), vec![]);

        let broken =
            detect_answering(200, json!({"FaceDetails": [{"BoundingBox": bbox(0.2, 0.2), "Confidence": 99.0}]}));
        let err = replaying(&[&broken]).detect(b"frame").await.unwrap_err();
        assert!(matches!(err, CheckError::Permanent { ref code } if code == "provider_error"), "{err:?}");
    }

    fn compared(similarity: f32, bbox: Json) -> Json {
        json!({"Similarity": similarity, "Face": {"BoundingBox": bbox, "Confidence": 99.0}})
    }

    #[tokio::test]
    async fn compare_reports_the_largest_target_face_even_when_alike_only_a_little() {
        let body = json!({
            "SourceImageFace": {"BoundingBox": bbox(0.3, 0.4), "Confidence": 99.9},
            // The document's ghost image first: small, and a better likeness than the portrait.
            "FaceMatches": [compared(91.0, bbox(0.05, 0.08)), compared(12.5, bbox(0.2, 0.3))],
            "UnmatchedFaces": []
        });
        let rule = mock!(Client::compare_faces)
            .match_requests(|input: &CompareFacesInput| {
                let bytes = |i: Option<&Image>| i.and_then(|i| i.bytes()).map(|b| b.as_ref().to_vec());
                input.similarity_threshold() == Some(0.0)
                    && bytes(input.source_image()) == Some(b"selfie".to_vec())
                    && bytes(input.target_image()) == Some(b"document".to_vec())
            })
            .sequence()
            .http_status(200, Some(body.to_string()))
            .build();

        let similarity = replaying(&[&rule]).compare(b"selfie", b"document").await.unwrap();

        assert_eq!(similarity, Some(12.5));
    }

    #[tokio::test]
    async fn compare_without_a_face_on_either_side_is_none() {
        let no_target_face = compare_answering(
            200,
            json!({"SourceImageFace": {"BoundingBox": bbox(0.3, 0.4), "Confidence": 99.9}, "FaceMatches": [], "UnmatchedFaces": []}),
        );
        assert_eq!(replaying(&[&no_target_face]).compare(b"selfie", b"wall").await.unwrap(), None);

        let no_source_face = compare_answering(
            400,
            json!({"__type": "InvalidParameterException", "Message": "Request has invalid parameters"}),
        );
        assert_eq!(replaying(&[&no_source_face]).compare(b"wall", b"selfie").await.unwrap(), None);
    }

    #[tokio::test]
    async fn service_errors_are_classified() {
        let cases = [
            (400, "ThrottlingException", None),
            (400, "ProvisionedThroughputExceededException", None),
            (500, "InternalServerError", None),
            (503, "SomethingNew", None),
            (400, "ImageTooLargeException", Some("image_unreadable")),
            (400, "InvalidImageFormatException", Some("image_unreadable")),
            (400, "InvalidParameterException", Some("image_unreadable")),
            (400, "AccessDeniedException", Some("provider_access_denied")),
            (400, "SomethingNew", Some("provider_error")),
        ];
        for (status, code, expected) in cases {
            let rule = detect_answering(status, json!({"__type": code, "Message": "the service's words"}));
            let err = replaying(&[&rule]).detect(b"frame").await.unwrap_err();
            match (expected, &err) {
                (None, CheckError::Transient(_)) => {}
                (Some(want), CheckError::Permanent { code }) if code == want => {}
                _ => panic!("{status} {code}: expected {expected:?}, got {err:?}"),
            }
        }
        let throttled = compare_answering(400, json!({"__type": "ThrottlingException"}));
        let err = replaying(&[&throttled]).compare(b"a", b"b").await.unwrap_err();
        assert!(matches!(err, CheckError::Transient(_)), "{err:?}");
        let too_large = compare_answering(400, json!({"__type": "ImageTooLargeException"}));
        let err = replaying(&[&too_large]).compare(b"a", b"b").await.unwrap_err();
        assert!(matches!(err, CheckError::Permanent { ref code } if code == "image_unreadable"), "{err:?}");
    }
}
