//! `POST /identity` bodies become domain values here, once, with the offending field named.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::dates::{BirthDate, ExpiresIn};
use super::session::{NewSession, Person};
use super::steps::{MinAge, Step, Steps, Threshold};
use super::tenant::Tenant;
use super::text::{Locale, Metadata, PersonName, Reference};
use super::urls::{RedirectUrl, UrlPolicy, WebhookUrl};
use crate::error::{Error, Rejection};

const FIELDS: [&str; 12] = [
    "reference",
    "redirect_url",
    "steps",
    "first_name",
    "last_name",
    "birth_date",
    "min_age",
    "threshold",
    "webhook_url",
    "locale",
    "expires_in",
    "metadata",
];

/// A parsed create request, before the tenant's defaults and allowlist are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSessionRequest {
    pub reference: Reference,
    pub redirect_url: RedirectUrl,
    pub steps: Option<Steps>,
    pub person: Person,
    pub min_age: Option<MinAge>,
    pub threshold: Option<Threshold>,
    pub webhook_url: Option<WebhookUrl>,
    pub locale: Option<Locale>,
    pub expires_in: Option<ExpiresIn>,
    pub metadata: Metadata,
}

impl CreateSessionRequest {
    /// Parses a JSON body. `now` (unix seconds) judges birth dates in the future.
    pub fn from_json(body: &[u8], policy: UrlPolicy, now: i64) -> Result<Self, Error> {
        Self::from_value(&parse_body(body)?, policy, now)
    }

    pub fn from_value(value: &Value, policy: UrlPolicy, now: i64) -> Result<Self, Error> {
        let Value::Object(map) = value else {
            return Err(Error::invalid("invalid_json", "body", "body must be a JSON object"));
        };
        if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(Error::invalid("unknown_field", unknown.clone(), format!("unknown field `{unknown}`")));
        }
        let fields = Fields(map);
        let reference = fields.required_str("reference")?;
        let redirect_url = fields.required_str("redirect_url")?;
        Ok(Self {
            reference: Reference::parse(reference).map_err(|r| r.at("reference"))?,
            redirect_url: RedirectUrl::parse(redirect_url, policy).map_err(|r| r.at("redirect_url"))?,
            steps: fields.steps()?,
            person: Person {
                first_name: fields.parsed_str("first_name", PersonName::parse)?,
                last_name: fields.parsed_str("last_name", PersonName::parse)?,
                birth_date: fields.parsed_str("birth_date", |s| BirthDate::parse(s, now))?,
            },
            min_age: fields.integer("min_age")?.map(|n| MinAge::new(n).map_err(|r| r.at("min_age"))).transpose()?,
            threshold: fields.threshold()?,
            webhook_url: fields.parsed_str("webhook_url", |s| WebhookUrl::parse(s, policy))?,
            locale: fields.parsed_str("locale", Locale::parse)?,
            expires_in: fields
                .integer("expires_in")?
                .map(|n| ExpiresIn::new(n).map_err(|r| r.at("expires_in")))
                .transpose()?,
            metadata: fields.metadata()?,
        })
    }

    /// Applies the tenant's defaults and redirect allowlist.
    pub fn for_tenant(self, tenant: &Tenant) -> Result<NewSession, Error> {
        if !tenant.allows_redirect(&self.redirect_url) {
            return Err(Error::invalid(
                "redirect_origin_not_allowed",
                "redirect_url",
                format!("origin {} is not registered for this account", self.redirect_url.origin()),
            ));
        }
        Ok(NewSession {
            reference: self.reference,
            redirect_url: self.redirect_url,
            steps: self.steps.unwrap_or_else(|| tenant.default_steps.clone()),
            person: self.person,
            min_age: self.min_age,
            threshold: self.threshold.unwrap_or(tenant.default_threshold),
            webhook_url: self.webhook_url,
            locale: self.locale,
            expires_in: self.expires_in.unwrap_or(ExpiresIn::DEFAULT).seconds(),
            metadata: self.metadata,
        })
    }
}

/// Any JSON value, or `invalid_json` naming the body.
pub fn parse_body(body: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::invalid("invalid_json", "body", format!("body is not valid JSON: {e}")))
}

struct Fields<'a>(&'a Map<String, Value>);

fn wrong_type(field: &str, expected: &str) -> Error {
    Error::invalid("invalid_type", field, format!("`{field}` must be {expected}"))
}

impl Fields<'_> {
    /// A present, non-null value; JSON null counts as absent.
    fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn str(&self, field: &str) -> Result<Option<&str>, Error> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(field, "a string")),
        }
    }

    fn required_str(&self, field: &str) -> Result<&str, Error> {
        self.str(field)?.ok_or_else(|| Error::invalid("missing_field", field, format!("`{field}` is required")))
    }

    fn parsed_str<T>(&self, field: &str, parse: impl Fn(&str) -> Result<T, Rejection>) -> Result<Option<T>, Error> {
        self.str(field)?.map(|s| parse(s).map_err(|r| r.at(field))).transpose()
    }

    fn integer(&self, field: &str) -> Result<Option<u32>, Error> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let n = n.as_u64().ok_or_else(|| wrong_type(field, "a whole number"))?;
                Ok(Some(u32::try_from(n).unwrap_or(u32::MAX)))
            }
            Some(_) => Err(wrong_type(field, "a whole number")),
        }
    }

    fn threshold(&self) -> Result<Option<Threshold>, Error> {
        match self.get("threshold") {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let v = n.as_f64().ok_or_else(|| wrong_type("threshold", "a number"))?;
                Threshold::new(v).map(Some).map_err(|r| r.at("threshold"))
            }
            Some(_) => Err(wrong_type("threshold", "a number from 0 to 1")),
        }
    }

    fn steps(&self) -> Result<Option<Steps>, Error> {
        let Some(value) = self.get("steps") else { return Ok(None) };
        let Value::Array(items) = value else {
            return Err(wrong_type("steps", "an array of step names"));
        };
        let mut steps = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = format!("steps[{i}]");
            let Value::String(name) = item else {
                return Err(wrong_type(&field, "a step name"));
            };
            let step = Step::parse(name).map_err(|r| r.at(&field))?;
            if steps.contains(&step) {
                return Err(Error::invalid("duplicate_step", field, format!("step `{name}` is listed twice")));
            }
            steps.push(step);
        }
        Steps::new(steps).map(Some).map_err(|r| r.at("steps"))
    }

    fn metadata(&self) -> Result<Metadata, Error> {
        let Some(value) = self.get("metadata") else { return Ok(Metadata::default()) };
        let Value::Object(map) = value else {
            return Err(wrong_type("metadata", "an object of string values"));
        };
        let mut entries = BTreeMap::new();
        for (key, value) in map {
            let field = format!("metadata.{key}");
            let Value::String(s) = value else {
                return Err(wrong_type(&field, "a string"));
            };
            Metadata::check_entry(key, s).map_err(|r| r.at(&field))?;
            entries.insert(key.clone(), s.clone());
        }
        Metadata::from_entries(entries).map_err(|r| r.at("metadata"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000;

    fn parse(body: &str) -> Result<CreateSessionRequest, Error> {
        CreateSessionRequest::from_json(body.as_bytes(), UrlPolicy::HttpsOnly, NOW)
    }

    fn rejects(body: &str, code: &str, field: &str) {
        let err = parse(body).expect_err(body);
        assert_eq!((err.code, err.field.as_deref()), (code, Some(field)), "{body}");
    }

    const BASE: &str = r#""reference":"cust_1","redirect_url":"https://yourapp.com/verified""#;

    #[test]
    fn parses_the_brief_example() {
        let req = parse(
            r#"{"reference":"cust_00123","redirect_url":"https://yourapp.com/verified",
                "steps":["document","liveness","dvs"],"first_name":"Jane","last_name":"Smith",
                "birth_date":"1990-01-31"}"#,
        )
        .unwrap();
        assert_eq!(req.reference.as_str(), "cust_00123");
        assert_eq!(req.steps.unwrap().as_slice(), &[Step::Document, Step::Liveness, Step::Dvs]);
        assert_eq!(req.person.first_name.unwrap().as_str(), "Jane");
    }

    #[test]
    fn names_the_offending_field() {
        rejects("{", "invalid_json", "body");
        rejects("[]", "invalid_json", "body");
        rejects(&format!("{{{BASE},\"colour\":\"red\"}}"), "unknown_field", "colour");
        rejects(r#"{"redirect_url":"https://yourapp.com/"}"#, "missing_field", "reference");
        rejects(r#"{"reference":"r"}"#, "missing_field", "redirect_url");
        rejects(&format!("{{{BASE},\"steps\":[]}}"), "empty_steps", "steps");
        rejects(&format!("{{{BASE},\"steps\":[\"document\",\"selfie\"]}}"), "unknown_step", "steps[1]");
        rejects(&format!("{{{BASE},\"steps\":[\"dvs\",\"dvs\"]}}"), "duplicate_step", "steps[1]");
        rejects(&format!("{{{BASE},\"steps\":\"dvs\"}}"), "invalid_type", "steps");
        rejects(&format!("{{{BASE},\"first_name\":\"J\\u0000\"}}"), "invalid_name", "first_name");
        rejects(&format!("{{{BASE},\"last_name\":\"{}\"}}", "x".repeat(101)), "invalid_name", "last_name");
        rejects(&format!("{{{BASE},\"birth_date\":\"1990-02-30\"}}"), "invalid_birth_date", "birth_date");
        rejects(&format!("{{{BASE},\"birth_date\":\"2999-01-01\"}}"), "birth_date_in_future", "birth_date");
        rejects(&format!("{{{BASE},\"threshold\":1.5}}"), "invalid_threshold", "threshold");
        rejects(&format!("{{{BASE},\"threshold\":\"0.5\"}}"), "invalid_type", "threshold");
        rejects(&format!("{{{BASE},\"min_age\":-1}}"), "invalid_type", "min_age");
        rejects(&format!("{{{BASE},\"expires_in\":60}}"), "invalid_expires_in", "expires_in");
        rejects(&format!("{{{BASE},\"locale\":\"english\"}}"), "invalid_locale", "locale");
        rejects(&format!("{{{BASE},\"metadata\":{{\"k\":1}}}}"), "invalid_type", "metadata.k");
        rejects(r#"{"reference":"r","redirect_url":"http://yourapp.com/"}"#, "invalid_redirect_url", "redirect_url");
        rejects(&format!("{{{BASE},\"webhook_url\":\"https://10.1.2.3/h\"}}"), "invalid_webhook_url", "webhook_url");
    }

    #[test]
    fn null_means_absent_for_optional_fields() {
        let req = parse(&format!("{{{BASE},\"steps\":null,\"threshold\":null}}")).unwrap();
        assert!(req.steps.is_none() && req.threshold.is_none());
    }
}
