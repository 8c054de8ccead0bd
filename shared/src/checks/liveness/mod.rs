//! The liveness step: challenge-response over several frames. The session holds a random
//! sequence of poses; the frames must show one good-quality face each, in those poses, in
//! order, all the same person, and that person must match the document portrait.

pub mod challenge;
#[cfg(feature = "aws")]
pub mod rekognition;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::pipeline::checks::CheckError;

/// A head pose the user is asked to hold in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pose {
    TurnLeft,
    TurnRight,
    LookUp,
    LookDown,
}

/// One face as a face-analysis service sees it. Angles in degrees; quality in 0..=100.
/// `yaw` is positive when the person turns to their own left (their face shows its
/// right cheek to the camera), `pitch` positive when they look up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Face {
    pub confidence: f32,
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    pub sharpness: f32,
    pub brightness: f32,
    pub eyes_open: Option<bool>,
    /// Share of the image the face's bounding box covers, 0..=1.
    pub area: f32,
}

#[async_trait]
pub trait FaceAnalyzer: Send + Sync {
    fn name(&self) -> &'static str;
    /// Every face found in the image.
    async fn detect(&self, image: &[u8]) -> Result<Vec<Face>, CheckError>;
    /// How alike (0..=100) the largest face in `target` is to the face in `source`;
    /// `None` when either image has no face.
    async fn compare(&self, source: &[u8], target: &[u8]) -> Result<Option<f32>, CheckError>;
}
