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
    let (mut line, mut line_start) = (1u32, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = find(bytes, i, b"\n").unwrap_or(bytes.len());
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = block_comment_end(bytes, i);
                line += count_newlines(&bytes[i..end]);
                line_start = last_line_start(bytes, i, end, line_start);
                i = end;
                continue;
            }
            b'"' => {
                let end = string_end(bytes, i + 1);
                line += count_newlines(&bytes[i..end]);
                line_start = last_line_start(bytes, i, end, line_start);
                i = end;
                continue;
            }
            b'r' if raw_string_start(bytes, i).is_some() => {
                let end = raw_string_start(bytes, i).map_or(bytes.len(), |(hashes, body)| {
                    raw_string_end(bytes, body, hashes)
                });
                line += count_newlines(&bytes[i..end]);
                line_start = last_line_start(bytes, i, end, line_start);
                i = end;
                continue;
            }
            b'\'' => {
                i = char_literal_end(bytes, i).unwrap_or(i + 1);
                continue;
            }
            b'(' | b'[' | b'{' => {
                brackets += 1;
                if b == b'{' {
                    angles = 0;
                }
            }
            b')' | b']' | b'}' => {
                brackets = brackets.saturating_sub(1);
                if b == b'}' {
                    angles = 0;
                }
            }
            b';' => angles = 0,
            b'<' => angles += 1,
            b'>' if i > 0 && matches!(bytes[i - 1], b'-' | b'=') => {}
            b'>' => angles = angles.saturating_sub(1),
            _ => {}
        }
        if brackets + 2 * angles > limit {
            let column = text[line_start..i].chars().count() + 1;
            return Some((line, u32::try_from(column).unwrap_or(u32::MAX)));
        }
        i += 1;
    }
    None
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

fn count_newlines(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u32::MAX)
}

/// The start of the line `end` is on, given the span `start..end` skipped over.
fn last_line_start(bytes: &[u8], start: usize, end: usize, current: usize) -> usize {
    bytes[start..end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(current, |p| start + p + 1)
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
