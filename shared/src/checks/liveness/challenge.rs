//! The liveness challenge and its evaluation over the face port: a frontal selfie, then one
//! frame per challenge pose, all one person, matched to the document portrait when there is one.

use rand::Rng;
use rand::seq::SliceRandom;

use super::{Face, FaceAnalyzer, Pose};
use crate::decision::CheckOutcome;
use crate::pipeline::checks::CheckError;

/// Two poses: of the 12 ordered pairs of distinct poses, a replayed or pre-recorded set of
/// frames matches the session's with 1 chance in 12, and faking a turn live needs a 3D model
/// or a mask. Every extra pose adds a capture an honest user can get wrong for far less
/// gain (1 in 24 for three), while the same-person and document checks still hold.
const CHALLENGE_LEN: usize = 2;

/// A random challenge of distinct poses, to be kept in the session and shown in order.
pub fn new_challenge<R: Rng + ?Sized>(rng: &mut R) -> Vec<Pose> {
    let mut poses = [Pose::TurnLeft, Pose::TurnRight, Pose::LookUp, Pose::LookDown];
    poses.shuffle(rng);
    poses[..CHALLENGE_LEN].to_vec()
}

/// Bounds for the verdict. Angles in degrees, the rest 0..=100 as the port reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct LivenessThresholds {
    /// Detection confidence below this makes a frame low quality (real faces score 99+).
    pub min_face_confidence: f32,
    pub min_sharpness: f32,
    pub min_brightness: f32,
    pub max_brightness: f32,
    /// A pose frame must turn (yaw) or tilt (pitch) at least this far, that axis leading.
    pub turn_degrees: f32,
    /// The selfie must be roughly frontal: |yaw| and |pitch| at most this.
    pub frontal_max_degrees: f32,
    /// Every pose frame must be at least this alike to the selfie.
    pub same_person_similarity: f32,
    /// The selfie must be at least this alike to the document portrait to pass.
    pub document_match_similarity: f32,
    /// A likeness this many points below `document_match_similarity` asks for review, not failure.
    pub review_band: f32,
}

impl Default for LivenessThresholds {
    /// Starting points, to be tuned on real captures: quality bounds reject only blurred,
    /// dark or blown-out frames; 20° is a clear but comfortable turn; 90 between frames of one
    /// session (same light, same camera) and 80 against a printed, older portrait follow
    /// the usual CompareFaces practice, with 70..80 sent to a person.
    fn default() -> Self {
        Self {
            min_face_confidence: 90.0,
            min_sharpness: 20.0,
            min_brightness: 20.0,
            max_brightness: 95.0,
            turn_degrees: 20.0,
            frontal_max_degrees: 15.0,
            same_person_similarity: 90.0,
            document_match_similarity: 80.0,
            review_band: 10.0,
        }
    }
}

/// The captures of one liveness attempt.
#[derive(Debug, Clone)]
pub struct LivenessFrames<'a> {
    /// Frontal.
    pub selfie: &'a [u8],
    /// One per challenge pose, in the challenge's order.
    pub poses: Vec<&'a [u8]>,
    /// The document front, when the journey has a document step.
    pub document_portrait: Option<&'a [u8]>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LivenessVerdict {
    pub outcome: CheckOutcome,
    /// Selfie against the document portrait; `None` without a document or before that step.
    pub similarity: Option<f64>,
    /// Machine codes, each once, in the order found.
    pub reasons: Vec<String>,
}

/// Collects reasons with the outcome each implies; the worst outcome wins.
struct Findings {
    outcome: CheckOutcome,
    reasons: Vec<String>,
}

impl Findings {
    fn add(&mut self, code: &str, outcome: CheckOutcome) {
        if !self.reasons.iter().any(|r| r == code) {
            self.reasons.push(code.to_owned());
        }
        self.outcome = match (self.outcome, outcome) {
            (CheckOutcome::Failed, _) | (_, CheckOutcome::Failed) => CheckOutcome::Failed,
            (CheckOutcome::Review, _) | (_, CheckOutcome::Review) => CheckOutcome::Review,
            _ => CheckOutcome::Passed,
        };
    }

    fn failed(&self) -> bool {
        self.outcome == CheckOutcome::Failed
    }

    fn verdict(self, similarity: Option<f32>) -> LivenessVerdict {
        LivenessVerdict { outcome: self.outcome, similarity: similarity.map(f64::from), reasons: self.reasons }
    }
}

/// Judges one attempt against its challenge. Cheap checks first: the frames are compared
/// only once each shows one face in the asked pose.
pub async fn evaluate(
    faces: &dyn FaceAnalyzer,
    frames: &LivenessFrames<'_>,
    challenge: &[Pose],
    thresholds: &LivenessThresholds,
) -> Result<LivenessVerdict, CheckError> {
    // A challenge without poses would let a still photo through: that is a broken session.
    if challenge.is_empty() || frames.poses.len() != challenge.len() {
        return Err(CheckError::Permanent { code: "liveness_challenge_invalid".into() });
    }
    let mut findings = Findings { outcome: CheckOutcome::Passed, reasons: Vec::new() };

    let selfie = single_face(faces, frames.selfie, &mut findings).await?;
    let mut posed = Vec::with_capacity(challenge.len());
    for bytes in &frames.poses {
        posed.push(single_face(faces, bytes, &mut findings).await?);
    }
    if let Some(selfie) = selfie {
        check_quality(&selfie, thresholds, &mut findings);
        if selfie.eyes_open == Some(false) {
            findings.add("eyes_closed", CheckOutcome::Review);
        }
        let frontal = |angle: f32| angle.abs() <= thresholds.frontal_max_degrees;
        if !(frontal(selfie.yaw) && frontal(selfie.pitch)) {
            findings.add("pose_mismatch", CheckOutcome::Failed);
        }
    }
    for (face, pose) in posed.iter().zip(challenge) {
        if let Some(face) = face {
            check_quality(face, thresholds, &mut findings);
            if !holds(face, *pose, thresholds.turn_degrees) {
                findings.add("pose_mismatch", CheckOutcome::Failed);
            }
        }
    }
    if findings.failed() {
        return Ok(findings.verdict(None));
    }

    for bytes in &frames.poses {
        let similarity = faces.compare(frames.selfie, bytes).await?;
        if similarity.is_none_or(|s| s < thresholds.same_person_similarity) {
            findings.add("not_same_person", CheckOutcome::Failed);
            return Ok(findings.verdict(None));
        }
    }

    let Some(document) = frames.document_portrait else { return Ok(findings.verdict(None)) };
    let similarity = faces.compare(frames.selfie, document).await?;
    match similarity {
        None => findings.add("document_face_missing", CheckOutcome::Review),
        Some(s) if s >= thresholds.document_match_similarity => {}
        Some(s) if s >= thresholds.document_match_similarity - thresholds.review_band => {
            findings.add("face_match_uncertain", CheckOutcome::Review)
        }
        Some(_) => findings.add("face_mismatch", CheckOutcome::Failed),
    }
    Ok(findings.verdict(similarity))
}

/// The frame's face when there is exactly one; a stranger in the frame or none fails.
async fn single_face(
    faces: &dyn FaceAnalyzer,
    bytes: &[u8],
    findings: &mut Findings,
) -> Result<Option<Face>, CheckError> {
    let found = faces.detect(bytes).await?;
    match found.as_slice() {
        [face] => return Ok(Some(*face)),
        [] => findings.add("no_face", CheckOutcome::Failed),
        _ => findings.add("multiple_faces", CheckOutcome::Failed),
    }
    Ok(None)
}

/// A poor frame is a person's call, not a failure: light and cameras vary.
fn check_quality(face: &Face, t: &LivenessThresholds, findings: &mut Findings) {
    let poor = face.confidence < t.min_face_confidence
        || face.sharpness < t.min_sharpness
        || !(t.min_brightness..=t.max_brightness).contains(&face.brightness);
    if poor {
        findings.add("low_quality", CheckOutcome::Review);
    }
}

/// The asked axis must reach `degrees` in the asked direction and lead the other axis, so
/// a diagonal glance does not count as both a turn and a tilt.
fn holds(face: &Face, pose: Pose, degrees: f32) -> bool {
    let (main, other) = match pose {
        Pose::TurnLeft => (face.yaw, face.pitch),
        Pose::TurnRight => (-face.yaw, face.pitch),
        Pose::LookUp => (face.pitch, face.yaw),
        Pose::LookDown => (-face.pitch, face.yaw),
    };
    main >= degrees && main > other.abs()
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn face(yaw: f32, pitch: f32) -> Face {
        Face {
            confidence: 99.9,
            yaw,
            pitch,
            roll: 1.0,
            sharpness: 80.0,
            brightness: 60.0,
            eyes_open: Some(true),
            area: 0.3,
        }
    }

    /// Faces and likenesses scripted per image tag; counts the comparisons asked for.
    struct Scripted {
        faces: HashMap<&'static [u8], Vec<Face>>,
        alike: HashMap<(&'static [u8], &'static [u8]), f32>,
        compares: AtomicUsize,
    }

    impl Scripted {
        /// Alice in every pose, matching her document portrait at 88.
        fn alice() -> Self {
            let faces = HashMap::from([
                (&b"selfie"[..], vec![face(2.0, -3.0)]),
                (&b"left"[..], vec![face(31.0, 4.0)]),
                (&b"right"[..], vec![face(-28.0, -2.0)]),
                (&b"up"[..], vec![face(5.0, 24.0)]),
                (&b"down"[..], vec![face(-4.0, -26.0)]),
                (&b"bob_left"[..], vec![face(33.0, 1.0)]),
                (&b"crowd"[..], vec![face(30.0, 2.0), face(-1.0, 0.0)]),
            ]);
            let alike = HashMap::from([
                ((&b"selfie"[..], &b"left"[..]), 98.0),
                ((&b"selfie"[..], &b"right"[..]), 97.5),
                ((&b"selfie"[..], &b"up"[..]), 96.0),
                ((&b"selfie"[..], &b"down"[..]), 95.0),
                ((&b"selfie"[..], &b"bob_left"[..]), 41.0),
                ((&b"selfie"[..], &b"document"[..]), 88.0),
            ]);
            Self { faces, alike, compares: AtomicUsize::new(0) }
        }

        fn with_face(mut self, tag: &'static [u8], found: Vec<Face>) -> Self {
            self.faces.insert(tag, found);
            self
        }

        fn with_document_likeness(mut self, similarity: Option<f32>) -> Self {
            match similarity {
                Some(s) => self.alike.insert((b"selfie", b"document"), s),
                None => self.alike.remove(&(&b"selfie"[..], &b"document"[..])),
            };
            self
        }
    }

    #[async_trait]
    impl FaceAnalyzer for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        async fn detect(&self, image: &[u8]) -> Result<Vec<Face>, CheckError> {
            Ok(self.faces.get(image).cloned().unwrap_or_default())
        }
        async fn compare(&self, source: &[u8], target: &[u8]) -> Result<Option<f32>, CheckError> {
            self.compares.fetch_add(1, Ordering::Relaxed);
            Ok(self.alike.iter().find(|((s, t), _)| *s == source && *t == target).map(|(_, v)| *v))
        }
    }

    async fn judge(faces: &Scripted, poses: &[&'static [u8]], challenge: &[Pose], document: bool) -> LivenessVerdict {
        let frames = LivenessFrames {
            selfie: b"selfie",
            poses: poses.to_vec(),
            document_portrait: document.then_some(&b"document"[..]),
        };
        evaluate(faces, &frames, challenge, &LivenessThresholds::default()).await.unwrap()
    }

    fn verdict(outcome: CheckOutcome, similarity: Option<f64>, reasons: &[&str]) -> LivenessVerdict {
        LivenessVerdict { outcome, similarity, reasons: reasons.iter().map(|r| r.to_string()).collect() }
    }

    const LEFT_UP: [Pose; 2] = [Pose::TurnLeft, Pose::LookUp];

    #[tokio::test]
    async fn passes_when_every_frame_holds_its_pose_and_matches_the_document() {
        let faces = Scripted::alice();
        let v = judge(&faces, &[b"left", b"up"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Passed, Some(88.0), &[]));
        let v = judge(&faces, &[b"right", b"down"], &[Pose::TurnRight, Pose::LookDown], true).await;
        assert_eq!(v.outcome, CheckOutcome::Passed);
    }

    #[tokio::test]
    async fn poses_in_the_wrong_order_fail_before_any_comparison() {
        let faces = Scripted::alice();
        let v = judge(&faces, &[b"up", b"left"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Failed, None, &["pose_mismatch"]));
        assert_eq!(faces.compares.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_turn_the_wrong_way_too_small_or_diagonal_fails() {
        let wrong_way = judge(&Scripted::alice(), &[b"right", b"up"], &LEFT_UP, true).await;
        assert_eq!(wrong_way, verdict(CheckOutcome::Failed, None, &["pose_mismatch"]));

        let small = Scripted::alice().with_face(b"left", vec![face(12.0, 0.0)]);
        assert_eq!(judge(&small, &[b"left", b"up"], &LEFT_UP, true).await.outcome, CheckOutcome::Failed);

        // Up more than left: a glance up and aside is not a left turn.
        let diagonal = Scripted::alice().with_face(b"left", vec![face(25.0, 30.0)]);
        assert_eq!(judge(&diagonal, &[b"left", b"up"], &LEFT_UP, true).await.outcome, CheckOutcome::Failed);
    }

    #[tokio::test]
    async fn a_selfie_that_is_not_frontal_fails() {
        let faces = Scripted::alice().with_face(b"selfie", vec![face(22.0, 0.0)]);
        let v = judge(&faces, &[b"left", b"up"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Failed, None, &["pose_mismatch"]));
    }

    #[tokio::test]
    async fn a_frame_with_several_faces_or_none_fails() {
        let v = judge(&Scripted::alice(), &[b"crowd", b"up"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Failed, None, &["multiple_faces"]));

        let faceless = Scripted::alice().with_face(b"selfie", vec![]);
        let v = judge(&faceless, &[b"left", b"wall"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Failed, None, &["no_face"]));
    }

    #[tokio::test]
    async fn someone_else_in_a_pose_frame_fails() {
        let v = judge(&Scripted::alice(), &[b"bob_left", b"up"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Failed, None, &["not_same_person"]));
    }

    #[tokio::test]
    async fn a_document_portrait_of_someone_else_fails() {
        let faces = Scripted::alice().with_document_likeness(Some(41.0));
        let v = judge(&faces, &[b"left", b"up"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Failed, Some(41.0), &["face_mismatch"]));
    }

    #[tokio::test]
    async fn a_likeness_within_the_review_band_is_reviewed() {
        for (similarity, outcome) in [
            (80.0, CheckOutcome::Passed),
            (75.0, CheckOutcome::Review),
            (70.0, CheckOutcome::Review),
            (69.5, CheckOutcome::Failed),
        ] {
            let faces = Scripted::alice().with_document_likeness(Some(similarity));
            let v = judge(&faces, &[b"left", b"up"], &LEFT_UP, true).await;
            assert_eq!((v.outcome, v.similarity), (outcome, Some(f64::from(similarity))), "{similarity}");
        }
        let faces = Scripted::alice().with_document_likeness(Some(75.0));
        let v = judge(&faces, &[b"left", b"up"], &LEFT_UP, true).await;
        assert_eq!(v.reasons, ["face_match_uncertain"]);
    }

    #[tokio::test]
    async fn without_a_document_liveness_decides_alone() {
        let faces = Scripted::alice();
        let v = judge(&faces, &[b"left", b"up"], &LEFT_UP, false).await;
        assert_eq!(v, verdict(CheckOutcome::Passed, None, &[]));
        assert_eq!(faces.compares.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_document_without_a_face_is_reviewed() {
        let faces = Scripted::alice().with_document_likeness(None);
        let v = judge(&faces, &[b"left", b"up"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Review, None, &["document_face_missing"]));
    }

    #[tokio::test]
    async fn poor_frames_and_closed_eyes_are_reviewed_not_failed() {
        let dark = Face { brightness: 8.0, ..face(1.0, 0.0) };
        let faces = Scripted::alice().with_face(b"selfie", vec![dark]);
        let v = judge(&faces, &[b"left", b"up"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Review, Some(88.0), &["low_quality"]));

        let blurred = Face { sharpness: 5.0, confidence: 70.0, ..face(30.0, 0.0) };
        let faces = Scripted::alice().with_face(b"left", vec![blurred]);
        assert_eq!(judge(&faces, &[b"left", b"up"], &LEFT_UP, true).await.reasons, ["low_quality"]);

        let asleep = Face { eyes_open: Some(false), ..face(0.0, 0.0) };
        let faces = Scripted::alice().with_face(b"selfie", vec![asleep]);
        let v = judge(&faces, &[b"left", b"up"], &LEFT_UP, true).await;
        assert_eq!(v, verdict(CheckOutcome::Review, Some(88.0), &["eyes_closed"]));
    }

    #[tokio::test]
    async fn frames_that_do_not_answer_the_challenge_are_a_broken_session() {
        let faces = Scripted::alice();
        let thresholds = LivenessThresholds::default();
        let one_frame = LivenessFrames { selfie: b"selfie", poses: vec![b"left"], document_portrait: None };
        let no_frames = LivenessFrames { poses: vec![], ..one_frame.clone() };
        for (frames, challenge) in [(&one_frame, &LEFT_UP[..]), (&no_frames, &[][..])] {
            let err = evaluate(&faces, frames, challenge, &thresholds).await.unwrap_err();
            assert!(matches!(err, CheckError::Permanent { ref code } if code == "liveness_challenge_invalid"));
        }
    }

    #[test]
    fn challenges_are_two_distinct_poses_covering_every_ordered_pair() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut seen = HashSet::new();
        for _ in 0..500 {
            let challenge = new_challenge(&mut rng);
            assert_eq!(challenge.len(), 2);
            assert_ne!(challenge[0], challenge[1]);
            seen.insert((challenge[0] as u8, challenge[1] as u8));
        }
        assert_eq!(seen.len(), 12);
    }
}
