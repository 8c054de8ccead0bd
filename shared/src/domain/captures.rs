//! What the user has captured so far. Every upload passes the byte check and the quality
//! gate as soon as it lands, so the journey can ask for a retake before the user moves on;
//! the document and liveness checks themselves run after submission, on the accepted set.

use serde::{Deserialize, Serialize};

use crate::artifacts::Artifact;
use crate::checks::liveness::Pose;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CaptureResult {
    Accepted,
    /// The journey shows the reason (`too_blurry`, `too_dark`, `not_an_image`...) and asks again.
    Rejected {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureState {
    #[serde(with = "artifact_name")]
    pub artifact: Artifact,
    /// The upload's ETag: a redelivered notification of the same upload is a duplicate.
    pub source: String,
    pub result: CaptureResult,
    pub at: i64,
}

impl CaptureState {
    pub fn accepted(&self) -> bool {
        self.result == CaptureResult::Accepted
    }
}

/// The artifacts a liveness challenge asks for beyond the frontal selfie, one per pose.
pub fn challenge_artifacts(challenge: &[Pose]) -> impl Iterator<Item = Artifact> + '_ {
    Artifact::CHALLENGE.iter().copied().take(challenge.len())
}

pub(crate) mod artifact_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::artifacts::Artifact;

    pub fn serialize<S: Serializer>(artifact: &Artifact, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(artifact.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Artifact, D::Error> {
        let name = String::deserialize(d)?;
        Artifact::parse(&name).map_err(|r| serde::de::Error::custom(r.message))
    }
}
