//! haproxy.cfg cut into lines of words, the way HAProxy's own parser cuts them.
//!
//! Words are separated by spaces and tabs; `#` outside quotes starts a comment. Outside quotes
//! a backslash escapes a space, `#`, `\`, `'` or `"`, and `\n`, `\r`, `\t`, `\xNN` stand for
//! those bytes; before any other character it is kept. Double quotes protect spaces, `#` and
//! `'` and allow the same escapes; single quotes protect everything. Quotes may start or end
//! in the middle of a word (`a"b c"d` is the word `ab cd`).
//!
//! What HAProxy would expand or refuse and the importer cannot read is a [`LexError`]: an
//! environment variable inside double quotes (the importer does not read the environment),
//! an unterminated quote, an escape for a byte outside ASCII (it could not be written to
//! lb.toml as text). Blank and comment-only lines are dropped.

/// One line holding at least one word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Line {
    /// The line number in the file, from 1.
    pub(super) number: usize,
    /// The words, quotes and escapes resolved.
    pub(super) words: Vec<String>,
    /// The line as written, without its comment and surrounding blanks (for the report).
    pub(super) text: String,
}

impl Line {
    /// The word at `index`, or `""` past the end.
    pub(super) fn word(&self, index: usize) -> &str {
        self.words.get(index).map_or("", String::as_str)
    }
}

/// Why a line cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LexError {
    /// The line number in the file, from 1.
    pub(super) number: usize,
    /// The line as written.
    pub(super) text: String,
    /// What is wrong.
    pub(super) reason: &'static str,
}

/// Every non-blank line of `text`, or why it cannot be read.
pub(super) fn lines(text: &str) -> Vec<Result<Line, LexError>> {
    text.lines()
        .enumerate()
        .filter_map(|(index, raw)| {
            let number = index + 1;
            let (words, end) = match split(raw) {
                Ok(split) => split,
                Err(reason) => {
                    let text = raw.trim().to_owned();
                    return Some(Err(LexError {
                        number,
                        text,
                        reason,
                    }));
                }
            };
            let text = raw[..end].trim().to_owned();
            (!words.is_empty()).then_some(Ok(Line {
                number,
                words,
                text,
            }))
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// The words of one line and the byte offset where its comment starts (or its length).
fn split(line: &str) -> Result<(Vec<String>, usize), &'static str> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = Quote::None;
    let mut chars = line.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        match (quote, c) {
            (Quote::Single, '\'') | (Quote::Double, '"') => quote = Quote::None,
            (Quote::Single, c) => word.push(c),
            (Quote::None, '#') => return finish(words, word, in_word, quote, offset),
            (Quote::None, ' ' | '\t') => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (Quote::None, '\'') => {
                quote = Quote::Single;
                in_word = true;
            }
            (Quote::None, '"') => {
                quote = Quote::Double;
                in_word = true;
            }
            (Quote::Double, '$') => {
                return Err("an environment variable, which the importer does not expand");
            }
            (_, '\\') => {
                in_word = true;
                match chars.next() {
                    None => word.push('\\'),
                    Some((_, escaped)) => escape(escaped, &mut chars, &mut word)?,
                }
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    finish(words, word, in_word, quote, line.len())
}

fn finish(
    mut words: Vec<String>,
    word: String,
    in_word: bool,
    quote: Quote,
    end: usize,
) -> Result<(Vec<String>, usize), &'static str> {
    if quote != Quote::None {
        return Err("a quote is not closed");
    }
    if in_word {
        words.push(word);
    }
    Ok((words, end))
}

/// Appends what `\<escaped>` stands for.
fn escape(
    escaped: char,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    word: &mut String,
) -> Result<(), &'static str> {
    match escaped {
        'n' => word.push('\n'),
        'r' => word.push('\r'),
        't' => word.push('\t'),
        'x' => {
            let mut hex = String::new();
            for _ in 0..2 {
                match chars.peek() {
                    Some(&(_, digit)) if digit.is_ascii_hexdigit() => {
                        hex.push(digit);
                        chars.next();
                    }
                    _ => return Err("`\\x` is not followed by two hexadecimal digits"),
                }
            }
            let byte = u8::from_str_radix(&hex, 16).map_err(|_| "bad `\\x` escape")?;
            if !byte.is_ascii() {
                return Err("a `\\x` escape for a byte outside ASCII, which lb.toml cannot hold");
            }
            word.push(char::from(byte));
        }
        ' ' | '#' | '\\' | '\'' | '"' | '$' | '\t' => word.push(escaped),
        other => {
            word.push('\\');
            word.push(other);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        match lines(line).pop() {
            Some(Ok(line)) => line.words,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn words_split_on_blanks_and_stop_at_comments() {
        assert_eq!(
            words("  server  s1 10.0.0.1:80\tcheck # the first"),
            ["server", "s1", "10.0.0.1:80", "check"]
        );
        let line = lines("  bind :80   # web\n").pop().unwrap().unwrap();
        assert_eq!(line.text, "bind :80");
        assert!(lines("   # only a comment\n\n").is_empty());
    }

    #[test]
    fn escapes_and_quotes_read_like_haproxy() {
        assert_eq!(
            words(r"tcp-check send info\ replication\r\n"),
            ["tcp-check", "send", "info replication\r\n"]
        );
        assert_eq!(
            words(r#"a "b c#d" 'e\f' g\#h"#),
            ["a", "b c#d", r"e\f", "g#h"]
        );
        assert_eq!(words(r#"x"y z"w \x41 "" end"#), ["xy zw", "A", "", "end"]);
        assert_eq!(words(r"path_reg ^/a\d+$"), ["path_reg", r"^/a\d+$"]);
    }

    #[test]
    fn what_cannot_be_read_is_an_error_with_its_line() {
        let errors: Vec<_> = lines("ok\nbad \"open\nenv \"${HOME}\"\nbyte \\xff\n")
            .into_iter()
            .filter_map(Result::err)
            .map(|error| error.number)
            .collect();
        assert_eq!(errors, [2, 3, 4]);
    }
}
