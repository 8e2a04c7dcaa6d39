//! TLS for the client: rustls, verifying servers against the system's root certificates, which are read
//! on the first HTTPS handshake instead of when the client is built.
//!
//! Reading them means opening and parsing every file of the system's certificate store (about 150 on a
//! Debian machine): a few milliseconds and a few hundred KB of memory at every start-up. A crawl that only
//! meets `http://` URLs never needs them, and a machine without a certificate store can still crawl those.
//! Verification itself is the system verifier's (`rustls-platform-verifier`, as reqwest would set it up),
//! unchanged: this only delays building it.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_platform_verifier::Verifier;

/// The client's TLS set-up: TLS 1.2 and 1.3 on ring, system roots read on first use, and ALPN offering
/// HTTP/2 then HTTP/1.1 (what reqwest would configure itself).
pub(crate) fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(SystemRoots { provider: provider.clone(), verifier: OnceLock::new() });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The system's verifier, built on the first certificate it is asked to check. Signatures over the
/// handshake need no roots: those are checked with the provider's algorithms, as the verifier would.
#[derive(Debug)]
struct SystemRoots {
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<Result<Verifier, rustls::Error>>,
}

impl SystemRoots {
    fn verifier(&self) -> Result<&Verifier, rustls::Error> {
        let built = self.verifier.get_or_init(|| {
            let built = Verifier::new(self.provider.clone());
            if let Err(e) = &built {
                tracing::warn!(error = %e, "no root certificates: every HTTPS fetch of this crawl fails");
            }
            built
        });
        built.as_ref().map_err(Clone::clone)
    }
}

impl ServerCertVerifier for SystemRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
