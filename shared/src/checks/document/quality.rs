//! The quality gate every capture passes before a reader sees it: big enough, sharp enough,
//! neither too dark nor too bright, and (documents) without glare. The measures run on a
//! small grayscale copy, so they cost the same for a webcam frame and a 12 MP photo and
//! mean the same at both.

use image::{DynamicImage, GrayImage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureKind {
    /// A side of an identity document.
    Document,
    /// A selfie.
    Face,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityIssue {
    TooSmall,
    TooDark,
    TooBright,
    Glare,
    TooBlurry,
}

impl QualityIssue {
    /// Machine code, stable for clients.
    pub fn code(self) -> &'static str {
        match self {
            QualityIssue::TooSmall => "too_small",
            QualityIssue::TooDark => "too_dark",
            QualityIssue::TooBright => "too_bright",
            QualityIssue::Glare => "glare",
            QualityIssue::TooBlurry => "too_blurry",
        }
    }

    /// What to tell the person holding the camera.
    pub fn message(self) -> &'static str {
        match self {
            QualityIssue::TooSmall => "The photo is too small. Move closer or use a higher resolution.",
            QualityIssue::TooDark => "The photo is too dark. Find more light.",
            QualityIssue::TooBright => "The photo is too bright. Avoid direct light on the camera.",
            QualityIssue::Glare => "There is glare on the document. Tilt it away from the light.",
            QualityIssue::TooBlurry => "The photo is blurry. Hold still and let the camera focus.",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct QualityReport {
    pub width: u32,
    pub height: u32,
    /// Variance of the Laplacian of the working copy (higher is sharper).
    pub sharpness: f32,
    /// Mean luma of the working copy, 0-255.
    pub brightness: f32,
    /// Share of saturated pixels in the working copy, 0-1.
    pub glare: f32,
    /// Most actionable first: lighting problems also read as blur, so they come before it.
    pub issues: Vec<QualityIssue>,
}

impl QualityReport {
    pub fn passed(&self) -> bool {
        self.issues.is_empty()
    }
}

/// Long side of the grayscale copy the measures run on. Area-averaged down to a fixed size,
/// a scene gives about the same Laplacian at any capture resolution; smaller captures are
/// measured as they are (enlarging would invent blur).
const WORKING_LONG_SIDE: u32 = 640;

/// A document's long side, in pixels: at 600 a card filling the frame has 7 px per mm, so
/// its small print (about 1.5 mm) is about 10 px high, near what OCR needs.
const DOCUMENT_MIN_LONG_SIDE: u32 = 600;

/// A selfie's short side, in pixels: a face filling half of it is then 160 px wide, room
/// enough for a face matcher.
const FACE_MIN_SHORT_SIDE: u32 = 320;

/// Laplacian variance below which a document is blurry. On the generated captures of the
/// tests, sharp ones measure 4 100 or more (at either resolution), the same blurred with
/// sigma 3 at most 64; the common rule of thumb for this measure at this size is 100 too.
const DOCUMENT_MIN_SHARPNESS: f32 = 100.0;

/// Faces have less fine detail than print, so their floor is half the documents'. Checked
/// only on the tests' generated selfies: we ship no real ones to calibrate on.
const FACE_MIN_SHARPNESS: f32 = 50.0;

/// Mean luma below this leaves print in sensor noise. The tests' dark copies (x0.15)
/// measure 19-32, their normal captures 127 or more.
const MIN_BRIGHTNESS: f32 = 45.0;

/// Mean luma above this means most of the frame is blown out. The tests' over-exposed
/// copies measure 236-241; their brightest normal capture, a white licence back, 216.
const MAX_BRIGHTNESS: f32 = 230.0;

/// Luma at or above this counts as saturated.
const SATURATED: u8 = 250;

/// Share of saturated pixels above which a document has a hot spot hiding print. Cameras
/// expose white cards below saturation, so clean captures measure about 0 (the tests'
/// over-exposed copies 0.56-0.88). Synthetic images on a pure white canvas fail this.
const MAX_GLARE: f32 = 0.10;

/// Size, sharpness, brightness and (documents) glare of one capture.
pub fn assess(image: &DynamicImage, kind: CaptureKind) -> QualityReport {
    let (width, height) = (image.width(), image.height());
    let working = working_copy(image);
    let sharpness = laplacian_variance(&working);
    let (brightness, glare) = brightness_and_glare(&working);
    let big_enough = match kind {
        CaptureKind::Document => width.max(height) >= DOCUMENT_MIN_LONG_SIDE,
        CaptureKind::Face => width.min(height) >= FACE_MIN_SHORT_SIDE,
    };
    let min_sharpness = match kind {
        CaptureKind::Document => DOCUMENT_MIN_SHARPNESS,
        CaptureKind::Face => FACE_MIN_SHARPNESS,
    };
    let checks = [
        (QualityIssue::TooSmall, !big_enough),
        (QualityIssue::TooDark, brightness < MIN_BRIGHTNESS),
        (QualityIssue::TooBright, brightness > MAX_BRIGHTNESS),
        (QualityIssue::Glare, kind == CaptureKind::Document && glare > MAX_GLARE),
        (QualityIssue::TooBlurry, sharpness < min_sharpness),
    ];
    let issues = checks.into_iter().filter(|(_, failed)| *failed).map(|(issue, _)| issue).collect();
    QualityReport { width, height, sharpness, brightness, glare, issues }
}

fn working_copy(image: &DynamicImage) -> GrayImage {
    if image.width().max(image.height()) > WORKING_LONG_SIDE {
        image.thumbnail(WORKING_LONG_SIDE, WORKING_LONG_SIDE).to_luma8()
    } else {
        image.to_luma8()
    }
}

/// Variance of the 4-neighbour Laplacian over the interior pixels; 0 when there are none.
fn laplacian_variance(gray: &GrayImage) -> f32 {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let px = gray.as_raw();
    let (mut sum, mut sum_sq) = (0i64, 0i64);
    for y in 1..h - 1 {
        let row = y * w;
        for x in 1..w - 1 {
            let i = row + x;
            let centre = i64::from(px[i]) * 4;
            let l = centre - i64::from(px[i - 1]) - i64::from(px[i + 1]) - i64::from(px[i - w]) - i64::from(px[i + w]);
            sum += l;
            sum_sq += l * l;
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum as f64 / n;
    (sum_sq as f64 / n - mean * mean) as f32
}

/// Mean luma and the share of saturated pixels; 0 for an empty image.
fn brightness_and_glare(gray: &GrayImage) -> (f32, f32) {
    let px = gray.as_raw();
    if px.is_empty() {
        return (0.0, 0.0);
    }
    let total: u64 = px.iter().map(|&p| u64::from(p)).sum();
    let saturated = px.iter().filter(|&&p| p >= SATURATED).count();
    let n = px.len() as f64;
    ((total as f64 / n) as f32, (saturated as f64 / n) as f32)
}

#[cfg(test)]
mod tests {
    use image::{DynamicImage, GrayImage, Luma};

    use super::*;
    use crate::checks::document::barcode;

    /// xorshift32: deterministic noise without a dependency.
    struct Noise(u32);

    impl Noise {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }

        /// `base` plus noise in +-`spread`, clamped.
        fn around(&mut self, base: i32, spread: i32) -> u8 {
            (base + (self.next() % (2 * spread as u32 + 1)) as i32 - spread).clamp(0, 255) as u8
        }
    }

    /// A card on a table, with lines of glyph-like dark strokes, as a phone would frame it.
    fn text_document(width: u32, height: u32) -> GrayImage {
        let mut noise = Noise(0x1234_5678);
        let card = (width / 10, height / 10, width * 9 / 10, height * 9 / 10);
        let on_card = |x: u32, y: u32| x >= card.0 && x < card.2 && y >= card.1 && y < card.3;
        let mut image = GrayImage::from_fn(width, height, |x, y| {
            Luma([if on_card(x, y) { noise.around(200, 10) } else { noise.around(80, 20) }])
        });
        let glyph = (width / 60).max(6);
        let stroke = (width / 400).max(1);
        let mut y = card.1 + glyph;
        while y + glyph < card.3 - glyph {
            let mut x = card.0 + glyph;
            while x + glyph < card.2 - glyph {
                // A glyph: one or two vertical strokes and maybe a bar across.
                let shape = noise.next() % 8;
                let strokes = [(0, 1 + shape % 2), (glyph / 2, shape % 2)];
                for (dx, on) in strokes {
                    for sx in 0..stroke * on {
                        for sy in 0..glyph {
                            image.put_pixel(x + dx + sx, y + sy, Luma([noise.around(35, 10)]));
                        }
                    }
                }
                if shape >= 4 {
                    let bar_y = y + glyph * (shape - 4) / 4;
                    for bx in 0..glyph / 2 + stroke {
                        for sy in 0..stroke {
                            image.put_pixel(x + bx, bar_y + sy, Luma([noise.around(35, 10)]));
                        }
                    }
                }
                x += glyph * 3 / 4 + if noise.next().is_multiple_of(6) { glyph } else { 0 };
            }
            y += glyph * 2;
        }
        image
    }

    /// A licence back: a PDF417 on a white card, camera noise over all of it.
    fn licence_back(scale: u32) -> GrayImage {
        let symbol = barcode::encode_pdf417(&"ANSI 636014100001DL ".repeat(12), 900 * scale, 300 * scale).unwrap();
        let mut image = GrayImage::from_pixel(1200 * scale, 760 * scale, Luma([255]));
        image::imageops::overlay(&mut image, &symbol, (150 * scale).into(), (230 * scale).into());
        let mut noise = Noise(0x0bad_cafe);
        for p in image.pixels_mut() {
            p.0[0] = noise.around(i32::from(p.0[0]) * 9 / 10 + 10, 10);
        }
        image
    }

    fn noise_photo(width: u32, height: u32) -> GrayImage {
        image::load_from_memory(&crate::testing::noisy_png(width, height)).unwrap().to_luma8()
    }

    fn scaled(image: &GrayImage, factor: f32) -> GrayImage {
        GrayImage::from_fn(image.width(), image.height(), |x, y| {
            Luma([(image.get_pixel(x, y).0[0] as f32 * factor).min(255.0) as u8])
        })
    }

    fn over_exposed(image: &GrayImage) -> GrayImage {
        GrayImage::from_fn(image.width(), image.height(), |x, y| {
            Luma([(image.get_pixel(x, y).0[0] as f32 * 1.6 + 100.0).min(255.0) as u8])
        })
    }

    /// The noise photo as a camera of `scale` times the resolution would see it.
    fn noise_photo_at(width: u32, height: u32, scale: u32) -> GrayImage {
        let image = noise_photo(width, height);
        image::imageops::resize(&image, width * scale, height * scale, image::imageops::FilterType::Nearest)
    }

    fn report(image: &GrayImage, kind: CaptureKind) -> QualityReport {
        assess(&DynamicImage::ImageLuma8(image.clone()), kind)
    }

    fn issues(image: &GrayImage, kind: CaptureKind) -> Vec<QualityIssue> {
        report(image, kind).issues
    }

    /// The generated document captures, drawn at `scale` times their base resolution.
    fn documents_at(scale: u32) -> Vec<(&'static str, GrayImage)> {
        vec![
            ("text", text_document(1000 * scale, 640 * scale)),
            ("licence back", licence_back(scale)),
            ("noise 640x400", noise_photo_at(640, 400, scale)),
            ("noise 800x500", noise_photo_at(800, 500, scale)),
        ]
    }

    /// Drawn once: generating is most of these tests' time in debug builds.
    static DOCUMENTS: std::sync::LazyLock<Vec<(&'static str, GrayImage)>> =
        std::sync::LazyLock::new(|| documents_at(1));

    fn documents() -> impl Iterator<Item = (&'static str, &'static GrayImage)> {
        DOCUMENTS.iter().map(|(name, image)| (*name, image))
    }

    #[test]
    fn sharp_well_lit_captures_pass() {
        for (name, image) in documents() {
            let r = report(image, CaptureKind::Document);
            assert!(r.passed(), "{name}: {r:?}");
            assert!(r.sharpness > DOCUMENT_MIN_SHARPNESS * 10.0, "{name}: {r:?}");
            assert_eq!((r.width, r.height), image.dimensions());
        }
        // The selfie the existing tests upload.
        assert_eq!(issues(&noise_photo(480, 640), CaptureKind::Face), []);
    }

    #[test]
    fn the_same_captures_at_twice_the_resolution_pass_too() {
        for ((name, image), (_, big)) in documents().zip(documents_at(2)) {
            let (small, large) = (report(image, CaptureKind::Document), report(&big, CaptureKind::Document));
            assert!(large.passed(), "{name}: {large:?}");
            assert!((small.brightness - large.brightness).abs() < 5.0, "{name}: {small:?} {large:?}");
            let ratio = large.sharpness / small.sharpness;
            assert!((0.2..5.0).contains(&ratio), "{name}: {small:?} {large:?}");
        }
    }

    #[test]
    fn a_blurred_copy_is_too_blurry_and_nothing_else() {
        for (name, image) in documents() {
            let blurred = image::imageops::blur(image, 3.0);
            assert_eq!(issues(&blurred, CaptureKind::Document), [QualityIssue::TooBlurry], "{name}");
        }
        let selfie = image::imageops::blur(&noise_photo(480, 640), 3.0);
        assert_eq!(issues(&selfie, CaptureKind::Face), [QualityIssue::TooBlurry]);
    }

    #[test]
    fn a_dark_copy_is_too_dark_first() {
        for (name, image) in documents() {
            let found = issues(&scaled(image, 0.15), CaptureKind::Document);
            assert_eq!(found.first(), Some(&QualityIssue::TooDark), "{name}: {found:?}");
        }
    }

    #[test]
    fn an_over_exposed_copy_is_too_bright() {
        for (name, image) in documents() {
            let found = issues(&over_exposed(image), CaptureKind::Document);
            assert_eq!(found.first(), Some(&QualityIssue::TooBright), "{name}: {found:?}");
        }
    }

    #[test]
    fn a_hot_spot_is_glare_on_a_document_only() {
        let mut image = text_document(1000, 640);
        let (cx, cy, r) = (500i64, 320i64, 150i64);
        for (x, y, p) in image.enumerate_pixels_mut() {
            if (i64::from(x) - cx).pow(2) + (i64::from(y) - cy).pow(2) < r * r {
                p.0[0] = 255;
            }
        }
        let r = report(&image, CaptureKind::Document);
        assert!(r.glare > MAX_GLARE && r.glare < 0.2, "{r:?}");
        assert_eq!(r.issues, [QualityIssue::Glare]);
        assert_eq!(issues(&image, CaptureKind::Face), []);
    }

    #[test]
    fn size_floors_depend_on_the_kind() {
        let cases = [
            ((599, 400), CaptureKind::Document, false),
            ((400, 600), CaptureKind::Document, true),
            ((480, 319), CaptureKind::Face, false),
            ((320, 320), CaptureKind::Face, true),
        ];
        for ((w, h), kind, big_enough) in cases {
            let found = issues(&noise_photo(w, h), kind);
            assert_eq!(found.contains(&QualityIssue::TooSmall), !big_enough, "{w}x{h} {kind:?}: {found:?}");
        }
    }

    #[test]
    fn an_empty_image_fails_without_panicking() {
        let r = assess(&DynamicImage::new_rgb8(0, 0), CaptureKind::Document);
        assert_eq!((r.sharpness, r.brightness, r.glare), (0.0, 0.0, 0.0));
        assert_eq!(r.issues, [QualityIssue::TooSmall, QualityIssue::TooDark, QualityIssue::TooBlurry]);
        assert!(!r.passed());
    }

    #[test]
    fn every_issue_has_a_distinct_code_and_a_message() {
        let all = [
            QualityIssue::TooSmall,
            QualityIssue::TooDark,
            QualityIssue::TooBright,
            QualityIssue::Glare,
            QualityIssue::TooBlurry,
        ];
        let codes = all.map(QualityIssue::code);
        assert_eq!(codes, ["too_small", "too_dark", "too_bright", "glare", "too_blurry"]);
        assert!(all.iter().all(|i| i.message().ends_with('.')));
    }
}
