//! TLS on a run's Redis nodes (`tls: true`, issue 20): the run's
//! certificate authority ([`crate::fabric::tls`]) is made once per run and
//! its certificate written to `<run>/ca.pem` (what clients verify
//! against); each redis-server and Sentinel of a TLS node gets its own
//! certificate and key in its directory and listens with TLS only — `port
//! 0`, the planned port as `tls-port` — and replicates, monitors and talks
//! to the other Sentinels over TLS (`tls-replication yes`). Clients prove
//! who they are with the password (or an ACL user), not a certificate
//! (`tls-auth-clients no`), as ElastiCache's in-transit encryption does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::conf::{Conf, quoted};
use crate::fabric::tls::RunCa;
use crate::provision::ProvisionError;
use crate::provision::rundir::{RunDir, write_private};

/// The run's authority, and its certificate as clients read it.
pub struct RunTls {
    ca: RunCa,
    /// The authority's certificate, PEM.
    pub pem: Arc<[u8]>,
    /// `<run>/ca.pem`.
    pub path: PathBuf,
}

impl RunTls {
    /// A new authority for `run`, its certificate written to `ca.pem`.
    pub fn new(run: &RunDir) -> Result<Self, ProvisionError> {
        let ca = RunCa::new(&run.id).map_err(ProvisionError::Setup)?;
        let pem: Arc<[u8]> = ca.cert_pem().into_bytes().into();
        let path = run.path.join("ca.pem");
        write_private(&path, &pem)
            .map_err(ProvisionError::io(format!("writing {}", path.display())))?;
        Ok(Self { ca, pem, path })
    }

    /// Give process `name` (directory `dir`) its certificate and make it
    /// listen on `port` with TLS only.
    pub fn serve(
        &self,
        name: &str,
        dir: &Path,
        port: u16,
        conf: &mut Conf,
    ) -> Result<(), ProvisionError> {
        let cert = self.ca.server(name).map_err(ProvisionError::Setup)?;
        let file = |file: &str, text: &str| -> Result<PathBuf, ProvisionError> {
            let p = dir.join(file);
            write_private(&p, text.as_bytes())
                .map_err(ProvisionError::io(format!("writing {}", p.display())))?;
            Ok(p)
        };
        let crt = file("tls.crt", &cert.cert_pem)?;
        let key = file("tls.key", &cert.key_pem)?;
        let ca = file("ca.pem", &self.ca.cert_pem())?;
        // Later lines win in redis.conf: the plaintext port is closed.
        conf.set("port", 0)
            .set("tls-port", port)
            .set("tls-cert-file", quoted(&crt))
            .set("tls-key-file", quoted(&key))
            .set("tls-ca-cert-file", quoted(&ca))
            .set("tls-auth-clients", "no")
            .set("tls-replication", "yes");
        Ok(())
    }
}
