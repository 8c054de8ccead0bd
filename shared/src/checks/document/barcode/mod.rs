//! Barcodes on identity documents, read with rxing: the PDF417 on the back of North
//! American driver licences (AAMVA data, see [`parse_aamva`]) and QR codes.

mod aamva;
#[cfg(test)]
mod aamva_tests;
mod aamva_text;
#[cfg(test)]
mod tests;

pub use aamva::{Aamva, AamvaCountry, AamvaError, AamvaFields, AamvaHeader, AamvaSubfile, Iin, parse_aamva};
pub use aamva_text::aamva_text;

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::{DynamicImage, GrayImage, Luma};
use rxing::common::{BitMatrix, GlobalHistogramBinarizer, HybridBinarizer};
use rxing::pdf417::PDF417Writer;
use rxing::qrcode::QRCodeWriter;
use rxing::{
    BinaryBitmap, DecodeHintValue, DecodeHints, EncodeHintValue, EncodeHints, Luma8Source, MultiFormatReader, Reader,
    Writer,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarcodeFormat {
    Pdf417,
    Qr,
}

impl BarcodeFormat {
    fn rxing(self) -> rxing::BarcodeFormat {
        match self {
            BarcodeFormat::Pdf417 => rxing::BarcodeFormat::PDF_417,
            BarcodeFormat::Qr => rxing::BarcodeFormat::QR_CODE,
        }
    }
}

/// One barcode read off an image. `text` is personal data: never log it.
#[derive(Clone, PartialEq, Eq)]
pub struct Barcode {
    pub format: BarcodeFormat,
    pub text: String,
}

impl std::fmt::Debug for Barcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barcode").field("format", &self.format).field("text_len", &self.text.len()).finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BarcodeError {
    /// rxing's message is left out: it may quote the payload.
    #[error("the text cannot be encoded as {0:?}")]
    Encode(BarcodeFormat),
    #[error("a {needed_width}x{needed_height} {format:?} symbol does not fit in {width}x{height} pixels")]
    TooSmall { format: BarcodeFormat, needed_width: u32, needed_height: u32, width: u32, height: u32 },
}

/// Below this no symbol fits (a version 1 QR code is 21 modules wide), and rxing gets
/// nothing to work with.
const MIN_DECODE_SIDE: u32 = 21;

/// Captures are scaled down to this long side before decoding: decoding time grows with
/// pixels, and a licence-back PDF417 (about 360 modules wide) filling a third of a 2560 px
/// frame still has modules over two pixels wide.
const MAX_DECODE_SIDE: u32 = 2560;

/// The PDF417 and QR codes in `image`, at most one of each, in any of the four right-angle
/// orientations: licence backs are often captured sideways, and rxing's PDF417 detector
/// tries all four itself (QR finder patterns do not care), so no turned copy is decoded
/// again, which would double the cost of every capture without a barcode.
/// Never panics on malformed or hostile pixels where panics unwind (see [`decode_one`]).
pub fn decode(image: &DynamicImage) -> Vec<Barcode> {
    let gray = working_copy(image);
    if gray.width() < MIN_DECODE_SIDE || gray.height() < MIN_DECODE_SIDE {
        return Vec::new();
    }
    [BarcodeFormat::Pdf417, BarcodeFormat::Qr]
        .into_iter()
        .filter_map(|format| decode_one(&gray, format).map(|text| Barcode { format, text }))
        .collect()
}

fn working_copy(image: &DynamicImage) -> GrayImage {
    let long_side = image.width().max(image.height());
    if long_side > MAX_DECODE_SIDE {
        image.thumbnail(MAX_DECODE_SIDE, MAX_DECODE_SIDE).to_luma8()
    } else {
        image.to_luma8()
    }
}

/// rxing's multi-format reader restricted to one format (it stops at its first find, and a
/// document may carry both kinds), trying harder: with the local-threshold binarizer, then
/// with the global one, which reads symbols that JPEG ringing makes the first one miss.
fn decode_one(gray: &GrayImage, format: BarcodeFormat) -> Option<String> {
    let hints = DecodeHints::default()
        .with(DecodeHintValue::TryHarder(true))
        .with(DecodeHintValue::PossibleFormats(HashSet::from([format.rxing()])));
    let read = |global: bool| {
        let source = Luma8Source::new_with_slice(gray.as_raw(), gray.width(), gray.height()).ok()?;
        let mut reader = MultiFormatReader::default();
        // rxing is a port full of index arithmetic; a panic on a hostile image must cost the
        // barcode, not the step. Release builds (panic = "abort") cannot catch it, so this
        // guards debug builds and tests only.
        let result = catch_unwind(AssertUnwindSafe(|| {
            if global {
                reader.decode_with_hints(&mut BinaryBitmap::new(GlobalHistogramBinarizer::new(source)), &hints)
            } else {
                reader.decode_with_hints(&mut BinaryBitmap::new(HybridBinarizer::new(source)), &hints)
            }
        }));
        match result {
            Ok(Ok(found)) => Some(found.getText().to_owned()),
            _ => None,
        }
    };
    read(false).or_else(|| read(true))
}

/// White space kept around a PDF417 symbol, in pixels (the symbology needs two modules).
const PDF417_QUIET_ZONE: u32 = 16;

/// PDF417 error-correction level 5 (64 codewords), so that generated licence backs survive
/// JPEG and rescaling as a worn card's symbol must.
const PDF417_ERROR_CORRECTION: &str = "5";

/// `text` as a PDF417 symbol, black on white, centred in a `width` x `height` image.
pub fn encode_pdf417(text: &str, width: u32, height: u32) -> Result<GrayImage, BarcodeError> {
    let format = BarcodeFormat::Pdf417;
    let inner_width = width.saturating_sub(2 * PDF417_QUIET_ZONE);
    let inner_height = height.saturating_sub(2 * PDF417_QUIET_ZONE);
    let hints = EncodeHints::default()
        .with(EncodeHintValue::Margin("0".into()))
        .with(EncodeHintValue::ErrorCorrection(PDF417_ERROR_CORRECTION.into()));
    let matrix = PDF417Writer
        .encode_with_hints(text, &format.rxing(), to_i32(inner_width), to_i32(inner_height), &hints)
        .map_err(|_| BarcodeError::Encode(format))?;
    let needed = (matrix.getWidth() + 2 * PDF417_QUIET_ZONE, matrix.getHeight() + 2 * PDF417_QUIET_ZONE);
    render(&matrix, format, needed, width, height)
}

/// `text` as a QR code (error correction M), black on white, in a `size` x `size` image.
pub fn encode_qr(text: &str, size: u32) -> Result<GrayImage, BarcodeError> {
    let format = BarcodeFormat::Qr;
    let hints = EncodeHints::default().with(EncodeHintValue::ErrorCorrection("M".into()));
    let matrix = QRCodeWriter
        .encode_with_hints(text, &format.rxing(), to_i32(size), to_i32(size), &hints)
        .map_err(|_| BarcodeError::Encode(format))?;
    // The writer adds its own four-module quiet zone.
    let needed = (matrix.getWidth(), matrix.getHeight());
    render(&matrix, format, needed, size, size)
}

fn to_i32(pixels: u32) -> i32 {
    i32::try_from(pixels).unwrap_or(i32::MAX)
}

fn render(
    matrix: &BitMatrix,
    format: BarcodeFormat,
    (needed_width, needed_height): (u32, u32),
    width: u32,
    height: u32,
) -> Result<GrayImage, BarcodeError> {
    if needed_width > width || needed_height > height {
        return Err(BarcodeError::TooSmall { format, needed_width, needed_height, width, height });
    }
    let left = (width - matrix.getWidth()) / 2;
    let top = (height - matrix.getHeight()) / 2;
    let mut image = GrayImage::from_pixel(width, height, Luma([255]));
    for y in 0..matrix.getHeight() {
        for x in 0..matrix.getWidth() {
            if matrix.get(x, y) {
                image.put_pixel(left + x, top + y, Luma([0]));
            }
        }
    }
    Ok(image)
}
