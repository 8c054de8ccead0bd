//! Which provider runs each step, from `TI_CHECKS`: `sandbox`, `live`, or a default
//! followed by per-step overrides (`live,dvs=sandbox`; `sandbox,peps=live`). Anything else
//! stops the process at start-up: a real provider never falls back to the sandbox.

use std::fmt;
use std::sync::Arc;

use url::Url;

use super::bank::http::{HttpBankConfig, HttpBankData};
use super::document::DocumentReader;
use super::dvs::http::{DvsCredentials, HttpDvsConfig, HttpDvsGateway};
use super::live::{BankCheck, DocumentCheck, DvsCheck, FixedList, LivenessCheck, ScreeningCheck, StepProviders};
use super::liveness::challenge::LivenessThresholds;
use super::screening::Screener;
use crate::config::ConfigError;
use crate::domain::Step;
use crate::pipeline::checks::CheckProvider;
use crate::pipeline::sandbox::SandboxChecks;

/// Where the shipped OFAC files are, for the local server.
pub const SHIPPED_SCREENING_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ofac");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Sandbox,
    Live,
}

impl Provider {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "sandbox" => Some(Provider::Sandbox),
            "live" => Some(Provider::Live),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Sandbox => "sandbox",
            Provider::Live => "live",
        }
    }
}

/// One provider per step, in [`Step::ALL`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection([Provider; 5]);

impl Selection {
    pub const SANDBOX: Selection = Selection([Provider::Sandbox; 5]);

    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { name: "TI_CHECKS", reason };
        let mut parts = spec.split(',').map(str::trim);
        let default = parts.next().unwrap_or_default();
        let default = Provider::parse(default)
            .ok_or_else(|| invalid(format!("`{default}` is not `sandbox` or `live` (then `step=provider`, ...)")))?;
        let mut selection = Selection([default; 5]);
        for part in parts.filter(|p| !p.is_empty()) {
            let (step, provider) =
                part.split_once('=').ok_or_else(|| invalid(format!("`{part}` is not step=provider")))?;
            let step = Step::parse(step.trim()).map_err(|r| invalid(r.message))?;
            let provider = Provider::parse(provider.trim())
                .ok_or_else(|| invalid(format!("`{provider}` is not sandbox or live")))?;
            selection.0[Self::index(step)] = provider;
        }
        Ok(selection)
    }

    fn index(step: Step) -> usize {
        Step::ALL.iter().position(|&s| s == step).unwrap_or_default()
    }

    pub fn get(&self, step: Step) -> Provider {
        self.0[Self::index(step)]
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            Step::ALL.iter().map(|&s| format!("{}={}", s.as_str(), self.get(s).as_str())).collect();
        f.write_str(&parts.join(","))
    }
}

/// Reads one setting (the process environment, or a test's map).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn required(env: Env<'_>, name: &'static str, why: &str) -> Result<String, ConfigError> {
    env(name).filter(|v| !v.is_empty()).ok_or_else(|| ConfigError::Invalid { name, reason: format!("required {why}") })
}

fn url(env: Env<'_>, name: &'static str, why: &str) -> Result<Url, ConfigError> {
    let value = required(env, name, why)?;
    Url::parse(&value).map_err(|e| ConfigError::Invalid { name, reason: e.to_string() })
}

/// Builds every step's provider. Live steps need their settings:
/// - document: `TI_DOCUMENT_READER` = `textract` (Amazon Textract AnalyzeID) or `none`
///   (barcodes and MRZ-less: only what the barcodes carry is read);
/// - liveness: `TI_FACES` = `rekognition` (Amazon Rekognition);
/// - dvs: `TI_DVS_URL` and `TI_DVS_API_KEY`, or `TI_DVS_CLIENT_ID` + `TI_DVS_CLIENT_SECRET`;
/// - peps: `TI_SCREENING_BUCKET` + `TI_SCREENING_PREFIX` (an S3 folder holding sdn.csv,
///   alt.csv and add.csv, re-read when it changes) or `TI_SCREENING_DIR` (default: the
///   shipped OFAC files);
/// - bank: `TI_BANK_URL` and `TI_BANK_API_KEY`.
pub async fn providers(
    selection: Selection,
    env: Env<'_>,
    aws: aws_backed::Aws<'_>,
) -> Result<StepProviders, ConfigError> {
    let sandbox: Arc<dyn CheckProvider> = Arc::new(SandboxChecks);
    let mut providers = StepProviders::all(sandbox);
    if selection.get(Step::Document) == Provider::Live {
        let reader: Option<Arc<dyn DocumentReader>> = match env("TI_DOCUMENT_READER").as_deref() {
            Some("none") => None,
            Some("textract") => Some(aws_backed::textract(aws)?),
            other => {
                return Err(ConfigError::Invalid {
                    name: "TI_DOCUMENT_READER",
                    reason: format!("{other:?} is not `textract` or `none`"),
                });
            }
        };
        providers.document = Arc::new(DocumentCheck { reader });
    }
    if selection.get(Step::Liveness) == Provider::Live {
        if env("TI_FACES").as_deref() != Some("rekognition") {
            return Err(ConfigError::Invalid { name: "TI_FACES", reason: "live liveness needs `rekognition`".into() });
        }
        let faces = aws_backed::rekognition(aws)?;
        providers.liveness = Arc::new(LivenessCheck { faces, thresholds: LivenessThresholds::default() });
    }
    if selection.get(Step::Dvs) == Provider::Live {
        let why = "for the live dvs step";
        let endpoint = url(env, "TI_DVS_URL", why)?;
        let credentials = match (env("TI_DVS_API_KEY"), env("TI_DVS_CLIENT_ID"), env("TI_DVS_CLIENT_SECRET")) {
            (Some(key), _, _) if !key.is_empty() => DvsCredentials::ApiKey(key),
            (_, Some(client_id), Some(client_secret)) => DvsCredentials::ClientSecret { client_id, client_secret },
            _ => return Err(ConfigError::Missing("TI_DVS_API_KEY (or TI_DVS_CLIENT_ID and TI_DVS_CLIENT_SECRET)")),
        };
        let gateway = HttpDvsGateway::new(HttpDvsConfig::new(endpoint, credentials))?;
        providers.dvs = Arc::new(DvsCheck { gateway: Arc::new(gateway) });
    }
    if selection.get(Step::Peps) == Provider::Live {
        let list: Arc<dyn super::live::ScreeningList> = match (env("TI_SCREENING_BUCKET"), env("TI_SCREENING_DIR")) {
            (Some(bucket), _) => {
                aws_backed::s3_list(aws, bucket, env("TI_SCREENING_PREFIX").unwrap_or_default()).await?
            }
            (None, dir) => {
                let dir = dir.unwrap_or_else(|| SHIPPED_SCREENING_DIR.to_owned());
                let screener = Screener::from_dir(&dir)
                    .map_err(|e| ConfigError::Invalid { name: "TI_SCREENING_DIR", reason: e.to_string() })?;
                Arc::new(FixedList(Arc::new(screener)))
            }
        };
        providers.peps = Arc::new(ScreeningCheck { list });
    }
    if selection.get(Step::Bank) == Provider::Live {
        let why = "for the live bank step";
        let config = HttpBankConfig::new(url(env, "TI_BANK_URL", why)?, required(env, "TI_BANK_API_KEY", why)?);
        providers.bank = Arc::new(BankCheck { data: Arc::new(HttpBankData::new(config)?) });
    }
    Ok(providers)
}

/// The AWS-backed adapters; builds without the `aws` feature refuse them by name.
#[cfg(feature = "aws")]
pub mod aws_backed {
    use std::sync::Arc;

    use crate::checks::document::DocumentReader;
    use crate::checks::live::ScreeningList;
    use crate::checks::liveness::FaceAnalyzer;
    use crate::config::ConfigError;

    pub type Aws<'a> = Option<&'a aws_types::SdkConfig>;

    fn config<'a>(aws: Aws<'a>, name: &'static str, what: &str) -> Result<&'a aws_types::SdkConfig, ConfigError> {
        aws.ok_or_else(|| ConfigError::Invalid { name, reason: format!("{what} needs AWS credentials and a region") })
    }

    pub fn textract(aws: Aws<'_>) -> Result<Arc<dyn DocumentReader>, ConfigError> {
        let config = config(aws, "TI_DOCUMENT_READER", "Textract")?;
        Ok(Arc::new(crate::checks::document::textract::TextractReader::from_config(config)))
    }

    pub fn rekognition(aws: Aws<'_>) -> Result<Arc<dyn FaceAnalyzer>, ConfigError> {
        let config = config(aws, "TI_FACES", "Rekognition")?;
        Ok(Arc::new(crate::checks::liveness::rekognition::RekognitionFaces::from_config(config)))
    }

    pub async fn s3_list(aws: Aws<'_>, bucket: String, prefix: String) -> Result<Arc<dyn ScreeningList>, ConfigError> {
        let config = config(aws, "TI_SCREENING_BUCKET", "a screening list in S3")?;
        Ok(Arc::new(crate::checks::screening_s3::S3ScreeningList::load(config, bucket, prefix).await?))
    }
}

#[cfg(not(feature = "aws"))]
pub mod aws_backed {
    use std::sync::Arc;

    use crate::checks::document::DocumentReader;
    use crate::checks::live::ScreeningList;
    use crate::checks::liveness::FaceAnalyzer;
    use crate::config::ConfigError;

    pub type Aws<'a> = ();

    fn refused(name: &'static str) -> ConfigError {
        ConfigError::Invalid { name, reason: "needs a build with the `aws` feature".into() }
    }

    pub fn textract(_: Aws<'_>) -> Result<Arc<dyn DocumentReader>, ConfigError> {
        Err(refused("TI_DOCUMENT_READER"))
    }

    pub fn rekognition(_: Aws<'_>) -> Result<Arc<dyn FaceAnalyzer>, ConfigError> {
        Err(refused("TI_FACES"))
    }

    pub async fn s3_list(_: Aws<'_>, _: String, _: String) -> Result<Arc<dyn ScreeningList>, ConfigError> {
        Err(refused("TI_SCREENING_BUCKET"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_then_overrides() {
        let s = Selection::parse("live, dvs=sandbox").unwrap();
        assert_eq!(s.get(Step::Document), Provider::Live);
        assert_eq!(s.get(Step::Dvs), Provider::Sandbox);
        assert_eq!(Selection::parse("sandbox").unwrap(), Selection::SANDBOX);
        assert_eq!(
            Selection::parse("sandbox,peps=live").unwrap().to_string(),
            "document=sandbox,liveness=sandbox,dvs=sandbox,peps=live,bank=sandbox"
        );
    }

    #[tokio::test]
    async fn a_live_step_without_its_settings_stops_start_up() {
        let nothing = |_: &str| None;
        for (spec, setting) in [
            ("sandbox,dvs=live", "TI_DVS_URL"),
            ("sandbox,bank=live", "TI_BANK_URL"),
            ("sandbox,liveness=live", "TI_FACES"),
            ("sandbox,document=live", "TI_DOCUMENT_READER"),
        ] {
            let err = providers(Selection::parse(spec).unwrap(), &nothing, Default::default()).await.err();
            assert!(err.is_some_and(|e| e.to_string().contains(setting)), "{spec}");
        }
        let sandbox = providers(Selection::SANDBOX, &nothing, Default::default()).await.unwrap();
        assert_eq!(sandbox.name(Step::Peps), "sandbox");
    }

    #[test]
    fn anything_unknown_is_refused() {
        for bad in ["", "real", "live,selfie=live", "live,dvs", "live,dvs=mock"] {
            assert!(Selection::parse(bad).is_err(), "{bad}");
        }
    }
}
