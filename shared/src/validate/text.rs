//! Rules for the free text a merchant writes (`title`, `description`): shown to buyers exactly as
//! written, so it is never trimmed or normalised, only refused when it would show nothing or hide
//! something.

use super::Params;
use crate::domain::error::ApiError;
use serde_json::Value;

/// Longest `title`, in Unicode scalar values (a Thai letter and each of its marks count one each).
pub const MAX_TITLE_CHARS: usize = 255;
/// Longest `description`, in Unicode scalar values.
pub const MAX_DESCRIPTION_CHARS: usize = 1_024;

/// Whether `c` shows nothing on its own: format characters (zero-width space, joiners, direction
/// marks and isolates, word joiner, byte-order mark, soft hyphen, tags), variation selectors, the
/// combining grapheme joiner, and the Hangul fillers and braille blank that render as empty space.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{2800}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether `text` would show a buyer nothing: empty, or only whitespace and invisible characters.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || is_invisible(c))
}

/// A required text field: a string, not blank, at most `max` characters, without control
/// characters other than tab and line breaks. Returned exactly as given.
pub(super) fn parse_text(params: &Params, name: &str, max: usize) -> Result<String, ApiError> {
    let text = match params.get(name) {
        None => return Err(ApiError::BadRequest(format!("{name} is required"))),
        Some(Value::String(s)) => s,
        Some(_) => return Err(ApiError::BadRequest(format!("{name} must be a string"))),
    };
    if is_blank(text) {
        return Err(ApiError::BadRequest(format!(
            "{name} must not be blank (whitespace and invisible characters alone count as blank)"
        )));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(ApiError::BadRequest(format!(
            "{name} must be at most {max} characters (got {chars})"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ApiError::BadRequest(format!(
            "{name} must not contain control characters"
        )));
    }
    Ok(text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: Value, max: usize) -> Result<String, ApiError> {
        parse_text(&Params::from_value(json!({ "t": value })), "t", max)
    }

    #[test]
    fn invisible_or_empty_text_is_blank() {
        for blank in [
            "",
            " ",
            "\t\r\n",
            "\u{3000}",
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
            "\u{00AD}",
            "\u{202E}\u{2066}\u{2069}",
            " \u{200E}\u{200F} ",
            "\u{3164}\u{115F}\u{FFA0}\u{2800}",
            "\u{FE0F}\u{034F}",
            "\u{E0001}\u{E0041}",
        ] {
            assert!(is_blank(blank), "{blank:?} should be blank");
            let err = text(json!(blank), 10).unwrap_err();
            assert!(err.message().contains("must not be blank"), "{blank:?}");
        }
    }

    #[test]
    fn visible_text_with_invisible_characters_inside_is_kept_exactly() {
        // A family emoji is held together by zero-width joiners; a Thai word may carry a
        // zero-width space as a word break hint.
        for kept in [
            "👨\u{200D}👩\u{200D}👧",
            "ค่า\u{200B}อาหาร",
            "\u{200B}x",
            "ก",
            "e\u{301}",
        ] {
            assert!(!is_blank(kept), "{kept:?}");
            assert_eq!(text(json!(kept), 10).unwrap(), kept);
        }
    }

    #[test]
    fn length_is_counted_in_characters_up_to_and_including_the_maximum() {
        assert!(text(json!("ก".repeat(5)), 5).is_ok());
        let err = text(json!("ก".repeat(6)), 5).unwrap_err();
        assert!(err.message().contains("at most 5 characters (got 6)"));
    }

    #[test]
    fn control_characters_other_than_tab_and_line_breaks_are_refused() {
        assert!(text(json!("a\tb\r\nc"), 10).is_ok());
        for bad in ["a\u{0}b", "a\u{7}", "a\u{1B}[31m", "a\u{85}"] {
            let err = text(json!(bad), 10).unwrap_err();
            assert!(err.message().contains("control characters"), "{bad:?}");
        }
    }

    #[test]
    fn text_must_be_a_present_string() {
        assert!(
            text(Value::Null, 10)
                .unwrap_err()
                .message()
                .contains("t is required")
        );
        assert!(
            text(json!(5), 10)
                .unwrap_err()
                .message()
                .contains("t must be a string")
        );
    }
}
