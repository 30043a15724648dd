//! Enrolment QR codes: in the terminal, as a PNG file, and as SVG for the console.

use std::path::Path;

use qrcode::render::{svg, unicode};
use qrcode::QrCode;

use crate::error::BureauError;

fn code(text: &str) -> Result<QrCode, BureauError> {
    QrCode::new(text.as_bytes()).map_err(|e| BureauError::Internal(format!("QR: {e}")))
}

/// Half-height block characters: prints in any UTF-8 terminal.
pub fn terminal(text: &str) -> Result<String, BureauError> {
    Ok(code(text)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

pub fn write_png(text: &str, path: &Path) -> Result<(), BureauError> {
    code(text)?
        .render::<image::Luma<u8>>()
        .min_dimensions(480, 480)
        .build()
        .save(path)
        .map_err(|e| BureauError::Internal(format!("写入二维码图片 {} 失败：{e}", path.display())))
}

pub fn svg(text: &str) -> Result<String, BureauError> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn png_is_written_and_decodes_as_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("qr.png");
        super::write_png("{\"kind\":\"fieldlead-enrolment\"}", &p).unwrap();
        let img = image::open(&p).unwrap();
        assert!(img.width() >= 480);
        assert!(super::terminal("x").unwrap().contains('█'));
        assert!(super::svg("x").unwrap().starts_with("<?xml"));
    }
}
