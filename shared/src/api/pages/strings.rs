//! The user-facing strings, one JSON file per locale (today `en`). The same file feeds the
//! server-rendered pages and, as boot data, the page script.

use std::sync::OnceLock;

use serde_json::{Map, Value};

const EN: &str = include_str!("assets/strings.en.json");

pub struct Strings {
    map: Map<String, Value>,
}

impl Strings {
    /// The strings for a session's locale; every locale falls back to English for now.
    pub fn for_locale(_locale: Option<&str>) -> &'static Strings {
        static CELL: OnceLock<Strings> = OnceLock::new();
        CELL.get_or_init(|| {
            let map = serde_json::from_str::<Map<String, Value>>(EN).expect("strings.en.json is a JSON object");
            Strings { map }
        })
    }

    pub fn lang(&self) -> &str {
        self.get("lang")
    }

    /// The text for `key`; the key itself when missing (visible in review, never a panic).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.map.get(key).and_then(Value::as_str).unwrap_or(key)
    }

    /// The text with `{name}` replaced.
    pub fn with_name(&self, key: &str, name: &str) -> String {
        self.get(key).replace("{name}", name)
    }

    pub fn as_json(&self) -> Value {
        Value::Object(self.map.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_is_text_and_placeholders_are_known() {
        let s = Strings::for_locale(Some("en-AU"));
        assert_eq!(s.lang(), "en");
        for (key, value) in &s.map {
            let text = value.as_str().unwrap_or_else(|| panic!("{key} is not a string"));
            assert!(!text.trim().is_empty(), "{key} is empty");
            for part in text.split('{').skip(1) {
                let name = part.split('}').next().unwrap();
                let known =
                    ["name", "n", "total", "time", "done", "doc", "pct", "reason", "count", "pose", "field", "message"];
                assert!(known.contains(&name), "{key}: unknown placeholder {{{name}}}");
            }
        }
        assert_eq!(s.with_name("welcome_title", "Acme"), "Verify your identity with Acme");
        assert_eq!(s.get("no_such_key"), "no_such_key");
    }
}
