//! Golden tests: barcodes made with rxing's writers, pasted into capture-like images
//! (margin, noise, JPEG), read back.

use chrono::NaiveDate;
use image::{DynamicImage, GrayImage, Luma};

use super::*;
use crate::checks::document::{DocumentKind, Sex};

pub(super) fn licence_fields() -> AamvaFields {
    AamvaFields {
        subfile: AamvaSubfile::DriverLicence,
        licence_number: "D1234567".into(),
        family_name: "SMITH".into(),
        first_name: Some("JANE".into()),
        middle_names: Some("MARY ANN".into()),
        birth_date: NaiveDate::from_ymd_opt(1990, 1, 31).unwrap(),
        expiry_date: Some(NaiveDate::from_ymd_opt(2030, 1, 31).unwrap()),
        issue_date: Some(NaiveDate::from_ymd_opt(2022, 3, 4).unwrap()),
        jurisdiction: Some("CA".into()),
        sex: Some(Sex::Female),
        country: Some(AamvaCountry::Usa),
        street: Some("123 MAIN ST".into()),
        city: Some("SACRAMENTO".into()),
        postal_code: Some("958140000".into()),
    }
}

pub(super) fn iin() -> Iin {
    Iin::parse("636014").unwrap()
}

/// `symbol` pasted on a light, slightly noisy `width` x `height` canvas at (`left`, `top`).
fn capture(symbol: &GrayImage, width: u32, height: u32, left: u32, top: u32) -> GrayImage {
    let mut seed = 0x2545_f491_u32;
    let mut canvas = GrayImage::from_fn(width, height, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        Luma([225 + (seed % 24) as u8])
    });
    image::imageops::overlay(&mut canvas, symbol, left.into(), top.into());
    canvas
}

fn through_jpeg(image: &GrayImage, quality: u8) -> DynamicImage {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality).encode_image(image).unwrap();
    image::load_from_memory(&bytes).unwrap()
}

fn licence_back() -> (String, GrayImage) {
    let text = aamva_text(&iin(), &licence_fields());
    let symbol = encode_pdf417(&text, 900, 320).unwrap();
    (text, capture(&symbol, 1200, 800, 150, 300))
}

#[test]
fn aamva_licence_back_survives_a_jpeg_capture_and_reads_back_to_the_same_fields() {
    let (text, back) = licence_back();
    // Each quality rings differently around the bars; rxing's local binarizer alone misses
    // some of them.
    for quality in [60, 75, 80, 85, 95] {
        let barcodes = decode(&through_jpeg(&back, quality));
        assert_eq!(barcodes.len(), 1, "JPEG quality {quality}");
        assert_eq!(barcodes[0].format, BarcodeFormat::Pdf417);
        assert!(barcodes[0].text == text, "JPEG quality {quality}: the payload differs from the encoded one");
    }
    let barcodes = decode(&through_jpeg(&back, 85));
    let aamva = parse_aamva(&barcodes[0].text).unwrap();
    assert_eq!(aamva.fields, licence_fields());
    assert_eq!(aamva.header, AamvaHeader { iin: iin(), version: 10, jurisdiction_version: Some(0) });
    let doc = aamva.to_extracted();
    assert_eq!(doc.kind, Some(DocumentKind::DriverLicence));
    assert_eq!(doc.given_names.as_deref(), Some("JANE MARY ANN"));
    assert_eq!(doc.issuing_country.as_deref(), Some("USA"));
}

#[test]
fn a_sideways_licence_back_decodes() {
    let (text, back) = licence_back();
    let turned =
        [image::imageops::rotate90(&back), image::imageops::rotate180(&back), image::imageops::rotate270(&back)];
    for turned in turned {
        let barcodes = decode(&through_jpeg(&turned, 85));
        assert_eq!(barcodes.len(), 1);
        assert!(barcodes[0].text == text);
    }
}

#[test]
fn a_qr_code_decodes() {
    let text = "https://verify.example/identity/2f1c?lang=en";
    let symbol = encode_qr(text, 300).unwrap();
    assert_eq!(symbol.dimensions(), (300, 300));
    let barcodes = decode(&through_jpeg(&capture(&symbol, 900, 700, 420, 200), 85));
    assert_eq!(barcodes, vec![Barcode { format: BarcodeFormat::Qr, text: text.into() }]);
}

#[test]
fn a_document_with_both_kinds_yields_both() {
    let (text, mut back) = licence_back();
    let qr = encode_qr("QR-PAYLOAD-1", 160).unwrap();
    image::imageops::overlay(&mut back, &qr, 40, 40);
    let mut formats =
        decode(&DynamicImage::ImageLuma8(back)).into_iter().map(|b| (b.format, b.text)).collect::<Vec<_>>();
    formats.sort_by_key(|(f, _)| *f as u8);
    assert_eq!(formats, vec![(BarcodeFormat::Pdf417, text), (BarcodeFormat::Qr, "QR-PAYLOAD-1".into())]);
}

#[test]
fn a_large_photo_is_scaled_down_and_still_decodes() {
    let text = aamva_text(&iin(), &licence_fields());
    let symbol = encode_pdf417(&text, 2700, 960).unwrap();
    let barcodes = decode(&DynamicImage::ImageLuma8(capture(&symbol, 3600, 2400, 450, 900)));
    assert_eq!(barcodes.len(), 1);
    assert!(barcodes[0].text == text);
}

#[test]
fn garbage_and_degenerate_images_yield_no_barcodes() {
    let noise = image::load_from_memory(&crate::testing::noisy_png(640, 400)).unwrap();
    assert!(decode(&noise).is_empty());
    let degenerate = [
        DynamicImage::new_luma8(0, 0),
        DynamicImage::new_luma8(1, 1),
        DynamicImage::new_rgb8(20, 2000),
        DynamicImage::ImageLuma8(GrayImage::from_pixel(300, 300, Luma([255]))),
        DynamicImage::ImageLuma8(GrayImage::from_fn(300, 300, |x, _| Luma([if x % 2 == 0 { 0 } else { 255 }]))),
    ];
    for image in degenerate {
        assert!(decode(&image).is_empty(), "{}x{}", image.width(), image.height());
    }
}

#[test]
fn a_cropped_half_barcode_yields_nothing() {
    let (_, back) = licence_back();
    let half = image::imageops::crop_imm(&back, 0, 0, 600, 800).to_image();
    assert!(decode(&DynamicImage::ImageLuma8(half)).is_empty());
}

#[test]
fn encoders_refuse_sizes_the_symbol_does_not_fit() {
    let text = aamva_text(&iin(), &licence_fields());
    assert!(matches!(encode_pdf417(&text, 120, 40), Err(BarcodeError::TooSmall { format: BarcodeFormat::Pdf417, .. })));
    assert!(matches!(encode_qr(&text, 30), Err(BarcodeError::TooSmall { format: BarcodeFormat::Qr, .. })));
    assert_eq!(encode_qr("", 100), Err(BarcodeError::Encode(BarcodeFormat::Qr)));
    let image = encode_pdf417(&text, 900, 320).unwrap();
    assert_eq!(image.dimensions(), (900, 320));
    assert!(image.pixels().any(|p| p.0[0] == 0) && image.pixels().any(|p| p.0[0] == 255));
}
