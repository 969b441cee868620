//! A run's own certificate authority (issue 20): made at `up` for a
//! topology whose Redis nodes speak TLS, it signs one certificate per
//! server, valid for 127.0.0.1 and `localhost` — the only addresses our
//! nodes listen on. Nothing is written outside the run directory, and the
//! authority's key never is: it lives in memory for the length of `up`,
//! so nothing can sign for the run afterwards. Clients verify against the
//! authority's certificate (`ca.pem` in the run directory), never against
//! the system's roots and never without verifying.
//!
//! Keys are ECDSA P-256 (rcgen's default with ring, the TLS stack this
//! project already builds; see Cargo.toml).

use std::net::{IpAddr, Ipv4Addr};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// A server's certificate and key, PEM.
#[derive(Clone)]
pub struct ServerCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a key in a log.
        f.debug_struct("ServerCert").finish_non_exhaustive()
    }
}

/// The run's certificate authority.
pub struct RunCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for RunCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunCa").finish_non_exhaustive()
    }
}

fn failed(what: &str) -> impl Fn(rcgen::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

impl RunCa {
    /// A new authority for run `run_id` (its name says so).
    pub fn new(run_id: &str) -> Result<Self, String> {
        let key = KeyPair::generate().map_err(failed("a key for the run's authority"))?;
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(failed("the run's authority"))?;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params
            .distinguished_name
            .push(DnType::CommonName, format!("sessiondrill run {run_id}"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer =
            CertifiedIssuer::self_signed(params, key).map_err(failed("the run's authority"))?;
        Ok(Self { issuer })
    }

    /// The authority's certificate, PEM: what clients verify against.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for server `name` (its common name), valid for
    /// 127.0.0.1 and `localhost`, for serving and — Redis replicas and
    /// Sentinels connect with the same certificate — for connecting.
    pub fn server(&self, name: &str) -> Result<ServerCert, String> {
        let key = KeyPair::generate().map_err(failed("a server key"))?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])
            .map_err(failed("a server certificate"))?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(failed("a server certificate"))?;
        Ok(ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_authority_is_its_own_and_keys_stay_out_of_debug() {
        let a = RunCa::new("r1").unwrap();
        let b = RunCa::new("r2").unwrap();
        assert!(a.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(a.cert_pem(), b.cert_pem());
        let s = a.server("cache-1").unwrap();
        assert!(s.key_pem.contains("PRIVATE KEY"));
        assert!(!format!("{s:?}").contains("PRIVATE"));
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }
}
