//! A TLS client for protocol code of our own (memcached's text protocol;
//! redis-rs and the AWS SDK bring theirs): the same rustls, verifying
//! against one authority (PEM) only — never the system's roots — and the
//! server's certificate checked for a name that may differ from the host
//! connected to (a server reached through our link proxy on 127.0.0.1, or
//! by its IP address).

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// How to open TLS to a server: the authority, and the name to check.
#[derive(Clone)]
pub struct ClientTls {
    connector: TlsConnector,
    server_name: Option<String>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Verify against the certificates in `ca_pem`; check servers for
    /// `server_name`, else for the host connected to.
    pub fn new(ca_pem: &[u8], server_name: Option<String>) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|e| format!("the authority file: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("the authority file: {e}"))?;
        }
        if roots.is_empty() {
            return Err("the authority file holds no certificate".into());
        }
        let provider = tokio_rustls::rustls::crypto::ring::default_provider();
        let config = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        if let Some(n) = &server_name {
            ServerName::try_from(n.as_str()).map_err(|e| format!("server name {n:?}: {e}"))?;
        }
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }

    /// TLS over `tcp`, a connection to `host`: the certificate must be
    /// valid for the server name, else for `host`.
    pub async fn connect(
        &self,
        tcp: TcpStream,
        host: &str,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let name = self.server_name.as_deref().unwrap_or(host);
        let name = ServerName::try_from(name.to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        self.connector.connect(name, tcp).await
    }
}
