//! How deeply a file nests, measured before syn sees it.
//!
//! syn parses by recursive descent, one or more stack frames per level of nesting, and an
//! overflow aborts the whole process. On the scan's workers (1 GiB stacks), generic arguments
//! nested 200,000 deep overflowed (100,000 did not); parentheses overflowed at 400,000, while
//! blocks, `if`s, arrays, struct literals, closures and macro bodies all passed at 100,000. A file
//! nested deeper than [`MAX_NESTING`] is skipped as a parse error instead: a cheap lexical pass
//! counts brackets and generic arguments (skipping comments, strings and character literals),
//! a generic argument counting twice since it costs about twice the stack.

/// Deepest nesting idflow parses, in brackets (a generic argument counts two): four times below
/// the smallest depth that overflowed, and five times the 10,000 levels the hostile tests require.
pub const MAX_NESTING: usize = 50_000;

/// The line and column (1-based) where `text` first nests deeper than `limit` (see
/// [`MAX_NESTING`] for the count), if it does.
///
/// `<` is counted from its statement's start (a `;`, `{` or `}` resets it) and `>` takes one off,
/// so comparisons and shifts can only over-count within one statement; `->` and `=>` are not
/// closers.
#[must_use]
pub fn too_deep(text: &str, limit: usize) -> Option<(u32, u32)> {
    let bytes = text.as_bytes();
    let (mut brackets, mut angles) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        // Most bytes are none of the ones that matter: skip them in a tight loop.
        if !SPECIAL[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let b = bytes[i];
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |p| i + p);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(bytes, i);
                continue;
            }
            b'"' => {
                i = string_end(bytes, i + 1);
                continue;
            }
            b'r' => {
                if let Some((hashes, body)) = raw_string_start(bytes, i) {
                    i = raw_string_end(bytes, body, hashes);
                    continue;
                }
            }
            b'\'' => {
                i = char_literal_end(bytes, i).unwrap_or(i + 1);
                continue;
            }
            b'(' | b'[' => brackets += 1,
            b'{' => {
                brackets += 1;
                angles = 0;
            }
            b')' | b']' => brackets = brackets.saturating_sub(1),
            b'}' => {
                brackets = brackets.saturating_sub(1);
                angles = 0;
            }
            b';' => angles = 0,
            b'<' => angles += 1,
            b'>' if i > 0 && matches!(bytes[i - 1], b'-' | b'=') => {}
            b'>' => angles = angles.saturating_sub(1),
            _ => {}
        }
        if brackets + 2 * angles > limit {
            return Some(line_and_column(text, i));
        }
        i += 1;
    }
    None
}

/// The bytes [`too_deep`] looks at; everything else is skipped.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let special = b"/\"r'([{)]};<>";
    let mut k = 0;
    while k < special.len() {
        table[special[k] as usize] = true;
        k += 1;
    }
    table
};

/// 1-based line and column (in characters) of byte `at`.
fn line_and_column(text: &str, at: usize) -> (u32, u32) {
    let before = &text[..at];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// The end of the (nested) block comment starting at `start`.
fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end of a string whose body starts at `body` (after the opening quote).
fn string_end(bytes: &[u8], body: usize) -> usize {
    let mut i = body;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// For `r"`, `r#"`, `br"`... at `at` (the `r`): the number of `#` and where the body starts.
fn raw_string_start(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let preceded_by_ident = at > 0
        && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_')
        && !(bytes[at - 1] == b'b' && (at < 2 || !bytes[at - 2].is_ascii_alphanumeric()));
    if preceded_by_ident {
        return None;
    }
    let hashes = bytes[at + 1..].iter().take_while(|&&b| b == b'#').count();
    (bytes.get(at + 1 + hashes) == Some(&b'"')).then_some((hashes, at + 2 + hashes))
}

fn raw_string_end(bytes: &[u8], body: usize, hashes: usize) -> usize {
    let mut i = body;
    while i < bytes.len() {
        if bytes[i] == b'"'
            && bytes[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&b| b == b'#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    bytes.len()
}

/// The end of a character literal at `at` (`'x'`, `'\n'`, `'\u{1F600}'`); `None` for a lifetime.
fn char_literal_end(bytes: &[u8], at: usize) -> Option<usize> {
    let next = *bytes.get(at + 1)?;
    if next == b'\\' {
        let close = bytes[at + 2..].iter().take(12).position(|&b| b == b'\'')?;
        return Some(at + 2 + close + 1);
    }
    // One character, however many bytes it takes in UTF-8.
    let width = match next {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    (bytes.get(at + 1 + width) == Some(&b'\'')).then_some(at + 2 + width)
}

#[cfg(test)]
mod tests {
    use super::too_deep;

    #[test]
    fn counts_brackets_and_generic_arguments() {
        assert_eq!(too_deep("fn f() { g((1)) }", 2), Some((1, 12)));
        assert_eq!(too_deep("fn f() { g((1)) }", 3), None);
        assert_eq!(too_deep("type A = B<C<D<E>>>;", 5), Some((1, 15)));
        assert_eq!(too_deep("type A = B<C<D<E>>>;", 6), None);
    }

    #[test]
    fn comparisons_and_arrows_do_not_accumulate() {
        let text = "fn f(a: u8) -> bool { a < 1 }\n".repeat(100);
        assert_eq!(too_deep(&text, 4), None);
        assert_eq!(too_deep("fn f() { match x { _ => (), _ => () } }", 3), None);
    }

    #[test]
    fn ignores_brackets_in_comments_strings_and_chars() {
        let text = "// ((((\n/* [[[[ /* nested (( */ */\nfn f() { let s = \"((((\"; let r = r#\"(\"((\"#; let c = '('; let l: &'static str = \"\"; }\n";
        assert_eq!(too_deep(text, 2), None);
        assert_eq!(too_deep("fn f() {\n    g(((1)))\n}", 3), Some((2, 8)));
    }
}
