//! Plain renderings for the lines the core shows people (trace lines, evidence, errors,
//! verdicts): a quoted string and a list, without Rust's `{:?}`.
//!
//! No text a user or a trace reads goes through `Debug`: its output is Rust syntax
//! (`Some(3)`, `ClientApi { target_is_zoolab: true }`), and the page is built with
//! `-Zfmt-debug=none`, which prints nothing for `{:?}`.

use std::fmt;

/// A string in double quotes, with `"`, `\`, control and non-printable characters
/// escaped: exactly the text of `{:?}` on a `str` (`"a\nb"`), without `Debug`.
#[derive(Clone, Copy)]
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        let mut rest = self.0;
        // Runs of printable ASCII as they are; every other character as `char::escape_debug`
        // has it, except that `str`'s `Debug` leaves a single quote alone.
        while let Some(at) = rest.bytes().position(|b| !(0x20..=0x7e).contains(&b) || b == b'\\' || b == b'"')
        {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            match c {
                '\'' => f.write_char(c)?,
                _ => write!(f, "{}", c.escape_debug())?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)?;
        f.write_char('"')
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
