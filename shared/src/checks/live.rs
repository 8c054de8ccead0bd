//! The real providers, one per step, over the ports in this module's siblings. Each is
//! chosen by configuration (see [`super::config`]); none falls back to the sandbox.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate};

use super::bank::{self, BankData};
use super::document::verify::{self, Findings};
use super::document::{DocumentReader, barcode, mrz};
use super::dvs::{self, DvsGateway, DvsRequest};
use super::liveness::FaceAnalyzer;
use super::liveness::challenge::{self, LivenessFrames, LivenessThresholds};
use super::screening::{Screener, ScreeningQuery};
use crate::artifacts::Artifact;
use crate::decision::{ScreeningHit, StepOutcome};
use crate::domain::Step;
use crate::pipeline::checks::{CheckError, CheckProvider, StepInput};

fn today(now: i64) -> NaiveDate {
    DateTime::from_timestamp(now, 0).map(|t| t.date_naive()).unwrap_or_default()
}

fn full_name(input: &StepInput<'_>) -> Option<(String, String)> {
    let person = input.person();
    Some((person.first_name.as_ref()?.as_str().to_owned(), person.last_name.as_ref()?.as_str().to_owned()))
}

fn permanent(code: &str) -> CheckError {
    CheckError::Permanent { code: code.to_owned() }
}

/// Barcodes and the MRZ are read here; an OCR reader, when configured, adds printed text.
pub struct DocumentCheck {
    pub reader: Option<Arc<dyn DocumentReader>>,
}

impl DocumentCheck {
    async fn findings(&self, front: &[u8], back: Option<&[u8]>, today: NaiveDate) -> Result<Findings, CheckError> {
        let mut findings = Findings::default();
        // Barcodes first: they live on licence backs, sometimes on fronts.
        for bytes in [Some(front), back].into_iter().flatten() {
            let Ok(image) = image::load_from_memory(bytes) else { continue };
            for code in barcode::decode(&image) {
                if let Ok(aamva) = barcode::parse_aamva(&code.text) {
                    findings.extracted.merge(aamva.to_extracted());
                }
            }
        }
        if let Some(reader) = &self.reader {
            let reading = reader.read(front, back).await?;
            if let Some(text) = reading.mrz_text.as_deref() {
                match mrz::find(text, today) {
                    Some(Ok(parsed)) => findings.extracted.merge(parsed.to_extracted()),
                    Some(Err(_)) => findings.mrz_invalid = true,
                    None => {}
                }
            }
            findings.extracted.merge(reading.fields);
        }
        Ok(findings)
    }
}

#[async_trait]
impl CheckProvider for DocumentCheck {
    fn name(&self, _step: Step) -> &'static str {
        self.reader.as_ref().map_or("barcode", |r| r.name())
    }

    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError> {
        let front = input.capture(Artifact::DocumentFront).ok_or_else(|| permanent("capture_missing"))?;
        let back = input.capture(Artifact::DocumentBack);
        let today = today(input.now);
        let findings = self.findings(front, back, today).await?;
        let min_age = input.session.min_age.map(|m| m.years());
        Ok(verify::judge(&findings, input.person(), min_age, today))
    }
}

pub struct LivenessCheck {
    pub faces: Arc<dyn FaceAnalyzer>,
    pub thresholds: LivenessThresholds,
}

#[async_trait]
impl CheckProvider for LivenessCheck {
    fn name(&self, _step: Step) -> &'static str {
        self.faces.name()
    }

    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError> {
        let selfie = input.capture(Artifact::Selfie).ok_or_else(|| permanent("capture_missing"))?;
        let challenge = &input.session.challenge;
        let poses = Artifact::CHALLENGE
            .iter()
            .take(challenge.len())
            .map(|&a| input.capture(a).ok_or_else(|| permanent("capture_missing")))
            .collect::<Result<Vec<_>, _>>()?;
        let frames = LivenessFrames { selfie, poses, document_portrait: input.capture(Artifact::DocumentFront) };
        let verdict = challenge::evaluate(&*self.faces, &frames, challenge, &self.thresholds).await?;
        Ok(StepOutcome::Liveness { outcome: verdict.outcome, similarity: verdict.similarity, reasons: verdict.reasons })
    }
}

pub struct DvsCheck {
    pub gateway: Arc<dyn DvsGateway>,
}

#[async_trait]
impl CheckProvider for DvsCheck {
    fn name(&self, _step: Step) -> &'static str {
        self.gateway.name()
    }

    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError> {
        let details = input.session.details.dvs.as_ref().ok_or_else(|| permanent("details_missing"))?;
        let consent_at = input.session.consented_at.ok_or_else(|| permanent("consent_missing"))?;
        let person = input.person();
        let request = DvsRequest {
            details,
            given_name: person.first_name.as_ref().map(|n| n.as_str()),
            family_name: person.last_name.as_ref().map(|n| n.as_str()),
            birth_date: person.birth_date.map(|b| b.date()),
            consent_at,
        };
        dvs::check(&*self.gateway, &request).await
    }
}

pub struct ScreeningCheck {
    pub list: Arc<dyn ScreeningList>,
}

/// The loaded list, possibly refreshed behind the scenes (an S3 object in production).
#[async_trait]
pub trait ScreeningList: Send + Sync {
    async fn current(&self) -> Result<Arc<Screener>, CheckError>;
}

/// A list loaded once and never refreshed (the shipped OFAC files, for the local server).
pub struct FixedList(pub Arc<Screener>);

#[async_trait]
impl ScreeningList for FixedList {
    async fn current(&self) -> Result<Arc<Screener>, CheckError> {
        Ok(self.0.clone())
    }
}

#[async_trait]
impl CheckProvider for ScreeningCheck {
    fn name(&self, _step: Step) -> &'static str {
        "ofac"
    }

    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError> {
        let (first, last) = full_name(&input).ok_or_else(|| permanent("name_missing"))?;
        let name = format!("{first} {last}");
        let query = ScreeningQuery {
            name: &name,
            birth_date: input.person().birth_date.map(|b| b.date()),
            individuals_only: true,
        };
        let result = self.list.current().await?.screen(&query);
        let matches = result
            .matches
            .into_iter()
            .map(|m| ScreeningHit {
                list: m.list.to_string(),
                list_id: m.list_id,
                name: m.name,
                score: m.score,
                dob_match: m.dob_match,
            })
            .collect();
        Ok(StepOutcome::Peps { count: result.count, outcome: result.outcome, matches })
    }
}

pub struct BankCheck {
    pub data: Arc<dyn BankData>,
}

#[async_trait]
impl CheckProvider for BankCheck {
    fn name(&self, _step: Step) -> &'static str {
        self.data.name()
    }

    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError> {
        let account = input.session.details.bank.as_ref().ok_or_else(|| permanent("details_missing"))?;
        let (first, last) = full_name(&input).ok_or_else(|| permanent("name_missing"))?;
        bank::check(&*self.data, account, &first, &last).await
    }
}

/// Sends each step to the provider configured for it.
pub struct StepProviders {
    pub document: Arc<dyn CheckProvider>,
    pub liveness: Arc<dyn CheckProvider>,
    pub dvs: Arc<dyn CheckProvider>,
    pub peps: Arc<dyn CheckProvider>,
    pub bank: Arc<dyn CheckProvider>,
}

impl StepProviders {
    /// Every step on one provider (the sandbox, say).
    pub fn all(provider: Arc<dyn CheckProvider>) -> Self {
        Self {
            document: provider.clone(),
            liveness: provider.clone(),
            dvs: provider.clone(),
            peps: provider.clone(),
            bank: provider,
        }
    }

    pub fn for_step(&self, step: Step) -> &dyn CheckProvider {
        match step {
            Step::Document => &*self.document,
            Step::Liveness => &*self.liveness,
            Step::Dvs => &*self.dvs,
            Step::Peps => &*self.peps,
            Step::Bank => &*self.bank,
        }
    }
}

#[async_trait]
impl CheckProvider for StepProviders {
    fn name(&self, step: Step) -> &'static str {
        self.for_step(step).name(step)
    }

    async fn run(&self, input: StepInput<'_>) -> Result<StepOutcome, CheckError> {
        self.for_step(input.step).run(input).await
    }
}
