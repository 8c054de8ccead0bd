//! infra/template.yaml as data: CloudFormation's short tags (`!Ref x`, `!GetAtt a.b`, `!Sub s`)
//! become their long forms (`{"Ref": x}`, `{"Fn::GetAtt": [a, b]}`, `{"Fn::Sub": s}`), so
//! checks read one shape.

#![allow(dead_code)]

use serde_json::{Map, Value, json};

pub const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/infra/template.yaml");

pub struct Template(pub Value);

fn normalise(yaml: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).expect("number"),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter().map(|(k, v)| (k.as_str().expect("string keys").to_owned(), normalise(v))).collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let value = normalise(tagged.value);
            match tag {
                "Ref" | "Condition" => json!({ tag: value }),
                "GetAtt" => {
                    let value = match value {
                        Value::String(s) => {
                            let (resource, attribute) = s.split_once('.').expect("!GetAtt resource.attribute");
                            json!([resource, attribute])
                        }
                        other => other,
                    };
                    json!({ "Fn::GetAtt": value })
                }
                other => json!({ format!("Fn::{other}"): value }),
            }
        }
    }
}

impl Template {
    pub fn parse(text: &str) -> Self {
        Template(normalise(serde_yaml::from_str(text).expect("template YAML")))
    }

    pub fn load() -> Self {
        Self::parse(&std::fs::read_to_string(PATH).expect("read infra/template.yaml"))
    }

    pub fn resources(&self) -> &Map<String, Value> {
        self.0["Resources"].as_object().expect("Resources")
    }

    pub fn resource(&self, name: &str) -> &Value {
        self.resources().get(name).unwrap_or_else(|| panic!("no resource {name}"))
    }

    /// `(logical id, properties)` of every resource of one type.
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources()
            .iter()
            .filter(move |(_, r)| r["Type"] == kind)
            .map(|(name, r)| (name.as_str(), &r["Properties"]))
    }

    /// A function property, falling back to `Globals.Function`.
    pub fn function_property(&self, function: &str, property: &str) -> Value {
        let own = &self.resource(function)["Properties"][property];
        if own.is_null() { self.0["Globals"]["Function"][property].clone() } else { own.clone() }
    }

    /// The function's environment: `Globals.Function` variables overridden by its own.
    pub fn function_env(&self, function: &str) -> Map<String, Value> {
        let mut env =
            self.0["Globals"]["Function"]["Environment"]["Variables"].as_object().cloned().unwrap_or_default();
        if let Some(own) = self.resource(function)["Properties"]["Environment"]["Variables"].as_object() {
            env.extend(own.clone());
        }
        env
    }
}

/// The logical id a `!Ref x` or `!GetAtt x.Attr` points at.
pub fn target(value: &Value) -> Option<&str> {
    value["Ref"].as_str().or_else(|| value["Fn::GetAtt"][0].as_str())
}

/// The logical ids a value refers to anywhere inside it (Ref, GetAtt, `${x}` / `${x.Attr}` in Sub).
pub fn references(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, &mut out);
    out
}

fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = target(value) {
                out.push(name.to_owned());
            }
            if let Some(sub) = map.get("Fn::Sub") {
                let text = sub.as_str().or_else(|| sub[0].as_str()).unwrap_or_default();
                for piece in text.split("${").skip(1) {
                    let name = piece.split('}').next().unwrap_or_default();
                    out.push(name.split('.').next().unwrap_or_default().to_owned());
                }
            }
            map.values().for_each(|v| collect(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

/// A value that is one string or a list of them, as IAM's Action and Resource are.
pub fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}
