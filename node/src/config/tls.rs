//! The HTTPS certificate and key named by `tls_cert` / `tls_key`: read,
//! checked (the key must be the certificate's) and turned into the rustls
//! configuration the HTTP listener runs on. Validation and `serve` use the
//! same function, so a config that passes `paddle config check` starts.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// The TLS configuration of the web listener: the chain and key from these
/// files, ring only, HTTP/1.1 offered by ALPN (WebSockets upgrade over
/// HTTP/1.1; over HTTP/2 they would need extended CONNECT).
///
/// Errors name the file and say what is wrong, for the config checker.
pub fn web_server_config(
    cert: &Path,
    key: &Path,
) -> Result<rustls::ServerConfig, (&'static str, String)> {
    let cert_pem = read(cert).map_err(|e| ("tls_cert", e))?;
    let key_pem = read(key).map_err(|e| ("tls_key", e))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ("tls_cert", format!("is not a PEM certificate file ({e})")))?;
    if chain.is_empty() {
        return Err((
            "tls_cert",
            "holds no certificate (expected -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        (
            "tls_key",
            format!("holds no PEM private key ({e}); give the key file, not the certificate"),
        )
    })?;
    let provider = paddle_consensus::tls::provider();
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| ("tls_key", format!("is not a usable private key ({e})")))?;
    let certified = CertifiedKey::new(chain, signing);
    if let Err(e) = certified.keys_match() {
        return Err((
            "tls_key",
            format!(
                "does not belong to the certificate in tls_cert ({e}); give the key that was \
                 written with that certificate"
            ),
        ));
    }
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ("tls_cert", e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot be read ({e})"))
}
