//! The handoff link as a QR code, drawn on the server as SVG (no script, no image request).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG QR code of `text` (medium error correction: survives a glossy screen's glare).
pub fn svg(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_handoff_link_fits_in_a_small_code() {
        let url = format!("https://verify.example.com/h/{}", "a".repeat(65));
        let svg = super::svg(&url).unwrap();
        assert!(svg.contains("<svg") && svg.contains("viewBox"), "{svg}");
        assert!(!svg.contains("style="), "no inline style for the CSP");
        assert!(svg.len() < 20_000, "{} bytes", svg.len());
    }
}
