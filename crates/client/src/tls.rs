//! TLS client configuration shared by every connection the client makes (HTTPS, WSS, TURN
//! over TLS): rustls with the ring provider, trusting the platform's roots, or only the
//! given roots when a caller (a test, a self-hosted server with a private CA) supplies them.

use std::sync::Arc;

use rustls::client::ClientConfig;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

use crate::error::ClientError;

/// Which certificates a TLS connection trusts.
#[derive(Debug, Clone, Default)]
pub enum Trust {
    /// The operating system's trust store.
    #[default]
    Platform,
    /// Only these roots (DER).
    Only(Vec<CertificateDer<'static>>),
}

/// Builds the rustls configuration for `trust`, with `alpn` protocols.
pub fn client_config(trust: &Trust, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    let mut config = match trust {
        Trust::Platform => {
            let verifier = rustls_platform_verifier::Verifier::new(provider)
                .map_err(|e| ClientError::Tls(e.to_string()))?;
            builder
                .dangerous()
                // Not dangerous: this is the platform's own verifier, the recommended one.
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
        Trust::Only(roots) => {
            let mut store = RootCertStore::empty();
            for root in roots {
                store
                    .add(root.clone())
                    .map_err(|e| ClientError::Tls(format!("unusable root certificate: {e}")))?;
            }
            builder.with_root_certificates(store).with_no_client_auth()
        }
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}
