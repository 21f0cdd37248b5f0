//! The TOML configuration file: parsing, validation, and errors with file, line, column and
//! field path. Produces the typed [`crate::model::Config`].
