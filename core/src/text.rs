//! Plain renderings for the lines the core shows people (trace lines, evidence, errors,
//! verdicts): a quoted string and a list.
//!
//! No text a user or a trace reads goes through `{:?}` on a type of the core: its
//! output is Rust syntax (`Some(3)`, `ClientApi { target_is_zoolab: true }`).

use std::fmt;

/// A string in double quotes, with `"`, `\`, control and non-printable characters
/// escaped (`"a\nb"`): the text of `{:?}` on a `str`, which it calls. (Written out by
/// hand it was 667 bytes more of wasm; `str`'s `Debug` is in the bundle anyway.)
#[derive(Clone, Copy)]
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

/// Items written one after the other with `sep` between them (`1, 2, 3`).
pub struct Joined<'a, T>(pub &'a [T], pub &'static str);

impl<T: fmt::Display> fmt::Display for Joined<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_is_the_text_of_debug() {
        for s in [
            "",
            "plain",
            "it's",
            "a \"quote\" and a \\",
            "tab\tnew\nline\rcr",
            "\u{0}\u{7}\u{1b}\u{7f}",
            "é ü ß 😀 中文",
            "\u{301}combining first",
            "x\u{301}\u{200b}\u{feff}\u{a0}",
            "\u{10ffff}\u{e000}",
        ] {
            assert_eq!(Quoted(s).to_string(), format!("{s:?}"), "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn quoted_is_the_text_of_debug_for_any_string(s in "\\PC*|.*|[\\x00-\\x7f]*") {
            proptest::prop_assert_eq!(Quoted(&s).to_string(), format!("{s:?}"));
        }
    }

    #[test]
    fn joined_separates() {
        assert_eq!(Joined(&[1, 2, 3], ", ").to_string(), "1, 2, 3");
        assert_eq!(Joined::<u8>(&[], ", ").to_string(), "");
    }
}
