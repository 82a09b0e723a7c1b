//! The QR code of a `payment_uri`, as SVG: a merchant opens the link on a desktop and shows the
//! code to a buyer's phone.

use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write;

/// Blank modules around the code, as the QR standard asks, so scanners find its edges.
pub const QUIET_ZONE: usize = 4;

/// `uri` as a QR code in SVG (medium error correction): one square module per unit of the
/// viewBox, dark runs of each row drawn as one rectangle in a single path. `label` is its
/// accessible name (already HTML-safe text is not assumed: it is escaped).
pub fn svg(uri: &str, label: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::with_capacity(width * width);
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == Color::Dark {
                let run = row[x..].iter().take_while(|c| **c == Color::Dark).count();
                let _ = write!(
                    path,
                    "M{} {}h{run}v1h-{run}z",
                    x + QUIET_ZONE,
                    y + QUIET_ZONE
                );
                x += run;
            } else {
                x += 1;
            }
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{label}\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>",
        label = super::html::escape(label),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_uri_draws_a_compact_code() {
        let svg = svg(
            "https://abc123.execute-api.us-east-1.amazonaws.com/pay/0ABCDEFGHIJKLMNOPQR",
            "QR <x>",
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("aria-label=\"QR &lt;x&gt;\""));
        assert!(svg.len() < 8 * 1024, "{} bytes", svg.len());
    }
}
