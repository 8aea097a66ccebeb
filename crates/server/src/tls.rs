//! HTTPS/WSS: loading PEM files into a rustls configuration. Handshakes happen in each
//! connection's own task (see `listen`), so one slow client cannot hold up everyone else's.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

use crate::config::TlsFiles;
use crate::error::ServerError;

/// Builds a rustls server configuration (ring provider, TLS 1.2 and 1.3) from PEM files.
pub fn load_server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let cert_pem = std::fs::read(&files.cert).map_err(|e| {
        ServerError::Tls(format!(
            "cannot read certificate {}: {e}",
            files.cert.display()
        ))
    })?;
    let key_pem = std::fs::read(&files.key)
        .map_err(|e| ServerError::Tls(format!("cannot read key {}: {e}", files.key.display())))?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ServerError::Tls(format!("bad certificate PEM {}: {e}", files.cert.display()))
        })?;
    if certs.is_empty() {
        return Err(ServerError::Tls(format!(
            "no certificate found in {}",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| ServerError::Tls(format!("bad key PEM {}: {e}", files.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(format!("certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
