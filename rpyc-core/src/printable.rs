//! [`Printable`]: text that came from a peer, made safe to show on a terminal.
//!
//! Exception messages, remote `str()`/`repr()`, type names and attribute names are chosen by
//! the peer. Printed as they are, the control characters in them act on the reader's terminal:
//! an escape sequence can retitle the window, clear the screen, move the cursor or hide what
//! follows, and a carriage return can overwrite a line. This module owns the one rule every
//! program of this workspace (examples, binaries) follows before it prints such text, so a
//! hostile peer cannot do that; user programs can follow it too.
//!
//! It lives in `rpyc-core` beside [`RemoteException`](crate::RemoteException) and
//! [`Value`](crate::Value), whose text it is mostly applied to, and it needs no socket.

use std::fmt::{self, Write};

/// Shows `T` (anything `Display`: an error, a [`Value`](crate::Value), a `String`) with its
/// control characters escaped as in a Rust string literal (`\u{1b}`, `\r`, `\u{9b}`).
///
/// Escaped: every control character (C0, DEL, C1) except newline and tab (so a traceback keeps
/// its lines), and the Unicode bidirectional overrides and isolates (which reorder what is
/// shown). Everything else, non-ASCII text included, is written as is. Formatting streams: no
/// copy of the text is made.
///
/// ```
/// use rpyc::Printable;
/// let from_peer = "done\x1b]0;owned\x07\x1b[2J";
/// assert_eq!(
///     Printable(from_peer).to_string(),
///     r"done\u{1b}]0;owned\u{7}\u{1b}[2J"
/// );
/// // Newlines, tabs and other scripts are kept.
/// assert_eq!(Printable("línea 1\n\tdos").to_string(), "línea 1\n\tdos");
/// let err = rpyc::RemoteException::value_error("bad\rname");
/// println!("{}", Printable(&err)); // what the examples do with every peer text
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Printable<T>(pub T);

impl<T: fmt::Display> fmt::Display for Printable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(Escaping(f), "{}", self.0)
    }
}

/// Whether `c` is written escaped.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A writer that escapes what [`is_unsafe`] names on its way to `f`.
struct Escaping<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Write for Escaping<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(i) = rest.find(is_unsafe) {
            self.0.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            write!(self.0, "{}", c.escape_default())?;
            rest = &rest[i + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(s: &str) -> String {
        Printable(s).to_string()
    }

    #[test]
    fn terminal_controls_are_escaped() {
        // Retitle (OSC 0 … BEL), clear screen (CSI 2J), the 8-bit CSI, a carriage return.
        assert_eq!(shown("\x1b]0;hi\x07"), r"\u{1b}]0;hi\u{7}");
        assert_eq!(shown("\x1b[2J\x1b[H"), r"\u{1b}[2J\u{1b}[H");
        assert_eq!(shown("a\u{9b}2Jb"), r"a\u{9b}2Jb");
        assert_eq!(shown("fake\rreal"), r"fake\rreal");
        assert_eq!(shown("\0\x08\x7f"), r"\u{0}\u{8}\u{7f}");
        assert_eq!(shown("abc\u{202e}fdp.exe"), r"abc\u{202e}fdp.exe");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        for s in [
            "",
            "plain",
            "two\nlines\tand a tab",
            "naïve 日本語 🦀",
            r"back\slash",
        ] {
            assert_eq!(shown(s), s);
        }
    }

    #[test]
    fn any_display_is_escaped_as_it_is_written() {
        let err = crate::RemoteException::value_error("bad\x1b[31m");
        let text = Printable(&err).to_string();
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains(r"bad\u{1b}[31m"), "{text}");
        let v = crate::Value::str("x\x1by");
        assert_eq!(Printable(&v).to_string(), r"x\u{1b}y");
    }
}
