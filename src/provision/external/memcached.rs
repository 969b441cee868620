//! External memcached servers: sessions are sharded over the addresses in
//! their order (as the `memcached` strategy does), and each must answer
//! `version`. (The run's keys are deleted by `drill::external_cleanup`.)

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{EXCHANGE, ExternalAccess, answers_within, behind_proxy, handle};
use crate::fabric::tls_client::ClientTls;
use crate::provision::ProvisionError;
use crate::provision::handle::{ProcessHandle, Role, url_host};
use crate::provision::launch::Ctx;
use crate::topology::{External, Node};

/// A handle per server once each answers; behind a client link proxy each
/// when the run has link faults.
pub(super) async fn up(
    ctx: &Ctx<'_>,
    node: &Node,
    ext: &External,
    access: &ExternalAccess,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    // TLS when the node names an authority, checked for `server_name` (or
    // each address's host).
    let tls = match &access.data.ca {
        Some(ca) => Some(
            ClientTls::new(ca, ext.server_name.clone()).map_err(|e| super::unusable(node, e))?,
        ),
        None => None,
    };
    let tls = tls.as_ref();
    let mut handles = Vec::new();
    for (host, port) in &ext.addresses {
        let (host, port) = (host.as_str(), *port);
        let what = format!("{host}:{port}");
        let ask = || version(host, port, host, tls);
        answers_within(ctx.timeout, &what, ask)
            .await
            .map_err(|e| super::unusable(node, format!("{what}: {e}")))?;
        let url = format!("memcache://{}:{port}", url_host(host));
        let name = ext.process_name(&node.name, host, port);
        let mut h = handle(node, name, (host, port), Role::Endpoint, url);
        h.client_tls = tls.cloned();
        if ctx.proxies {
            behind_proxy(&mut h).await?;
            // Through the proxy the certificate is still checked for the
            // server's own name.
            version(&h.info.client_host(), h.info.client_port(), host, tls)
                .await
                .map_err(|e| super::unusable(node, format!("through the link proxy: {e}")))?;
        }
        handles.push(h);
    }
    Ok(handles)
}

/// `version` on the server at `host:port` (its name `named`, for TLS):
/// Ok when it answers like memcached.
async fn version(
    host: &str,
    port: u16,
    named: &str,
    tls: Option<&ClientTls>,
) -> Result<(), String> {
    async fn ask<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> std::io::Result<String> {
        let mut c = BufReader::new(s);
        c.get_mut().write_all(b"version\r\n").await?;
        c.get_mut().flush().await?;
        let mut line = String::new();
        c.read_line(&mut line).await?;
        Ok(line)
    }
    let exchange = async {
        let tcp = TcpStream::connect((host, port)).await?;
        match tls {
            Some(t) => ask(t.connect(tcp, named).await?).await,
            None => ask(tcp).await,
        }
    };
    match tokio::time::timeout(EXCHANGE, exchange).await {
        Ok(Ok(line)) if line.starts_with("VERSION ") => Ok(()),
        Ok(Ok(line)) => Err(format!(
            "not memcached: it answered {:?} to `version`",
            line.trim_end().chars().take(60).collect::<String>()
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", EXCHANGE.as_secs())),
    }
}
