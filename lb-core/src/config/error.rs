//! Configuration errors as operators read them: `lb.toml:14:11: vip[1].servers[0].weight: 300
//! is out of range (0-256)`, one per line, in file order.
//!
//! Lines and columns count from 1; a column counts characters, not bytes.

use std::fmt;
use std::ops::Range;

/// One problem in a configuration file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Line in the file, from 1.
    pub line: usize,
    /// Column in the line (in characters), from 1.
    pub column: usize,
    /// The field, as the file names it (`vip[1].servers[0].weight`); empty for TOML syntax
    /// errors.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

/// Every problem found in one configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file's name as given to the parser, shown in front of each error.
    pub file: String,
    /// The problems, in file order (never empty).
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{error}", self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// An error found while reading, before it is given a line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Located {
    /// Bytes of the source the error points at.
    pub(super) span: Range<usize>,
    /// The field, as the file names it.
    pub(super) path: String,
    /// What is wrong.
    pub(super) message: String,
}

impl Located {
    /// Gives the error its line and column in `text`.
    pub(super) fn locate(self, text: &str) -> ConfigError {
        let (line, column) = line_column(text, self.span.start);
        ConfigError {
            line,
            column,
            path: self.path,
            message: self.message,
        }
    }
}

/// The 1-based line and character column of byte `offset` (clamped into `text`).
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one_in_characters() {
        let text = "a = 1\nnamé = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 13), (2, 7));
        assert_eq!(line_column(text, 10_000), (3, 1));
    }

    #[test]
    fn errors_display_as_file_line_column_path_message() {
        let errors = ConfigErrors {
            file: "lb.toml".to_owned(),
            errors: vec![
                ConfigError {
                    line: 14,
                    column: 11,
                    path: "vip[1].servers[0].weight".to_owned(),
                    message: "300 is out of range (0-256)".to_owned(),
                },
                ConfigError {
                    line: 20,
                    column: 1,
                    path: String::new(),
                    message: "invalid key".to_owned(),
                },
            ],
        };
        assert_eq!(
            errors.to_string(),
            "lb.toml:14:11: vip[1].servers[0].weight: 300 is out of range (0-256)\n\
             lb.toml:20:1: invalid key"
        );
    }
}
