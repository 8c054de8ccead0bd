//! Details the end user types in the journey for the steps that check them against outside
//! sources: the identity document for DVS, the bank account for the account-holder match.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Rejection};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DvsDocument {
    Driverslicence,
    Passport,
    Medicare,
    Visa,
    Birthcertificate,
    Citizenship,
    Immicard,
}

impl DvsDocument {
    const ALL: [DvsDocument; 7] = [
        DvsDocument::Driverslicence,
        DvsDocument::Passport,
        DvsDocument::Medicare,
        DvsDocument::Visa,
        DvsDocument::Birthcertificate,
        DvsDocument::Citizenship,
        DvsDocument::Immicard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DvsDocument::Driverslicence => "driverslicence",
            DvsDocument::Passport => "passport",
            DvsDocument::Medicare => "medicare",
            DvsDocument::Visa => "visa",
            DvsDocument::Birthcertificate => "birthcertificate",
            DvsDocument::Citizenship => "citizenship",
            DvsDocument::Immicard => "immicard",
        }
    }
}

/// The issuing states and territories of Australian driver licences.
pub const STATES: [&str; 8] = ["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"];

/// The document the DVS check looks up. Numbers are upper-cased and stripped of spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DvsDetails {
    pub document_type: DvsDocument,
    pub number: String,
    /// Issuing state, for driver licences.
    pub state: Option<String>,
    /// The licence card number, for driver licences.
    pub card_number: Option<String>,
}

/// The account whose holder name the bank check compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankDetails {
    /// Six digits, stored without the dash.
    pub bsb: String,
    pub account_number: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    pub dvs: Option<DvsDetails>,
    pub bank: Option<BankDetails>,
}

fn field<'a>(obj: &'a serde_json::Map<String, Value>, prefix: &str, name: &str) -> Result<Option<&'a str>, Error> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => {
            Err(Error::invalid("invalid_type", format!("{prefix}.{name}"), format!("`{name}` must be a string")))
        }
    }
}

fn object<'a>(value: &'a Value, at: &str, allowed: &[&str]) -> Result<&'a serde_json::Map<String, Value>, Error> {
    let Value::Object(obj) = value else {
        return Err(Error::invalid("invalid_type", at, format!("`{at}` must be an object")));
    };
    if let Some(unknown) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Error::invalid("unknown_field", format!("{at}.{unknown}"), format!("unknown field `{unknown}`")));
    }
    Ok(obj)
}

/// A licence's issuing state, in any case.
fn issuing_state(s: &str) -> Result<String, Error> {
    let upper = s.to_ascii_uppercase();
    if !STATES.contains(&upper.as_str()) {
        return Err(Error::invalid(
            "invalid_state",
            "dvs.state",
            format!("state must be one of {}", STATES.join(", ")),
        ));
    }
    Ok(upper)
}

/// Upper-case alphanumerics of 1..=max characters, spaces removed.
fn document_number(s: &str, max: usize) -> Result<String, Rejection> {
    let n: String = s.chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
    if n.is_empty() || n.len() > max || !n.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Rejection::new("invalid_document_number", format!("must be 1 to {max} letters and digits")));
    }
    Ok(n)
}

impl DvsDetails {
    pub fn parse(value: &Value) -> Result<Self, Error> {
        let obj = object(value, "dvs", &["document_type", "number", "state", "card_number"])?;
        let kind = field(obj, "dvs", "document_type")?
            .ok_or_else(|| Error::invalid("missing_field", "dvs.document_type", "`document_type` is required"))?;
        let document_type = DvsDocument::ALL.into_iter().find(|d| d.as_str() == kind).ok_or_else(|| {
            Error::invalid("unknown_document_type", "dvs.document_type", "document_type must be one of driverslicence, passport, medicare, visa, birthcertificate, citizenship, immicard")
        })?;
        let number = field(obj, "dvs", "number")?
            .ok_or_else(|| Error::invalid("missing_field", "dvs.number", "`number` is required"))?;
        let number = document_number(number, 20).map_err(|r| r.at("dvs.number"))?;
        // Present values are checked whatever the document; only a licence keeps them.
        let state = field(obj, "dvs", "state")?.map(issuing_state).transpose()?;
        let card_number = field(obj, "dvs", "card_number")?
            .map(|c| document_number(c, 20).map_err(|r| r.at("dvs.card_number")))
            .transpose()?;
        let (state, card_number) = if document_type == DvsDocument::Driverslicence {
            let state = state.ok_or_else(|| {
                Error::invalid("missing_field", "dvs.state", "a driver licence needs its issuing `state`")
            })?;
            (Some(state), card_number)
        } else {
            (None, None)
        };
        Ok(Self { document_type, number, state, card_number })
    }
}

impl BankDetails {
    pub fn parse(value: &Value) -> Result<Self, Error> {
        let obj = object(value, "bank", &["bsb", "account_number"])?;
        let bsb = field(obj, "bank", "bsb")?
            .ok_or_else(|| Error::invalid("missing_field", "bank.bsb", "`bsb` is required"))?;
        let digits: String = bsb.chars().filter(|c| *c != '-' && *c != ' ').collect();
        if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::invalid("invalid_bsb", "bank.bsb", "a BSB is six digits, e.g. 062-000"));
        }
        let account = field(obj, "bank", "account_number")?
            .ok_or_else(|| Error::invalid("missing_field", "bank.account_number", "`account_number` is required"))?;
        if !(5..=10).contains(&account.len()) || !account.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::invalid(
                "invalid_account_number",
                "bank.account_number",
                "an account number is 5 to 10 digits",
            ));
        }
        Ok(Self { bsb: digits, account_number: account.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code_field(e: Error) -> (&'static str, String) {
        (e.code, e.field.unwrap_or_default())
    }

    #[test]
    fn driver_licences_need_a_state() {
        let ok = DvsDetails::parse(&json!({"document_type": "driverslicence", "number": "12 345 678", "state": "nsw", "card_number": "p1234567"})).unwrap();
        assert_eq!(
            (ok.number.as_str(), ok.state.as_deref(), ok.card_number.as_deref()),
            ("12345678", Some("NSW"), Some("P1234567"))
        );
        let e = DvsDetails::parse(&json!({"document_type": "driverslicence", "number": "1"})).unwrap_err();
        assert_eq!(code_field(e), ("missing_field", "dvs.state".into()));
        let e =
            DvsDetails::parse(&json!({"document_type": "driverslicence", "number": "1", "state": "XX"})).unwrap_err();
        assert_eq!(code_field(e), ("invalid_state", "dvs.state".into()));
    }

    #[test]
    fn documents_and_numbers_are_checked() {
        assert!(DvsDetails::parse(&json!({"document_type": "passport", "number": "PA1234567"})).is_ok());
        let e = DvsDetails::parse(&json!({"document_type": "library_card", "number": "1"})).unwrap_err();
        assert_eq!(code_field(e), ("unknown_document_type", "dvs.document_type".into()));
        let e = DvsDetails::parse(&json!({"document_type": "passport", "number": "PA-12"})).unwrap_err();
        assert_eq!(code_field(e), ("invalid_document_number", "dvs.number".into()));
        let e = DvsDetails::parse(&json!({"document_type": "passport", "number": "1", "colour": "blue"})).unwrap_err();
        assert_eq!(code_field(e), ("unknown_field", "dvs.colour".into()));
        let e = DvsDetails::parse(&json!({"document_type": "passport", "number": "PA\t12"})).unwrap_err();
        assert_eq!(code_field(e), ("invalid_document_number", "dvs.number".into()), "only spaces are dropped");
    }

    #[test]
    fn a_licence_field_beside_another_document_is_checked_then_dropped() {
        let passport = |extra: Value| {
            let mut v = json!({"document_type": "passport", "number": "PA1234567"});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            DvsDetails::parse(&v)
        };
        let ok = passport(json!({"state": "nsw", "card_number": "P1"})).unwrap();
        assert_eq!((ok.state, ok.card_number), (None, None));
        assert_eq!(code_field(passport(json!({"state": {}})).unwrap_err()), ("invalid_type", "dvs.state".into()));
        assert_eq!(code_field(passport(json!({"state": "XX"})).unwrap_err()), ("invalid_state", "dvs.state".into()));
        let e = passport(json!({"card_number": "P-1"})).unwrap_err();
        assert_eq!(code_field(e), ("invalid_document_number", "dvs.card_number".into()));
        assert!(passport(json!({"state": null, "card_number": null})).is_ok(), "null is absent, as elsewhere");
    }

    #[test]
    fn bank_accounts_are_checked() {
        let ok = BankDetails::parse(&json!({"bsb": "062-000", "account_number": "12345678"})).unwrap();
        assert_eq!(ok.bsb, "062000");
        let e = BankDetails::parse(&json!({"bsb": "62-000", "account_number": "12345678"})).unwrap_err();
        assert_eq!(code_field(e), ("invalid_bsb", "bank.bsb".into()));
        let e = BankDetails::parse(&json!({"bsb": "062000", "account_number": "12a"})).unwrap_err();
        assert_eq!(code_field(e), ("invalid_account_number", "bank.account_number".into()));
    }
}
