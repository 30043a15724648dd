//! The QR codes printed on fieldlead's documents: the transfer form's (lead and
//! manifest hash) and an issued notice's (document and data hash). One look for
//! both, so a reader that scans one scans the other.

use crate::error::FormError;

/// The code as an SVG image, for a template to place at any size: error
/// correction level M (a creased or stamped-over copy still reads) and a quiet
/// zone, so a scanner finds it next to printed text.
pub(crate) fn qr_svg(text: &str) -> Result<Vec<u8>, FormError> {
    let qr = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| FormError::QrCode(e.to_string()))?;
    let svg = qr
        .render::<qrcode::render::svg::Color>()
        .quiet_zone(true)
        .min_dimensions(240, 240)
        .build();
    Ok(svg.into_bytes())
}
