//! The cluster's PKI and the TLS configurations QUIC runs on.
//!
//! Bootstrap creates a cluster CA. Every node holds a certificate signed by
//! it whose subject alternative names are `n<id>.paddle` (its identity) and
//! `cluster.paddle` (what a joining node asks for before it knows any id).
//! Both sides of a peer connection authenticate: a node dials `n<id>.paddle`,
//! so a peer holding another id's certificate fails the handshake, and the
//! accepting side reads the caller's id out of its client certificate and
//! checks it against every Raft message. A connection without a client
//! certificate is allowed only to ask to join.
//!
//! Certificates are checked without the wall clock: every check runs as of
//! [`VERIFY_AT`], inside the validity every Paddle certificate has (2024 to
//! 2074). A venue machine whose clock is years off (a flat clock battery)
//! must still reach its peers, so that cluster time can be agreed and the
//! machine flagged; expiry would add nothing here, as the CA is the
//! cluster's own and removed nodes are refused by id.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::types::NodeId;

/// ALPN protocol id of Paddle's peer protocol, version 1.
pub const ALPN: &[u8] = b"paddle/1";
/// The name every node certificate carries, used while joining.
pub const CLUSTER_NAME: &str = "cluster.paddle";

/// TLS and certificate problems.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("bad PEM: {0}")]
    Pem(String),
    #[error("client verifier: {0}")]
    Verifier(String),
}

/// The instant every certificate check is made as of (2026-01-01), instead
/// of this machine's clock; see the module docs.
pub const VERIFY_AT: UnixTime = UnixTime::since_unix_epoch(Duration::from_secs(1_767_225_600));

/// The DNS name that identifies node `id` in its certificate.
pub fn node_name(id: NodeId) -> String {
    format!("n{id}.paddle")
}

/// The crypto provider used everywhere: ring, chosen explicitly so that a
/// second provider compiled in by some dependency never makes rustls guess.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The cluster CA: its certificate (shared with everyone) and key (kept on
/// the nodes that sign certificates, mode 0600).
#[derive(Clone)]
pub struct CaBundle {
    pub cert_pem: String,
    pub key_pem: String,
}

impl CaBundle {
    /// A new CA for a new cluster.
    pub fn generate(cluster_id: &str) -> Result<Self, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            format!("Paddle cluster CA {cluster_id}"),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2074, 1, 1);
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(CaBundle {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Sign a node's certificate request, naming it `id`. Whatever names the
    /// request asks for are ignored: the CA decides who the node is.
    pub fn sign_node(&self, csr_pem: &str, id: NodeId) -> Result<String, TlsError> {
        let key = KeyPair::from_pem(&self.key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, key)?;
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)?;
        csr.params = node_params(id)?;
        Ok(csr.signed_by(&issuer)?.pem())
    }

    /// SHA-256 of the CA certificate (hex): what a join token pins.
    pub fn fingerprint(&self) -> Result<String, TlsError> {
        fingerprint_pem(&self.cert_pem)
    }

    /// Is the key the one the certificate was made for? (A node receiving
    /// the CA from another checks this before keeping it.)
    pub fn key_matches(&self) -> Result<bool, TlsError> {
        let key = KeyPair::from_pem(&self.key_pem)?;
        let der = CertificateDer::from_pem_slice(self.cert_pem.as_bytes())
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        Ok(cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw())
    }
}

/// A web server certificate issued by the cluster CA (`paddle cluster
/// cert`): what browsers on staff devices that trust the CA accept for the
/// node's HTTPS.
pub struct WebCert {
    /// The leaf, then the CA certificate (the chain a server sends).
    pub chain_pem: String,
    /// The leaf's fresh key (keep it 0600).
    pub key_pem: String,
}

impl CaBundle {
    /// Sign a certificate for the web UI naming `dns_names` and `ips`
    /// (serverAuth only), valid from an hour ago for `days` days. Unlike
    /// member certificates, browsers check these against their own clock,
    /// so the validity is real, and short enough for Apple's 825-day cap on
    /// certificates under a user-installed CA.
    pub fn sign_web(
        &self,
        dns_names: &[String],
        ips: &[std::net::IpAddr],
        days: u32,
    ) -> Result<WebCert, TlsError> {
        let ca_key = KeyPair::from_pem(&self.key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, ca_key)?;
        let mut params = CertificateParams::new(dns_names.to_vec())?;
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| rcgen::SanType::IpAddress(*ip)));
        let mut dn = DistinguishedName::new();
        let first = dns_names
            .first()
            .cloned()
            .or_else(|| ips.first().map(ToString::to_string))
            .unwrap_or_default();
        dn.push(DnType::CommonName, first);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        // An ECDSA key only signs (no key encipherment).
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(i64::from(days));
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(WebCert {
            chain_pem: format!("{}{}", cert.pem(), self.cert_pem),
            key_pem: key.serialize_pem(),
        })
    }
}

fn node_params(id: NodeId) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(vec![node_name(id), CLUSTER_NAME.to_string()])?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("paddle node {id}"));
    params.distinguished_name = dn;
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2074, 1, 1);
    Ok(params)
}

/// A fresh node key and a certificate request for it. The key never leaves
/// the node; the request goes to a node holding the CA key.
pub fn generate_node_key() -> Result<(String, String), TlsError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = DistinguishedName::new();
    let csr = params.serialize_request(&key)?;
    Ok((key.serialize_pem(), csr.pem()?))
}

/// SHA-256 (hex) of the first certificate in `pem`.
pub fn fingerprint_pem(pem: &str) -> Result<String, TlsError> {
    let der = certs_from_pem(pem)?
        .into_iter()
        .next()
        .ok_or_else(|| TlsError::Pem("no certificate".into()))?;
    Ok(fingerprint_der(&der))
}

/// SHA-256 (hex) of a DER certificate.
pub fn fingerprint_der(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

fn certs_from_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))
}

fn key_from_pem(pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| TlsError::Pem(e.to_string()))
}

/// The node id a certificate names (`n<id>.paddle`), if any.
pub fn node_id_of(cert: &CertificateDer<'_>) -> Option<NodeId> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let san = parsed.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|name| match name {
        x509_parser::extensions::GeneralName::DNSName(dns) => {
            dns.strip_prefix('n')?.strip_suffix(".paddle")?.parse().ok()
        }
        _ => None,
    })
}

/// Everything a member node needs to speak TLS: its id, its certificate and
/// key, and the CA certificate it trusts.
#[derive(Clone)]
pub struct NodeIdentity {
    pub node_id: NodeId,
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

impl NodeIdentity {
    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        for c in certs_from_pem(&self.ca_pem)? {
            roots.add(c)?;
        }
        Ok(roots)
    }

    /// Our certificate followed by the CA's, so a joining node can see and
    /// pin the CA it was told about.
    fn chain(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let mut chain = certs_from_pem(&self.cert_pem)?;
        chain.extend(certs_from_pem(&self.ca_pem)?);
        Ok(chain)
    }

    /// Server side: present our chain; verify client certificates against
    /// the CA but also admit clients without one (they may only join).
    pub fn server_config(&self) -> Result<rustls::ServerConfig, TlsError> {
        let provider = provider();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(self.roots()?), provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(Arc::new(ClockFreeClientVerifier(verifier)))
            .with_single_cert(self.chain()?, key_from_pem(&self.key_pem)?)?;
        cfg.alpn_protocols = vec![ALPN.to_vec()];
        Ok(cfg)
    }

    /// Client side for peers: trust only the CA, present our certificate.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, TlsError> {
        let provider = provider();
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(self.roots()?), provider.clone())
                .build()
                .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ClockFreeServerVerifier {
                trust: Trust::Known(inner),
                provider,
            }))
            .with_client_auth_cert(self.chain()?, key_from_pem(&self.key_pem)?)?;
        cfg.alpn_protocols = vec![ALPN.to_vec()];
        Ok(cfg)
    }
}

/// Client side for a node that is joining: it has no certificate yet and
/// knows the CA only by the fingerprint in its join token. The server must
/// present a chain whose CA matches that fingerprint and whose leaf that CA
/// signed for `cluster.paddle`; anything else fails the handshake.
pub fn join_client_config(ca_fingerprint: &str) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let verifier = ClockFreeServerVerifier {
        trust: Trust::Pinned(ca_fingerprint.to_ascii_lowercase()),
        provider: provider.clone(),
    };
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![ALPN.to_vec()];
    Ok(cfg)
}

/// Which CA a server certificate must chain to.
#[derive(Debug)]
enum Trust {
    /// The cluster CA this member holds.
    Known(Arc<WebPkiServerVerifier>),
    /// A joining node's: the CA the server presents in its chain, if its
    /// SHA-256 is the one pinned by the join token.
    Pinned(String),
}

/// A client's check of a server certificate: the CA's signature and the
/// name, as of [`VERIFY_AT`] rather than this machine's clock.
#[derive(Debug)]
struct ClockFreeServerVerifier {
    trust: Trust,
    provider: Arc<CryptoProvider>,
}

impl ClockFreeServerVerifier {
    /// The WebPKI verifier for this chain: the known one, or one trusting
    /// only the pinned CA found among `intermediates`.
    fn for_chain(
        &self,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<Arc<WebPkiServerVerifier>, rustls::Error> {
        let fingerprint = match &self.trust {
            Trust::Known(v) => return Ok(v.clone()),
            Trust::Pinned(f) => f,
        };
        let ca = intermediates
            .iter()
            .find(|c| fingerprint_der(c.as_ref()) == *fingerprint)
            .ok_or_else(|| {
                rustls::Error::General(
                    "the node's CA does not match the fingerprint in the join token (wrong cluster, or a tampered token)"
                        .into(),
                )
            })?;
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))
    }
}

impl ServerCertVerifier for ClockFreeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // A pinned CA is the root; the chain's other certificates are not
        // needed to reach it.
        let rest: &[CertificateDer<'_>] = match self.trust {
            Trust::Known(_) => intermediates,
            Trust::Pinned(_) => &[],
        };
        self.for_chain(intermediates)?.verify_server_cert(
            end_entity,
            rest,
            server_name,
            ocsp_response,
            VERIFY_AT,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The accepting side's check of a client certificate, as of
/// [`VERIFY_AT`] rather than this machine's clock.
#[derive(Debug)]
struct ClockFreeClientVerifier(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for ClockFreeClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.0.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.0.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.0
            .verify_client_cert(end_entity, intermediates, VERIFY_AT)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Build a member identity for node `id` under `ca` in one step (bootstrap,
/// tests): a fresh key, its request, signed at once.
pub fn issue_identity(ca: &CaBundle, id: NodeId) -> Result<NodeIdentity, TlsError> {
    let (key_pem, csr) = generate_node_key()?;
    let cert_pem = ca.sign_node(&csr, id)?;
    Ok(NodeIdentity {
        node_id: id,
        cert_pem,
        key_pem,
        ca_pem: ca.cert_pem.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_certificates_name_their_id() {
        let ca = CaBundle::generate("test").unwrap();
        let id = issue_identity(&ca, 42).unwrap();
        let der = certs_from_pem(&id.cert_pem).unwrap().remove(0);
        assert_eq!(node_id_of(&der), Some(42));
        assert_eq!(ca.fingerprint().unwrap().len(), 64);
        id.server_config().unwrap();
        id.client_config().unwrap();
        join_client_config(&ca.fingerprint().unwrap()).unwrap();
    }

    #[test]
    fn a_request_cannot_choose_its_own_name() {
        let ca = CaBundle::generate("test").unwrap();
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![node_name(1)]).unwrap();
        let csr = params.serialize_request(&key).unwrap().pem().unwrap();
        let cert = ca.sign_node(&csr, 7).unwrap();
        let der = certs_from_pem(&cert).unwrap().remove(0);
        assert_eq!(node_id_of(&der), Some(7));
    }
}

#[cfg(test)]
mod ca_tests {
    use super::*;

    #[test]
    fn web_certificates_chain_to_the_ca_with_the_names_asked() {
        let ca = CaBundle::generate("web").unwrap();
        let ip: std::net::IpAddr = "10.0.0.5".parse().unwrap();
        let web = ca
            .sign_web(&["venue.local".to_string()], &[ip], 30)
            .unwrap();
        let chain = certs_from_pem(&web.chain_pem).unwrap();
        assert_eq!(chain.len(), 2);
        let mut roots = RootCertStore::empty();
        roots.add(chain[1].clone()).unwrap();
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
        for name in ["venue.local", "10.0.0.5"] {
            let name = ServerName::try_from(name).unwrap();
            verifier
                .verify_server_cert(&chain[0], &[], &name, &[], UnixTime::now())
                .unwrap();
        }
        let other = ServerName::try_from("other.local").unwrap();
        assert!(verifier
            .verify_server_cert(&chain[0], &[], &other, &[], UnixTime::now())
            .is_err());
    }

    #[test]
    fn a_ca_key_matches_only_its_own_certificate() {
        let a = CaBundle::generate("a").unwrap();
        let b = CaBundle::generate("b").unwrap();
        assert!(a.key_matches().unwrap());
        let mixed = CaBundle {
            cert_pem: a.cert_pem.clone(),
            key_pem: b.key_pem.clone(),
        };
        assert!(!mixed.key_matches().unwrap());
    }
}
