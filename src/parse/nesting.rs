//! How deeply a file nests, measured before syn sees it.
//!
//! syn parses by recursive descent, one or more stack frames per level of nesting, and an
//! overflow aborts the whole process. On the scan's workers (1 GiB stacks), generic arguments
//! nested 200,000 deep overflowed (100,000 did not); parentheses overflowed at 400,000, while
//! blocks, `if`s, arrays, struct literals, closures and macro bodies all passed at 100,000.
//! Nesting needs no brackets: prefix operators (`!!!x`, `&&&x`, `---x`), `return return x`,
//! `a = a = x`, `..=..=x` and `|| || x` recurse in the parser, and left-deep chains (`a + b + ..`,
//! `x()()()`, `x.f().g()`, `x as T as U`, `x??`) build trees as deep as they are long, which
//! lowering, the analysis and dropping the tree recurse through. In a debug build a closure or a
//! range level took about 11 KB of stack (100,000 of them overflowed a worker), a `!` about 5 KB.
//!
//! A file nested deeper than [`MAX_NESTING`] is skipped as a parse error instead: a cheap
//! lexical pass (skipping comments, strings and character literals) counts brackets, generic
//! arguments (twice, since they cost about twice the stack) and operators (twice, for the same
//! reason). Operators count within one element of the innermost bracket: a `,` or `;` starts
//! the next element, and a closing bracket gives back the count its group started with (a
//! bracketed group is one operand), so only operators that can nest one inside the other add up.

/// Deepest nesting idflow parses, in brackets (a generic argument or an operator counts two):
/// four times below the smallest bracket depth that overflowed, five times the 10,000 levels
/// the hostile tests require, and 25,000 operator levels take at most about 275 MB of a
/// worker's 1 GiB stack.
pub const MAX_NESTING: usize = 50_000;

/// How much stack one operator level costs, relative to a bracket.
const OPERATOR_WEIGHT: usize = 2;

/// The line and column (1-based) where `text` first nests deeper than `limit` (see
/// [`MAX_NESTING`] for the count), if it does.
///
/// `<` is counted from its statement's start (a `;`, `{` or `}` resets it) and `>` takes one off,
/// so comparisons and shifts can only over-count within one statement; `->` and `=>` are not
/// closers.
#[must_use]
pub fn too_deep(text: &str, limit: usize) -> Option<(u32, u32)> {
    let bytes = text.as_bytes();
    let mut depth = Depth::default();
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
                i = depth.word(bytes, i);
            }
            b'a' | b'b' | b'y' => i = depth.word(bytes, i),
            b'\'' => {
                i = char_literal_end(bytes, i).unwrap_or(i + 1);
                continue;
            }
            b'(' | b'[' | b'{' => depth.open(bytes, i),
            b')' | b']' | b'}' => depth.close(b),
            b',' => depth.next_element(),
            b';' => {
                depth.angles = 0;
                depth.next_element();
            }
            b'<' => depth.angles += 1,
            b'>' if i > 0 && matches!(bytes[i - 1], b'-' | b'=') => {}
            b'>' => depth.angles = depth.angles.saturating_sub(1),
            // `vec![..]`, `m!(..)`: a macro call, not a negation (its brackets count).
            b'!' if matches!(bytes.get(i + 1), Some(b'(' | b'[' | b'{')) => {}
            _ => i = depth.operator(bytes, i),
        }
        if depth.cost() > limit {
            return Some(line_and_column(text, i));
        }
        i += 1;
    }
    None
}

/// What [`too_deep`] has counted so far.
#[derive(Default)]
struct Depth {
    /// Open brackets.
    brackets: usize,
    /// Open generic arguments (`<` since the statement began, less `>`).
    angles: usize,
    /// Operators that may nest here: those of the current element of every open bracket.
    operators: usize,
    /// Per open bracket, `operators` when it opened.
    groups: Vec<usize>,
}

impl Depth {
    fn cost(&self) -> usize {
        self.brackets + 2 * self.angles + OPERATOR_WEIGHT * self.operators
    }

    /// An opening bracket at `at`; one right after a closing one (`x()()`, `a[0][1]`) is a call
    /// or an index on the group before, a level of nesting the bracket count does not see.
    fn open(&mut self, bytes: &[u8], at: usize) {
        if at > 0 && matches!(bytes[at - 1], b')' | b']') {
            self.operators += 1;
        }
        if bytes[at] == b'{' {
            self.angles = 0;
        }
        self.brackets += 1;
        self.groups.push(self.operators);
    }

    fn close(&mut self, b: u8) {
        self.brackets = self.brackets.saturating_sub(1);
        if let Some(before) = self.groups.pop() {
            self.operators = before;
        }
        if b == b'}' {
            self.angles = 0;
        }
    }

    /// A `,` or `;`: the operators of the element that ended nest in nothing that follows.
    fn next_element(&mut self) {
        self.operators = self.groups.last().copied().unwrap_or(0);
    }

    /// The operator starting at `at` (one token: `..=`, `||` and `+=` count once); returns
    /// the index of its last byte.
    fn operator(&mut self, bytes: &[u8], at: usize) -> usize {
        let len = OPERATORS
            .iter()
            .find(|op| bytes[at..].starts_with(op))
            .map_or(1, |op| op.len());
        if !NOT_NESTING.iter().any(|op| bytes[at..].starts_with(op)) {
            self.operators += 1;
        }
        at + len - 1
    }

    /// The word starting at `at`: `return`, `break`, `yield` and `as` nest like operators;
    /// returns the index of its last byte.
    fn word(&mut self, bytes: &[u8], at: usize) -> usize {
        let len = bytes[at..]
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
            .unwrap_or(bytes.len() - at);
        let after_ident =
            at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if !after_ident && KEYWORDS.contains(&&bytes[at..at + len]) {
            self.operators += 1;
        }
        at + len - 1
    }
}

/// Operator tokens of more than one byte, longest first.
const OPERATORS: [&[u8]; 22] = [
    b"..=", b"...", b"<<=", b">>=", b"||", b"&&", b"==", b"!=", b"<=", b">=", b"+=", b"-=", b"*=",
    b"/=", b"%=", b"^=", b"&=", b"|=", b"..", b"::", b"->", b"=>",
];

/// Punctuation that separates rather than nests.
const NOT_NESTING: [&[u8]; 6] = [b"::", b"->", b"=>", b":", b"#", b"@"];

/// Keywords that take an expression after them or chain like a binary operator.
const KEYWORDS: [&[u8]; 4] = [b"return", b"break", b"yield", b"as"];

/// The bytes [`too_deep`] looks at; everything else is skipped.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    // Brackets, operators, the quotes and comment starts to skip, and the first letters of
    // the keywords that nest (`r` also starts raw strings).
    let special = b"/\"'([{)]};,<>!&*-+=|.^%?$:#@rbya";
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
        // The `=` counts as an operator (two).
        assert_eq!(too_deep("type A = B<C<D<E>>>;", 7), Some((1, 15)));
        assert_eq!(too_deep("type A = B<C<D<E>>>;", 8), None);
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
        // One bracket and the `=` and `&` of one statement.
        assert_eq!(too_deep(text, 5), None);
        assert_eq!(too_deep("fn f() {\n    g(((1)))\n}", 3), Some((2, 8)));
    }

    /// Nesting without brackets: prefix operators, keywords that take an expression, and
    /// left-deep chains of binary operators, calls, methods and casts.
    #[test]
    fn counts_operator_chains() {
        for chain in [
            "!".repeat(30),
            "return ".repeat(30),
            "a = ".repeat(30),
            "..=".repeat(30),
            "|| ".repeat(30),
            "&mut ".repeat(30),
        ] {
            let text = format!("fn f() {{ {chain}x }}");
            assert!(too_deep(&text, 60).is_some(), "{chain}");
            assert_eq!(too_deep(&text, 70), None, "{chain}");
        }
        let sum = format!("fn f() -> u8 {{ 1{} }}", " + 1".repeat(35));
        assert!(too_deep(&sum, 60).is_some());
        assert!(too_deep(&format!("fn f() {{ x{} }}", "()".repeat(40)), 60).is_some());
        assert!(too_deep(&format!("fn f() {{ x{} }}", " as u8".repeat(40)), 60).is_some());
    }

    /// Operators of separate elements or statements do not add up; a macro's `!` is no
    /// operator.
    #[test]
    fn operators_of_separate_elements_do_not_add_up() {
        let text = format!("fn f() {{ let a = [{}]; }}", "-1, ".repeat(1000));
        assert_eq!(too_deep(&text, 10), None);
        let text = format!("fn f() {{ {} }}", "a = !b;\n".repeat(1000));
        assert_eq!(too_deep(&text, 10), None);
        let text = format!("fn f() {{ {} }}", "g(a + b) + ".repeat(3) + "1");
        assert_eq!(too_deep(&text, 12), None);
        assert_eq!(too_deep("fn f() { vec![vec![vec![1]]] }", 8), None);
        assert_eq!(
            too_deep("fn f(a: &str) -> bool { let r#as = a; rbreak(as_) }", 8),
            None
        );
    }
}
