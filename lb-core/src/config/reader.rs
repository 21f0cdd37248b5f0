//! Walking the span-preserving TOML tree by hand: typed reads that never stop at the first
//! problem.
//!
//! Each read either yields a value and remembers where it was written (its [`Origin`], so a
//! later semantic error on that field points at the right line), or records an error and marks
//! the field broken (the caller then uses a placeholder, and semantic errors on broken fields
//! are dropped: one mistake gives one message).
//!
//! A [`Field`] has two paths: where it is written (`defaults.check.rise`) and which model field
//! it sets (`vip[2].check.rise`); they differ for values inherited from `[defaults]`.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::{Range, RangeInclusive};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::Located;
use super::suggest;
use crate::model::{Network, ValidationError, out_of_range, parse_duration};

/// Any `u32`.
pub(super) const U32: RangeInclusive<u64> = 0..=u32::MAX as u64;

/// Stands for an `address:port` that could not be read.
pub(super) const UNREADABLE_ADDRESS: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// A value of the tree with its bytes in the source.
pub(super) type Value<'a> = Spanned<DeValue<'a>>;

/// Where a model field's value was written.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    span: Range<usize>,
    path: String,
}

/// One value about to be read.
#[derive(Clone)]
pub(super) struct Field<'a> {
    value: &'a Value<'a>,
    /// Where it is written, as shown in errors.
    path: String,
    /// The model field it sets.
    target: String,
}

impl<'a> Field<'a> {
    /// The same value, setting another model field.
    fn retarget(self, target: String) -> Self {
        Field { target, ..self }
    }

    /// The TOML type of the value (`string`, `integer`, `boolean`, `table`...).
    pub(super) fn type_name(&self) -> &'static str {
        self.value.get_ref().type_str()
    }
}

/// A table being read.
#[derive(Clone)]
pub(super) struct Table<'a> {
    map: &'a DeTable<'a>,
    span: Range<usize>,
    path: String,
    target: String,
}

impl<'a> Table<'a> {
    /// The whole document.
    pub(super) fn root(document: &'a Spanned<DeTable<'a>>) -> Self {
        Table {
            map: document.get_ref(),
            span: document.span(),
            path: String::new(),
            target: String::new(),
        }
    }

    /// The value under `key`, if written.
    pub(super) fn get(&self, key: &str) -> Option<Field<'a>> {
        self.map.get(key).map(|value| Field {
            value,
            path: join(&self.path, key),
            target: join(&self.target, key),
        })
    }

    /// The model path of this table.
    pub(super) fn target(&self) -> &str {
        &self.target
    }

    /// The model path of `key` in this table.
    pub(super) fn target_of(&self, key: &str) -> String {
        join(&self.target, key)
    }
}

/// A table whose missing keys fall back to the same keys of a `[defaults]` table.
pub(super) struct Layered<'a> {
    /// The table written in place, if any.
    pub(super) own: Option<Table<'a>>,
    /// The defaults it inherits from, if any.
    pub(super) defaults: Option<Table<'a>>,
    /// The model path of the layered table (`vip[2].check`).
    pub(super) target: String,
}

impl<'a> Layered<'a> {
    /// The own value of `key`, or the inherited one, set on this table's model path.
    pub(super) fn get(&self, key: &str) -> Option<Field<'a>> {
        let own = self.own.as_ref().and_then(|table| table.get(key));
        own.or_else(|| self.defaults.as_ref().and_then(|table| table.get(key)))
            .map(|field| field.retarget(join(&self.target, key)))
    }
}

/// `parent.key`, or `key` at the root.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Collects errors, origins and broken fields while the tree is read.
#[derive(Default)]
pub(super) struct Reader {
    errors: Vec<Located>,
    origins: HashMap<String, Origin>,
    broken: Vec<String>,
}

impl Reader {
    /// Records a TOML syntax error.
    pub(super) fn syntax(&mut self, span: Range<usize>, message: &str) {
        self.errors.push(Located {
            span,
            path: String::new(),
            message: message.to_owned(),
        });
    }

    /// Records a semantic error of the typed model at the place its field was written; dropped
    /// when that field, a table holding it or a field under it already failed to read.
    pub(super) fn semantic(&mut self, error: ValidationError) {
        let broken =
            |broken: &String| is_within(&error.path, broken) || is_within(broken, &error.path);
        if self.broken.iter().any(broken) {
            return;
        }
        let (span, path) = match self.origins.get(&error.path) {
            Some(origin) => (origin.span.clone(), origin.path.clone()),
            None => {
                let holder = ancestors(&error.path).find_map(|path| self.origins.get(path));
                (
                    holder.map_or(0..0, |origin| origin.span.clone()),
                    error.path,
                )
            }
        };
        self.errors.push(Located {
            span,
            path,
            message: error.message,
        });
    }

    /// Every error, in file order, each once (values inherited by several VIPs are read once
    /// per VIP).
    pub(super) fn finish(mut self) -> Vec<Located> {
        self.errors.sort_by_key(|error| error.span.start);
        let mut seen = HashSet::new();
        self.errors.retain(|error| seen.insert(error.clone()));
        self.errors
    }

    /// Reports `field` as wrong and marks it broken.
    pub(super) fn fail(&mut self, field: &Field<'_>, message: String) {
        self.errors.push(Located {
            span: field.value.span(),
            path: field.path.clone(),
            message,
        });
        self.broken.push(field.target.clone());
    }

    fn found<T>(&mut self, field: &Field<'_>, value: T) -> Option<T> {
        self.origins.insert(
            field.target.clone(),
            Origin {
                span: field.value.span(),
                path: field.path.clone(),
            },
        );
        Some(value)
    }

    fn wrong_type(&mut self, field: &Field<'_>, expected: &str) {
        let found = field.value.get_ref().type_str();
        self.fail(field, format!("expected {expected}, found {found}"));
    }

    /// Overwrites `slot` with the value of `field` when it is written and reads well.
    pub(super) fn set<'a, T>(
        &mut self,
        field: Option<Field<'a>>,
        slot: &mut T,
        read: impl FnOnce(&mut Self, &Field<'a>) -> Option<T>,
    ) {
        if let Some(value) = field.and_then(|field| read(self, &field)) {
            *slot = value;
        }
    }

    /// A table, with every key not in `known` reported.
    pub(super) fn table<'a>(&mut self, field: &Field<'a>, known: &[&str]) -> Option<Table<'a>> {
        let table = self.any_table(field)?;
        self.known_keys(&table, known, |_| None);
        Some(table)
    }

    /// A table whose keys the caller checks with [`Reader::known_keys`].
    pub(super) fn any_table<'a>(&mut self, field: &Field<'a>) -> Option<Table<'a>> {
        let DeValue::Table(map) = field.value.get_ref() else {
            self.wrong_type(field, "a table");
            return None;
        };
        self.found(
            field,
            Table {
                map,
                span: field.value.span(),
                path: field.path.clone(),
                target: field.target.clone(),
            },
        )
    }

    /// Reports every key of `table` not in `known`; `explain` may say why a key is refused.
    pub(super) fn known_keys(
        &mut self,
        table: &Table<'_>,
        known: &[&str],
        explain: impl Fn(&str) -> Option<String>,
    ) {
        for key in table.map.keys() {
            let name = key.get_ref().as_ref();
            if known.contains(&name) {
                continue;
            }
            let message = explain(name).unwrap_or_else(|| suggest::unknown_key(name, known));
            self.errors.push(Located {
                span: key.span(),
                path: join(&table.path, name),
                message,
            });
        }
    }

    /// The value of a key that must be written; a missing one is reported at its table.
    pub(super) fn require<'a>(&mut self, table: &Table<'a>, key: &str) -> Option<Field<'a>> {
        let field = table.get(key);
        if field.is_none() {
            self.errors.push(Located {
                span: table.span.clone(),
                path: join(&table.path, key),
                message: format!("missing required key `{key}`"),
            });
            self.broken.push(table.target_of(key));
        }
        field
    }

    /// An array's elements, each with its index in its path.
    pub(super) fn array<'a>(&mut self, field: &Field<'a>) -> Option<Vec<Field<'a>>> {
        let DeValue::Array(items) = field.value.get_ref() else {
            self.wrong_type(field, "an array");
            return None;
        };
        self.found(field, ())?;
        let items = items.iter().enumerate().map(|(index, value)| Field {
            value,
            path: format!("{}[{index}]", field.path),
            target: format!("{}[{index}]", field.target),
        });
        Some(items.collect())
    }

    /// An array's elements, or a single value standing for a one-element array.
    pub(super) fn one_or_many<'a>(&mut self, field: &Field<'a>) -> Vec<Field<'a>> {
        if field.value.get_ref().is_array() {
            self.array(field).unwrap_or_default()
        } else {
            vec![field.clone()]
        }
    }

    /// A string.
    pub(super) fn string(&mut self, field: &Field<'_>) -> Option<String> {
        match field.value.get_ref().as_str() {
            Some(text) => self.found(field, text.to_owned()),
            None => {
                self.wrong_type(field, "a string");
                None
            }
        }
    }

    /// A boolean.
    pub(super) fn boolean(&mut self, field: &Field<'_>) -> Option<bool> {
        match field.value.get_ref().as_bool() {
            Some(value) => self.found(field, value),
            None => {
                self.wrong_type(field, "true or false");
                None
            }
        }
    }

    /// A whole number within `range`.
    pub(super) fn integer<T: TryFrom<u64>>(
        &mut self,
        field: &Field<'_>,
        range: RangeInclusive<u64>,
    ) -> Option<T> {
        let Some(integer) = field.value.get_ref().as_integer() else {
            self.wrong_type(field, "an integer");
            return None;
        };
        let number = i128::from_str_radix(integer.as_str(), integer.radix()).ok();
        let fitting = number
            .and_then(|number| u64::try_from(number).ok())
            .filter(|number| range.contains(number))
            .and_then(|number| T::try_from(number).ok());
        match fitting {
            Some(value) => self.found(field, value),
            None => {
                let shown = number.map_or_else(|| integer.as_str().to_owned(), |n| n.to_string());
                self.fail(field, out_of_range(shown, range.start(), range.end()));
                None
            }
        }
    }

    /// A string read by `parse`, whose error is the message.
    pub(super) fn parsed<T, E: ToString>(
        &mut self,
        field: &Field<'_>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let Some(text) = field.value.get_ref().as_str() else {
            self.wrong_type(field, "a string");
            return None;
        };
        match parse(text) {
            Ok(value) => self.found(field, value),
            Err(error) => {
                self.fail(field, error.to_string());
                None
            }
        }
    }

    /// A duration such as `500ms`, `10s` or `1h30m`.
    pub(super) fn duration(&mut self, field: &Field<'_>) -> Option<Duration> {
        self.parsed(field, parse_duration)
    }

    /// An `address:port`.
    pub(super) fn socket_address(&mut self, field: &Field<'_>) -> Option<SocketAddr> {
        self.parsed(field, |text| {
            text.parse().map_err(|_| {
                format!(
                    "`{text}` is not an address:port (e.g. \"192.0.2.10:3306\" or \
                     \"[2001:db8::10]:3306\"; names are not resolved)"
                )
            })
        })
    }

    /// An IP address.
    pub(super) fn ip_address(&mut self, field: &Field<'_>) -> Option<IpAddr> {
        self.parsed(field, |text| {
            text.parse()
                .map_err(|_| format!("`{text}` is not an IP address (e.g. \"192.0.2.10\")"))
        })
    }

    /// A network (`10.0.0.0/8`, or a bare address).
    pub(super) fn network(&mut self, field: &Field<'_>) -> Option<Network> {
        self.parsed(field, Network::parse)
    }

    /// One of the `options`, by the name `name_of` gives it.
    pub(super) fn choice<T: Copy>(
        &mut self,
        field: &Field<'_>,
        what: &str,
        options: &[T],
        name_of: fn(T) -> &'static str,
    ) -> Option<T> {
        let names: Vec<&str> = options.iter().map(|&option| name_of(option)).collect();
        let index = self.parsed(field, |text| {
            names
                .iter()
                .position(|&name| name == text)
                .ok_or_else(|| suggest::unknown_value(what, text, &names))
        })?;
        Some(options[index])
    }
}

/// Whether `path` is `within` or a field under it (`vip[1].check` holds `vip[1].check.rise`,
/// not `vip[10]`).
fn is_within(path: &str, within: &str) -> bool {
    path.strip_prefix(within)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// `path` and then each table or array holding it, up to the root.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(path), |path| {
        path.rfind(['.', '[']).map(|cut| &path[..cut])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_nest_on_boundaries_only() {
        assert!(is_within("vip[1].check.rise", "vip[1].check"));
        assert!(is_within("vip[1].listen[0]", "vip[1].listen"));
        assert!(is_within("vip[1]", "vip[1]"));
        assert!(!is_within("vip[10].name", "vip[1]"));
        assert_eq!(
            ancestors("vip[1].servers[0].weight").collect::<Vec<_>>(),
            [
                "vip[1].servers[0].weight",
                "vip[1].servers[0]",
                "vip[1].servers",
                "vip[1]",
                "vip"
            ]
        );
    }
}
