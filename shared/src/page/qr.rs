//! QR codes in pages: the code of a `payment_uri`, drawn as SVG (a merchant opens the link on a
//! desktop and shows the code to a buyer's phone), and a PromptPay charge's code as its gateway
//! gives it ([`scannable`]), made safe to put inline.
//!
//! # A gateway's image in the page
//!
//! Omise serves a PromptPay charge's QR code as an image behind the merchant's secret key, so the
//! service downloads it (the buyer's browser loads nothing from Omise) and puts it in the page
//! itself. Those are bytes from another party, inline in a page on the service's origin, so
//! they are never copied: an SVG is parsed (no DTD, so no entities) and only its shapes are
//! written again, by this code, from an allowlist of elements (`svg`, `g`, `rect`, `path`,
//! `circle`, `ellipse`, `line`, `polyline`, `polygon`) and of presentation attributes whose
//! values hold nothing but numbers, colours and path commands. Scripts, text, styles, links,
//! images, `use`, `foreignObject`, event handlers, `url(…)` references and anything namespaced
//! are dropped, with what they hold. A PNG (Omise's older answer) is checked by its signature and
//! shown as a `data:` image, which cannot run anything and which the page's policy allows.

use crate::processor::ScannableCode;
use base64::Engine as _;
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

/// A PromptPay charge's QR code as markup safe to put in a page, `label` its accessible name;
/// `None` when there is nothing that can be shown.
pub fn scannable(code: &ScannableCode, label: &str) -> Option<String> {
    match code {
        ScannableCode::Payload(payload) => svg(payload, label),
        ScannableCode::Image(image) if image.starts_with(PNG_SIGNATURE) => Some(format!(
            "<img class=\"qr-image\" alt=\"{}\" src=\"data:image/png;base64,{}\">",
            super::html::escape(label),
            base64::engine::general_purpose::STANDARD.encode(image)
        )),
        ScannableCode::Image(image) => redraw_svg(std::str::from_utf8(image).ok()?, label),
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";
/// Shapes drawn again, and the groups that hold them.
const SHAPES: &[&str] = &[
    "g", "rect", "path", "circle", "ellipse", "line", "polyline", "polygon",
];
/// Presentation attributes kept on a shape (their values checked by [`safe_value`]).
const ATTRIBUTES: &[&str] = &[
    "x",
    "y",
    "width",
    "height",
    "rx",
    "ry",
    "cx",
    "cy",
    "r",
    "x1",
    "y1",
    "x2",
    "y2",
    "points",
    "d",
    "fill",
    "fill-rule",
    "fill-opacity",
    "clip-rule",
    "stroke",
    "stroke-width",
    "stroke-opacity",
    "opacity",
    "transform",
    "shape-rendering",
];
/// Bounds on what is drawn again: a QR code is a few hundred shapes, a few levels deep.
const MAX_SHAPES: usize = 20_000;
const MAX_DEPTH: usize = 16;

/// A value made only of numbers, colours, keywords and path commands: nothing that refers to
/// anything (`url(…)`, `javascript:`), nothing that ends the attribute.
fn safe_value(value: &str) -> bool {
    value.len() <= 200_000
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b' ' | b'\t'
                        | b'\n'
                        | b'\r'
                        | b'.'
                        | b','
                        | b'-'
                        | b'+'
                        | b'#'
                        | b'%'
                        | b'('
                        | b')'
                )
        })
        && !value.to_ascii_lowercase().contains("url")
}

/// The shapes of `source`, an SVG document, written again from the allowlists above.
fn redraw_svg(source: &str, label: &str) -> Option<String> {
    let document = roxmltree::Document::parse(source).ok()?;
    let root = document.root_element();
    if root.tag_name().name() != "svg"
        || root
            .tag_name()
            .namespace()
            .is_some_and(|n| n != SVG_NAMESPACE)
    {
        return None;
    }
    let view_box = match root.attribute("viewBox") {
        Some(view_box) => view_box.to_owned(),
        None => format!(
            "0 0 {} {}",
            root.attribute("width")?,
            root.attribute("height")?
        ),
    };
    let numbers: Vec<f64> = view_box
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    if numbers.len() != 4
        || numbers.iter().any(|n| !n.is_finite())
        || numbers[2] <= 0.0
        || numbers[3] <= 0.0
    {
        return None;
    }
    let mut out = format!(
        "<svg xmlns=\"{SVG_NAMESPACE}\" viewBox=\"{} {} {} {}\" role=\"img\" aria-label=\"{}\">",
        numbers[0],
        numbers[1],
        numbers[2],
        numbers[3],
        super::html::escape(label)
    );
    let mut shapes = 0;
    redraw_children(root, 0, &mut shapes, &mut out)?;
    out.push_str("</svg>");
    // Nothing was drawn: no code to scan.
    (shapes > 0).then_some(out)
}

fn redraw_children(
    parent: roxmltree::Node<'_, '_>,
    depth: usize,
    shapes: &mut usize,
    out: &mut String,
) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    for node in parent.children().filter(roxmltree::Node::is_element) {
        let tag = node.tag_name();
        let Some(&name) = SHAPES.iter().find(|s| **s == tag.name()) else {
            continue;
        };
        if tag.namespace().is_some_and(|n| n != SVG_NAMESPACE) {
            continue;
        }
        *shapes += 1;
        if *shapes > MAX_SHAPES {
            return None;
        }
        out.push('<');
        out.push_str(name);
        for attribute in node.attributes() {
            let kept = attribute.namespace().is_none()
                && ATTRIBUTES.contains(&attribute.name())
                && safe_value(attribute.value());
            if kept {
                let _ = write!(
                    out,
                    " {}=\"{}\"",
                    attribute.name(),
                    super::html::escape(attribute.value())
                );
            }
        }
        if name == "g" {
            out.push('>');
            redraw_children(node, depth + 1, shapes, out)?;
            out.push_str("</g>");
        } else {
            out.push_str("/>");
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateways_svg_keeps_its_shapes_and_nothing_that_runs_refers_or_reads() {
        let hostile = r##"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     viewBox="0 0 29 29" width="290" onload="alert(1)" style="x">
  <script>alert("script")</script>
  <style>rect { fill: url(https://tracker.example/a) }</style>
  <rect width="29" height="29" fill="#fff" onclick="alert(2)" style="a" class="c"/>
  <g transform="translate(1 1)" fill="url(#grad)">
    <path d="M0 0h7v7h-7z" fill="#000" xlink:href="https://x.example/"/>
    <a href="https://phish.example/"><rect width="1" height="1"/></a>
  </g>
  <image href="https://tracker.example/pixel.png" width="1" height="1"/>
  <use href="#x"/>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
  <text x="2" y="16">STAND-IN</text>
  <circle cx="5" cy="5" r="1" fill="javascript:alert(3)"/>
</svg>"##;
        let drawn = scannable(
            &ScannableCode::Image(hostile.as_bytes().to_vec()),
            "QR \"<x>\"",
        )
        .expect("the shapes are drawn");
        assert_eq!(
            drawn,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 29 29\" role=\"img\" \
             aria-label=\"QR &quot;&lt;x&gt;&quot;\"><rect width=\"29\" height=\"29\" fill=\"#fff\"/>\
             <g transform=\"translate(1 1)\"><path d=\"M0 0h7v7h-7z\" fill=\"#000\"/></g><circle \
             cx=\"5\" cy=\"5\" r=\"1\"/></svg>"
        );
    }

    #[test]
    fn what_is_not_an_svg_of_shapes_shows_nothing() {
        let image = |s: &str| scannable(&ScannableCode::Image(s.as_bytes().to_vec()), "QR");
        // A DTD (entities, external or expanding) is refused outright.
        assert_eq!(
            image(
                r#"<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>"#
            ),
            None
        );
        assert_eq!(image("<html><body>not an image</body></html>"), None);
        assert_eq!(image("not xml at all"), None);
        assert_eq!(
            image(
                r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><script>1</script></svg>"#
            ),
            None,
            "nothing left to draw"
        );
        assert_eq!(
            image(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 -1 1"><rect/></svg>"#),
            None
        );
        let deep = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">{}<rect/>{}</svg>"#,
            "<g>".repeat(40),
            "</g>".repeat(40)
        );
        assert_eq!(image(&deep), None);
        assert!(scannable(&ScannableCode::Image(vec![0xff; 10]), "QR").is_none());
    }

    #[test]
    fn a_png_is_shown_as_a_data_image_and_a_payload_is_drawn() {
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend_from_slice(b"rest");
        let shown = scannable(&ScannableCode::Image(png), "QR <x>").unwrap();
        assert!(shown.starts_with(
            "<img class=\"qr-image\" alt=\"QR &lt;x&gt;\" src=\"data:image/png;base64,iVBORw0KGg"
        ));
        let drawn = scannable(&ScannableCode::Payload("TEST".into()), "QR").unwrap();
        assert_eq!(drawn, svg("TEST", "QR").unwrap());
    }

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
