//! The AWS SDK configuration, loaded once per cold start and shared by every client.
//!
//! Its HTTPS client trusts root certificates compiled into the binary instead of the
//! platform's: loading the platform store reads every file of the certificate directory, and
//! the SDK parses the trust store again for every client it builds, which together were most
//! of the functions' init time (README "Cold start"). By default only Amazon Trust Services'
//! roots are trusted, which sign every AWS service endpoint the SDK talks to; `TI_TLS_ROOTS`
//! widens that to all of Mozilla's roots (`bundled`) or the platform store (`native`, for a
//! proxy with its own certificate authority).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
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

/// The default credential chain, region and endpoint overrides (`AWS_ENDPOINT_URL*`), with an
/// HTTPS client trusting `roots`.
pub async fn load(roots: TlsRoots) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    let trusted: fn(&[u8]) -> bool = match roots {
        TlsRoots::Native => return loader.load().await,
        TlsRoots::Aws => is_amazon_root,
        TlsRoots::Bundled => |_| true,
    };
    let context = TlsContext::builder().with_trust_store(bundled_trust_store(trusted)).build().expect("a TLS context");
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .tls_context(context)
        .build_https();
    loader.http_client(client).load().await
}

/// [`load`] with the roots `TI_TLS_ROOTS` names.
pub async fn from_env() -> Result<SdkConfig, crate::config::ConfigError> {
    Ok(load(TlsRoots::from_env()?).await)
}

/// Amazon Root CA 1–4 and Starfield Services Root G2, the roots of Amazon Trust Services, found
/// by their subject names (DER keeps them as plain strings).
fn is_amazon_root(der: &[u8]) -> bool {
    const SUBJECTS: [&[u8]; 2] = [b"Amazon Root CA ", b"Starfield Services Root Certificate Authority - G2"];
    SUBJECTS.iter().any(|subject| der.windows(subject.len()).any(|w| w == *subject))
}

/// The SDK's trust store takes PEM; the bundled roots are DER.
fn bundled_trust_store(trusted: fn(&[u8]) -> bool) -> TrustStore {
    let mut trust = TrustStore::empty().with_native_roots(false);
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().filter(|der| trusted(der)) {
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

    #[test]
    fn the_aws_roots_are_amazon_trust_services_five() {
        let kept = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().filter(|der| is_amazon_root(der)).count();
        assert_eq!(kept, 5, "Amazon Root CA 1-4 and Starfield Services Root G2");
    }

    #[tokio::test]
    async fn a_client_on_the_aws_roots_builds_its_connector_and_sends() {
        // The SDK parses the trust store when it first builds a connector; a bad certificate
        // would panic there. Nothing listens on port 9, so the request fails to dispatch.
        let config = load(TlsRoots::Aws).await;
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&config).endpoint_url("http://127.0.0.1:9").build(),
        );
        let err = sqs.list_queues().send().await.expect_err("nothing listens on port 9");
        assert!(matches!(err, aws_sdk_sqs::error::SdkError::DispatchFailure(_)), "{err:?}");
    }
}
