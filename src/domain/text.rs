//! Rules for text that identifies things or is handed on: ids and URLs must look like
//! what they show. Control characters break logs and headers; invisible and bidi
//! characters make two different ids (or a hostile URL) look the same on screen.

/// The first control, invisible or bidi-override character in `text`, if any:
/// U+0000–U+001F, U+007F–U+009F, U+200B–U+200F, U+202A–U+202E, U+2060–U+2064,
/// U+2066–U+2069, U+FEFF.
pub fn hidden_character(text: &str) -> Option<char> {
    text.chars().find(|c| {
        matches!(
            c,
            '\u{0}'..='\u{1f}'
                | '\u{7f}'..='\u{9f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
    })
}

/// Why `text` is not acceptable as an id, in words that follow "`field` must ...".
pub fn id_problem(text: &str) -> Option<String> {
    hidden_character(text).map(|c| {
        format!(
            "not contain control or invisible characters (found U+{:04X})",
            u32::from(c)
        )
    })
}

/// An absolute http(s) URL written out plainly: `http://` or `https://`, a host, and
/// nothing a URL parser would quietly drop or rewrite (surrounding spaces, tabs and
/// newlines, backslashes) — the text we store is the text we hand out, so it must mean
/// what it shows.
pub fn is_plain_http_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    let has_scheme = lower.starts_with("http://") || lower.starts_with("https://");
    has_scheme
        && hidden_character(text).is_none()
        && !text.contains(['\\', ' '])
        && url::Url::parse(text)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_range_is_hidden_and_ordinary_text_is_not() {
        for c in [
            '\u{0}', '\u{1f}', '\u{7f}', '\u{9f}', '\u{200b}', '\u{200f}', '\u{202a}', '\u{202e}',
            '\u{2060}', '\u{2064}', '\u{2066}', '\u{2069}', '\u{feff}',
        ] {
            assert_eq!(hidden_character(&format!("a{c}b")), Some(c), "{c:?}");
        }
        for ok in [
            "app-1", "Zoë", "名前", "a b", "\u{2065}", "\u{2070}", "\u{a0}",
        ] {
            assert_eq!(hidden_character(ok), None, "{ok:?}");
        }
        assert!(id_problem("x\u{202e}").unwrap().contains("U+202E"));
    }

    #[test]
    fn only_plain_absolute_http_urls_pass() {
        for ok in [
            "https://t.example/r",
            "http://t.example",
            "HTTPS://t.example/r?x=1#y",
            "https://t.example:8443/a%20b",
        ] {
            assert!(is_plain_http_url(ok), "{ok}");
        }
        for bad in [
            "",
            "/r",
            "//t.example/r",
            "ftp://t.example/r",
            "javascript:alert(1)",
            "https:t.example/r",
            "https:/t.example/r",
            " https://t.example/r",
            "https://t.example/r\n",
            "https://t.exa\tmple/r",
            "https:\\\\t.example\\r",
            "https://t.example/a b",
            "https://t.example/\u{202e}r",
            "https://",
        ] {
            assert!(!is_plain_http_url(bad), "{bad:?}");
        }
    }
}
