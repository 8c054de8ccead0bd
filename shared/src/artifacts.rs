//! Captured artifacts (document sides, selfies): where they live in the bucket, what
//! may be uploaded for each, and the byte-level check every upload passes before any
//! verification step looks at it. Uploads are judged by their bytes, never their names.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use crate::domain::{SessionId, Step};
use crate::error::Rejection;

/// Smallest and largest upload accepted for any image artifact.
pub const MIN_BYTES: u64 = 20 * 1024;
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Pixel bounds: enough for OCR, small enough that decoding cannot exhaust a Lambda's memory.
pub const MIN_SIDE: u32 = 320;
pub const MAX_SIDE: u32 = 8000;
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Artifact {
    DocumentFront,
    DocumentBack,
    /// The frontal frame of the liveness capture, matched against the document portrait.
    Selfie,
    /// The frames for the session's challenge poses, in order.
    Challenge1,
    Challenge2,
}

impl Artifact {
    pub const ALL: [Artifact; 5] =
        [Artifact::DocumentFront, Artifact::DocumentBack, Artifact::Selfie, Artifact::Challenge1, Artifact::Challenge2];
    pub const CHALLENGE: [Artifact; 2] = [Artifact::Challenge1, Artifact::Challenge2];

    pub fn as_str(self) -> &'static str {
        match self {
            Artifact::DocumentFront => "document-front",
            Artifact::DocumentBack => "document-back",
            Artifact::Selfie => "selfie",
            Artifact::Challenge1 => "challenge-1",
            Artifact::Challenge2 => "challenge-2",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Rejection> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            Rejection::new(
                "unknown_artifact",
                "artifact must be one of document-front, document-back, selfie, challenge-1, challenge-2",
            )
        })
    }

    /// The step this artifact feeds.
    pub fn step(self) -> Step {
        match self {
            Artifact::DocumentFront | Artifact::DocumentBack => Step::Document,
            Artifact::Selfie | Artifact::Challenge1 | Artifact::Challenge2 => Step::Liveness,
        }
    }

    /// One fixed key per session and artifact, so a retake replaces the earlier file.
    pub fn key(self, session: SessionId) -> String {
        format!("sessions/{session}/{}", self.as_str())
    }

    /// Parses a key made by [`Artifact::key`] (as an S3 event reports it).
    pub fn from_key(key: &str) -> Option<(SessionId, Artifact)> {
        let rest = key.strip_prefix("sessions/")?;
        let (session, artifact) = rest.split_once('/')?;
        Some((SessionId::parse(session).ok()?, Artifact::parse(artifact).ok()?))
    }
}

/// The content types a browser may declare for an image upload.
pub fn accepted_content_type(declared: &str) -> Result<ImageFormat, Rejection> {
    match declared {
        "image/jpeg" => Ok(ImageFormat::Jpeg),
        "image/png" => Ok(ImageFormat::Png),
        "image/webp" => Ok(ImageFormat::WebP),
        _ => Err(Rejection::new("unsupported_content_type", "uploads must be image/jpeg, image/png or image/webp")),
    }
}

/// What the bytes turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageFacts {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// Checks an uploaded object by its bytes: size, magic number, agreement with the declared
/// type, a full decode under memory limits, and pixel bounds.
pub fn inspect(bytes: &[u8], declared: Option<&str>) -> Result<ImageFacts, Rejection> {
    decode(bytes, declared).map(|(facts, _)| facts)
}

/// [`inspect`], keeping the decoded image for the quality gate.
pub fn decode(bytes: &[u8], declared: Option<&str>) -> Result<(ImageFacts, DynamicImage), Rejection> {
    let size = bytes.len() as u64;
    if size < MIN_BYTES {
        return Err(Rejection::new("file_too_small", "the image is smaller than 20 KiB"));
    }
    if size > MAX_BYTES {
        return Err(Rejection::new("file_too_large", "the image is larger than 10 MiB"));
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => f,
        _ => return Err(Rejection::new("not_an_image", "the file is not a JPEG, PNG or WebP image")),
    };
    if declared.is_some_and(|d| accepted_content_type(d).ok() != Some(format)) {
        return Err(Rejection::new("content_type_mismatch", "the file's bytes do not match its declared type"));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Rejection::new("image_too_large", "the image exceeds 8000 pixels on a side"),
        _ => Rejection::new("unreadable_image", "the image could not be decoded"),
    })?;
    let (width, height) = (decoded.width(), decoded.height());
    if width.min(height) < MIN_SIDE {
        return Err(Rejection::new("resolution_too_low", "the image must be at least 320 pixels on its short side"));
    }
    Ok((ImageFacts { format, width, height }, decoded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    /// A noisy image, so that compression cannot shrink it below the minimum size.
    fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
        let mut seed = 0x2545_f491_u32;
        let img = ImageBuffer::from_fn(width, height, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn accepts_real_images_of_each_type() {
        for (format, declared) in [(ImageFormat::Png, "image/png"), (ImageFormat::Jpeg, "image/jpeg")] {
            let facts = inspect(&encoded(640, 400, format), Some(declared)).unwrap();
            assert_eq!((facts.format, facts.width, facts.height), (format, 640, 400));
        }
    }

    #[test]
    fn refuses_by_bytes_not_by_name() {
        let text = b"%PDF-1.7 not an image ".repeat(2000);
        assert_eq!(inspect(&text, Some("image/jpeg")).unwrap_err().code, "not_an_image");
        let png = encoded(640, 400, ImageFormat::Png);
        assert_eq!(inspect(&png, Some("image/jpeg")).unwrap_err().code, "content_type_mismatch");
        let mut truncated = png.clone();
        truncated.truncate(png.len() / 2);
        assert_eq!(inspect(&truncated, Some("image/png")).unwrap_err().code, "unreadable_image");
        assert_eq!(inspect(&png[..1000], Some("image/png")).unwrap_err().code, "file_too_small");
        assert_eq!(inspect(&encoded(400, 200, ImageFormat::Png), None).unwrap_err().code, "resolution_too_low");
    }

    #[test]
    fn keys_round_trip() {
        let id = SessionId::random();
        let key = Artifact::DocumentBack.key(id);
        assert_eq!(Artifact::from_key(&key), Some((id, Artifact::DocumentBack)));
        assert_eq!(Artifact::from_key("sessions/x/selfie"), None);
        assert_eq!(Artifact::from_key(&format!("sessions/{id}/../selfie")), None);
        assert_eq!(Artifact::Selfie.step(), Step::Liveness);
    }
}
