//! The AWS SDK configuration, built once per cold start and shared by every client.
//!
//! A function's configuration comes from its environment alone ([`from_env`]): Lambda puts
//! the region and the role's credentials there, and the SDK's general loader, with its
//! profiles, SSO and metadata providers, was a measurable part of every cold start.
//!
//! The HTTPS client ([`https_client`]) trusts root certificates compiled into the binary
//! instead of the platform's: loading the platform store reads every file of the certificate
//! directory, and the SDK parses the trust store again for every client it builds, which
//! together were most of the functions' init time (README "Cold start"). By default only
//! Amazon Trust Services' roots are trusted, which sign every AWS service endpoint the SDK
//! talks to; `TI_TLS_ROOTS` widens that to all of Mozilla's roots (`bundled`) or the platform
//! store (`native`, for a proxy with its own certificate authority). The platform store is
//! loaded once per process, as the SDK validates the first service client; the compiled-in
//! stores skip that validation, which would only parse them for nothing.

mod environment;
mod failure;

#[cfg(test)]
pub(crate) use environment::test_vars;
pub use environment::{AwsEnvironment, from_env};
pub(crate) use failure::{described, retryable};

use std::sync::atomic::{AtomicBool, Ordering};

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::config_bag::ConfigBag;
use base64::Engine;

/// Where the HTTPS clients find the certificate authorities they trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsRoots {
    /// Amazon Trust Services' roots (from Mozilla's store, compiled in).
    Aws,
    /// All of Mozilla's roots, compiled in.
    Bundled,
    /// The operating system's store.
    Native,
}

impl TlsRoots {
    /// `TI_TLS_ROOTS`: `aws` (the default), `bundled` or `native`.
    pub fn from_env() -> Result<Self, crate::config::ConfigError> {
        match std::env::var("TI_TLS_ROOTS").as_deref() {
            Err(_) | Ok("") | Ok("aws") => Ok(TlsRoots::Aws),
            Ok("bundled") => Ok(TlsRoots::Bundled),
            Ok("native") => Ok(TlsRoots::Native),
            Ok(other) => Err(crate::config::ConfigError::Invalid { name: "TI_TLS_ROOTS", reason: other.to_owned() }),
        }
    }
}

/// The SDK's HTTPS client (rustls on aws-lc) trusting `roots`.
pub fn https_client(roots: TlsRoots) -> SharedHttpClient {
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc));
    let trust = match roots {
        TlsRoots::Native => return ValidatedOnce::pending(builder.build_https()),
        TlsRoots::Aws => TrustStore::empty().with_native_roots(false).with_pem_certificate(AMAZON_ROOTS_PEM),
        TlsRoots::Bundled => bundled_trust_store(),
    };
    let context = TlsContext::builder().with_trust_store(trust).build().expect("a TLS context");
    ValidatedOnce::compiled_in(builder.tls_context(context).build_https())
}

/// The SDK validates the HTTP client as it builds each service client. The validation builds
/// a TLS connector and drops it: what it leaves behind is the platform store, loaded and
/// cached before the first request. The client is the same for every service, so once per
/// process says all there is to say; with compiled-in roots there is nothing to cache, and
/// the validation would parse the trust store only to throw it away (0.05 ms of every cold
/// start). Those stores are checked by the tests below instead, which build a connector on
/// each and send through it.
#[derive(Debug)]
struct ValidatedOnce {
    inner: SharedHttpClient,
    validated: AtomicBool,
}

impl ValidatedOnce {
    /// Validated as the first service client is built.
    fn pending(inner: SharedHttpClient) -> SharedHttpClient {
        ValidatedOnce { inner, validated: AtomicBool::new(false) }.into_shared()
    }

    /// Never validated at run time: the trust store is part of the binary.
    fn compiled_in(inner: SharedHttpClient) -> SharedHttpClient {
        ValidatedOnce { inner, validated: AtomicBool::new(true) }.into_shared()
    }
}

impl HttpClient for ValidatedOnce {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        if self.validated.load(Ordering::Acquire) {
            return Ok(());
        }
        // A failure is not remembered: the next client validates again and fails the same way.
        self.inner.validate_base_client_config(components, cfg)?;
        self.validated.store(true, Ordering::Release);
        Ok(())
    }

    fn validate_final_config(&self, components: &RuntimeComponents, cfg: &ConfigBag) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

/// Amazon Root CA 1–4 and Starfield Services Root G2, the roots of Amazon Trust Services, which
/// sign every AWS service endpoint: Mozilla's certificates, kept as PEM in the crate so that a
/// cold start neither searches Mozilla's 146 roots for them nor re-encodes them (together
/// 0.04 ms). A test holds the file to the bundled store.
const AMAZON_ROOTS_PEM: &[u8] = include_bytes!("amazon-roots.pem");

/// The SDK's trust store takes PEM; the bundled roots are DER.
fn bundled_trust_store() -> TrustStore {
    let mut trust = TrustStore::empty().with_native_roots(false);
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        trust.add_pem_certificate(pem_certificate(der));
    }
    trust
}

fn pem_certificate(der: &[u8]) -> Vec<u8> {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::with_capacity(body.len() + body.len() / 64 + 64);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_root_round_trips_through_pem() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100, "Mozilla's store has well over 100 roots");
        for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let pem = pem_certificate(der);
            let parsed: Vec<CertificateDer> = CertificateDer::pem_slice_iter(&pem).collect::<Result<_, _>>().unwrap();
            assert_eq!(parsed.len(), 1);
            assert_eq!(parsed[0].as_ref(), der.as_ref());
        }
    }

    #[test]
    fn tls_roots_are_chosen_explicitly() {
        // One test owns the variable: tests in a binary share the process environment.
        unsafe { std::env::set_var("TI_TLS_ROOTS", "native") };
        assert_eq!(TlsRoots::from_env().unwrap(), TlsRoots::Native);
        unsafe { std::env::set_var("TI_TLS_ROOTS", "system") };
        assert!(TlsRoots::from_env().is_err(), "an unknown choice is refused, not defaulted");
        unsafe { std::env::set_var("TI_TLS_ROOTS", "bundled") };
        assert_eq!(TlsRoots::from_env().unwrap(), TlsRoots::Bundled);
        unsafe { std::env::remove_var("TI_TLS_ROOTS") };
        assert_eq!(TlsRoots::from_env().unwrap(), TlsRoots::Aws);
    }

    /// Found by subject name (DER keeps names as plain strings).
    fn is_amazon_root(der: &[u8]) -> bool {
        let named = |subject: &[u8]| der.windows(subject.len()).any(|w| w == subject);
        named(b"Amazon Root CA ") || named(b"Starfield Services Root Certificate Authority - G2")
    }

    /// `TI_UPDATE_ROOTS=1` rewrites the file from the bundled store, for a new
    /// `webpki-root-certs` that adds or retires one of Amazon's roots.
    #[test]
    fn the_aws_roots_are_amazon_trust_services_five_from_mozillas_store() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let mozilla: Vec<&[u8]> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| c.as_ref())
            .filter(|der| is_amazon_root(der))
            .collect();
        if std::env::var_os("TI_UPDATE_ROOTS").is_some() {
            let mut pem = b"# Amazon Trust Services' roots, from Mozilla's store (webpki-root-certs).\n".to_vec();
            mozilla.iter().for_each(|der| pem.extend(pem_certificate(der)));
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/sdk/amazon-roots.pem"), pem).unwrap();
            return;
        }
        let kept: Vec<CertificateDer> =
            CertificateDer::pem_slice_iter(AMAZON_ROOTS_PEM).collect::<Result<_, _>>().unwrap();
        assert_eq!(mozilla.len(), 5, "Amazon Root CA 1-4 and Starfield Services Root G2");
        assert!(
            kept.iter().map(|c| c.as_ref()).eq(mozilla.iter().copied()),
            "amazon-roots.pem differs from the bundled store: TI_UPDATE_ROOTS=1 cargo test -p shared --features aws --lib sdk:: rewrites it"
        );
    }

    /// Counts validations; no request is ever sent through it.
    #[derive(Debug, Clone, Default)]
    struct Counting {
        validations: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        fail: bool,
    }

    impl Counting {
        fn count(&self) -> usize {
            self.validations.load(Ordering::SeqCst)
        }
    }

    impl HttpClient for Counting {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            unreachable!("the tests only build clients")
        }

        fn validate_base_client_config(&self, _: &RuntimeComponentsBuilder, _: &ConfigBag) -> Result<(), BoxError> {
            self.validations.fetch_add(1, Ordering::SeqCst);
            if self.fail { Err("no trust store".into()) } else { Ok(()) }
        }
    }

    /// Builds an SQS client on `http`; the SDK panics when the HTTP client fails validation.
    fn sqs_client_on(http: SharedHttpClient) -> bool {
        let conf = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("ap-southeast-2"))
            .http_client(http)
            .build();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| aws_sdk_sqs::Client::from_conf(conf))).is_ok()
    }

    #[test]
    fn the_http_client_is_validated_once_for_all_service_clients() {
        let counting = Counting::default();
        let shared = ValidatedOnce::pending(counting.clone().into_shared());
        for _ in 0..3 {
            assert!(sqs_client_on(shared.clone()));
        }
        assert_eq!(counting.count(), 1);
    }

    #[test]
    fn a_failed_validation_is_not_remembered_as_a_pass() {
        let counting = Counting { fail: true, ..Default::default() };
        let shared = ValidatedOnce::pending(counting.clone().into_shared());
        assert!(!sqs_client_on(shared.clone()), "the SDK refuses a client that fails validation");
        assert!(!sqs_client_on(shared), "and refuses it again");
        assert_eq!(counting.count(), 2);
    }

    #[test]
    fn a_compiled_in_store_is_never_validated_at_run_time() {
        let counting = Counting { fail: true, ..Default::default() };
        let shared = ValidatedOnce::compiled_in(counting.clone().into_shared());
        assert!(sqs_client_on(shared.clone()) && sqs_client_on(shared));
        assert_eq!(counting.count(), 0);
    }

    #[tokio::test]
    async fn a_client_on_each_compiled_in_store_builds_its_connector_and_sends() {
        // The SDK parses the trust store when it first builds a connector; a bad certificate
        // would panic there, at the first request, as no validation builds one earlier.
        for roots in [TlsRoots::Aws, TlsRoots::Bundled] {
            sends_through(https_client(roots)).await;
        }
    }

    /// Nothing listens on port 9, so the request fails to dispatch.
    async fn sends_through(http: SharedHttpClient) {
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::Config::builder()
                .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
                .region(aws_sdk_sqs::config::Region::new("ap-southeast-2"))
                .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                    "AKIDEXAMPLE",
                    "secret",
                    None,
                    None,
                    "test",
                ))
                .http_client(http)
                .endpoint_url("http://127.0.0.1:9")
                .build(),
        );
        let err = sqs.list_queues().send().await.expect_err("nothing listens on port 9");
        assert!(matches!(err, aws_sdk_sqs::error::SdkError::DispatchFailure(_)), "{err:?}");
    }
}
