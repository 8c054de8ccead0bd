//! The bank step: the account's holder names, from an open-banking provider, matched against
//! the name the user declared.

pub mod http;
pub mod namematch;

use async_trait::async_trait;

use crate::decision::StepOutcome;
use crate::domain::BankDetails;
use crate::pipeline::checks::CheckError;

pub use http::{HttpBankConfig, HttpBankData};
pub use namematch::{NameScore, score, score_best};

/// The people an account belongs to: one name each (joint accounts have several).
#[derive(Clone, PartialEq, Eq)]
pub struct AccountHolder {
    pub names: Vec<String>,
}

impl std::fmt::Debug for AccountHolder {
    // Names are PII: only their number may reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountHolder").field("names", &self.names.len()).finish()
    }
}

/// Looks up who holds a bank account.
#[async_trait]
pub trait BankData: Send + Sync {
    /// A short name for logs and metrics.
    fn name(&self) -> &'static str;
    /// The holders of `account`; `None` when the provider knows no such account.
    async fn account_holder(&self, account: &BankDetails) -> Result<Option<AccountHolder>, CheckError>;
}

/// Runs the bank step: an unknown account is an error outcome (`bank_account_not_found`,
/// which goes to review), otherwise the best holder's name score.
pub async fn check(
    bank: &dyn BankData,
    account: &BankDetails,
    given_name: &str,
    family_name: &str,
) -> Result<StepOutcome, CheckError> {
    let holder = bank
        .account_holder(account)
        .await?
        .ok_or_else(|| CheckError::Permanent { code: "bank_account_not_found".into() })?;
    let s = score_best(given_name, family_name, &holder.names);
    Ok(StepOutcome::Bank { outcome: s.outcome, given_name: s.given_name, family_name: s.family_name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::NameMatch;

    /// Knows one account, held jointly.
    struct OneAccount;

    #[async_trait]
    impl BankData for OneAccount {
        fn name(&self) -> &'static str {
            "one-account"
        }
        async fn account_holder(&self, account: &BankDetails) -> Result<Option<AccountHolder>, CheckError> {
            Ok((account.account_number == "12345678")
                .then(|| AccountHolder { names: vec!["John Citizen".into(), "Mrs J A Smith".into()] }))
        }
    }

    fn account(number: &str) -> BankDetails {
        BankDetails { bsb: "062000".into(), account_number: number.into() }
    }

    #[tokio::test]
    async fn scores_the_best_holder_and_reports_unknown_accounts() {
        let outcome = check(&OneAccount, &account("12345678"), "Jane Alice", "Smith").await.unwrap();
        let StepOutcome::Bank { outcome, given_name, family_name } = outcome else { panic!("{outcome:?}") };
        assert_eq!((outcome, family_name), (NameMatch::Partial, 100));
        assert!((60..95).contains(&given_name), "{given_name}");

        let err = check(&OneAccount, &account("99999999"), "Jane", "Smith").await.unwrap_err();
        assert!(matches!(err, CheckError::Permanent { code } if code == "bank_account_not_found"));
    }

    #[test]
    fn holder_names_stay_out_of_debug_output() {
        let holder = AccountHolder { names: vec!["Jane Smith".into()] };
        assert!(!format!("{holder:?}").contains("Smith"));
    }
}
