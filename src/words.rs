//! The word lists the detectors read column names by (README "Mistake kinds", word lists).
//!
//! The catalog cannot see what a column holds, so some detectors judge by its name: a `status`
//! text column without a CHECK, a `payload` stored as text. The lists are data: built in here, and
//! extended by a roadmap's optional `words:` key, whose lists add to the built-in ones. A detection
//! query names a list as `{list_name}` (see `crate::mistakes`).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The built-in lists, by name. `*_names` match a whole column name, `*_suffixes` its ending.
const BUILTIN: &[(&str, &[&str])] = &[
    // missing_check: text columns whose values come from a closed set the schema should list.
    ("closed_set_names", &["status", "kind", "role", "type"]),
    (
        "closed_set_suffixes",
        &["_status", "_kind", "_role", "_type"],
    ),
    // missing_check and oversized_varchar: names that look closed but hold open sets (any MIME
    // type, with parameters), so a CHECK cannot list them and a bound would cut them.
    ("open_set_names", &["content_type", "mime_type"]),
    // missing_check: numbers that cannot be negative or have a ceiling.
    (
        "bounded_number_names",
        &[
            "minutes",
            "quantity",
            "amount",
            "price",
            "rating",
            "score",
            "percent",
            "percentage",
        ],
    ),
    ("bounded_number_suffixes", &["_percent", "_percentage"]),
    // oversized_varchar: short values from a bounded set: a state, a category, a code from a
    // standard list, a display name.
    (
        "short_value_names",
        &[
            "status", "type", "kind", "method", "role", "code", "slug", "name", "color",
            "currency", "locale", "timezone", "provider",
        ],
    ),
    (
        "short_value_suffixes",
        &[
            "_status", "_type", "_kind", "_method", "_role", "_code", "_name",
        ],
    ),
    // int_should_be_bigint: ids and sizes in bytes, which outgrow an integer.
    ("id_names", &["id"]),
    ("id_suffixes", &["_id"]),
    ("size_names", &["size", "file_size"]),
    ("size_suffixes", &["_bytes", "_size"]),
    // json_as_text: what people call a bag of structured data.
    (
        "json_names",
        &[
            "payload",
            "metadata",
            "config",
            "settings",
            "options",
            "data",
            "errors",
            "details",
            "attributes",
            "properties",
            "context",
            "extra",
        ],
    ),
    (
        "json_suffixes",
        &[
            "_json",
            "_data",
            "_payload",
            "_config",
            "_metadata",
            "_settings",
            "_options",
            "_details",
        ],
    ),
    // missing_unique: values that must not repeat within their table (matched exactly: a
    // `billing_email` may repeat).
    (
        "unique_names",
        &["email", "slug", "token_hash", "key_hash", "api_key"],
    ),
];

/// Every word list by name: the built-in words, then the ones a roadmap adds, in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Words(BTreeMap<String, Vec<String>>);

impl Words {
    /// The built-in lists alone.
    pub fn builtin() -> Words {
        Words(
            BUILTIN
                .iter()
                .map(|(name, words)| {
                    let words = words.iter().map(|w| w.to_string()).collect();
                    (name.to_string(), words)
                })
                .collect(),
        )
    }

    /// The words of the list `name`, or None when no list has that name.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.0.get(name).map(Vec::as_slice)
    }

    /// The lists' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl Default for Words {
    fn default() -> Words {
        Words::builtin()
    }
}

/// A roadmap's `words:` mapping, list name -> words: the built-in lists with those words added.
/// Names and words are checked as they are read, so a mistake is reported at its own line.
impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Words, D::Error> {
        deserializer.deserialize_map(Added)
    }
}

struct Added;

impl<'de> Visitor<'de> for Added {
    type Value = Words;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of word list names to lists of words")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Words, A::Error> {
        let mut words = Words::builtin();
        while let Some(name) = map.next_key_seed(ListName)? {
            let added: Vec<Word> = map.next_value()?;
            let list = words.0.entry(name).or_default();
            for Word(word) in added {
                if !list.contains(&word) {
                    list.push(word);
                }
            }
        }
        Ok(words)
    }
}

/// The name of a built-in list.
struct ListName;

impl<'de> DeserializeSeed<'de> for ListName {
    type Value = String;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for ListName {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the name of a word list")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<String, E> {
        let builtin = Words::builtin();
        if builtin.get(name).is_none() {
            let known = builtin.names().collect::<Vec<_>>().join(", ");
            return Err(E::custom(format!(
                "no word list `{name}`; the lists are: {known}"
            )));
        }
        Ok(name.to_string())
    }
}

/// A word of a list: never empty, since an empty name or suffix would match every column.
struct Word(String);

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Word, D::Error> {
        let word = String::deserialize(deserializer)?;
        if word.trim().is_empty() {
            return Err(de::Error::custom("an empty word would match every column"));
        }
        Ok(Word(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Words, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn a_roadmap_adds_to_the_builtin_lists() {
        let words =
            parse("closed_set_suffixes: [_state, _status]\nunique_names: [handle]").unwrap();
        assert_eq!(
            words.get("closed_set_suffixes").unwrap(),
            ["_status", "_kind", "_role", "_type", "_state"]
        );
        assert_eq!(words.get("unique_names").unwrap().last().unwrap(), "handle");
        assert_eq!(words.get("id_names"), Words::builtin().get("id_names"));
    }

    #[test]
    fn unknown_lists_and_empty_words_are_refused() {
        let err = parse("closed_set_sufixes: [_state]").unwrap_err();
        assert!(err.contains("no word list `closed_set_sufixes`"), "{err}");
        assert!(
            err.contains("closed_set_suffixes"),
            "names the lists: {err}"
        );
        let err = parse("json_suffixes: ['']").unwrap_err();
        assert!(err.contains("empty word"), "{err}");
    }
}
