//! An external Redis Cluster: reached by its seed addresses (the client
//! learns the rest from `CLUSTER SLOTS`, as every cluster client does);
//! the run's keys are removed from every master the cluster names.

use super::redis::scan_and_unlink;
use super::{ExternalAccess, Removed, answers_within, redis_handle};
use crate::provision::ProvisionError;
use crate::provision::handle::{ProcessHandle, Role};
use crate::provision::launch::Ctx;
use crate::provision::redis::probe::{RedisAccess, RedisProbe};
use crate::topology::{External, Node};

/// A handle per seed, once every seed answers as the strategies' user and
/// the cluster serves every slot.
pub(super) async fn up(
    ctx: &Ctx<'_>,
    node: &Node,
    ext: &External,
    access: &ExternalAccess,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let unusable = |message: String| super::unusable(node, message);
    let mut handles = Vec::new();
    for (host, port) in &ext.addresses {
        let (host, port) = (host.as_str(), *port);
        let probe = RedisProbe::new(port, &access.data.at(host));
        let ping = || async { probe.query::<String>(&redis::cmd("PING")).await.map(drop) };
        let what = format!("{host}:{port}");
        answers_within(ctx.timeout, &what, ping)
            .await
            .map_err(|e| unusable(format!("{what}: {e}")))?;
        let name = ext.process_name(&node.name, host, port);
        handles.push(redis_handle(
            node,
            name,
            (host, port),
            Role::Endpoint,
            &access.data,
        ));
    }
    let (host, port) = ext
        .addresses
        .first()
        .ok_or_else(|| unusable("no address".into()))?;
    let masters = masters(&access.data.at(host), *port)
        .await
        .map_err(|e| unusable(format!("{host}:{port}: {e}")))?;
    if masters.covered != SLOTS {
        return Err(unusable(format!(
            "the cluster serves {} of {SLOTS} slots: not a healthy cluster to drill",
            masters.covered
        )));
    }
    Ok(handles)
}

const SLOTS: u32 = 16384;

/// The masters a cluster names, and how many slots they cover.
struct Masters {
    addrs: Vec<(String, u16)>,
    covered: u32,
}

/// The masters `CLUSTER SLOTS` names, asked of the seed at `port`; a master
/// announced without a host is on the seed's host. Slots are counted once
/// each, whatever the reply repeats.
async fn masters(access: &RedisAccess, port: u16) -> Result<Masters, String> {
    let slots: Vec<redis::Value> = RedisProbe::new(port, access)
        .query(redis::cmd("CLUSTER").arg("SLOTS"))
        .await?;
    let seed_host = access.host.clone().unwrap_or_default();
    let mut seen = vec![false; SLOTS as usize];
    let mut addrs = Vec::new();
    for range in slots {
        let redis::Value::Array(parts) = range else {
            return Err("CLUSTER SLOTS: not a list of ranges".into());
        };
        let num = |v: Option<&redis::Value>| match v {
            Some(redis::Value::Int(n)) => u32::try_from(*n).ok(),
            _ => None,
        };
        let (Some(from), Some(to), Some(redis::Value::Array(master))) =
            (num(parts.first()), num(parts.get(1)), parts.get(2))
        else {
            return Err("CLUSTER SLOTS: a range without its master".into());
        };
        if from > to || to >= SLOTS {
            return Err(format!("CLUSTER SLOTS: no such slot range {from}-{to}"));
        }
        seen[from as usize..=to as usize].fill(true);
        let host = match master.first() {
            Some(redis::Value::BulkString(b)) if !b.is_empty() && b.as_slice() != b"?" => {
                String::from_utf8_lossy(b).into_owned()
            }
            _ => seed_host.clone(),
        };
        let port = num(master.get(1))
            .and_then(|p| u16::try_from(p).ok())
            .filter(|&p| p > 0)
            .ok_or("CLUSTER SLOTS: a master without a port")?;
        if !addrs.contains(&(host.clone(), port)) {
            addrs.push((host, port));
        }
    }
    Ok(Masters {
        addrs,
        covered: seen.iter().filter(|&&s| s).count() as u32,
    })
}

/// Remove run `tag`'s keys from every master, directly (never through a
/// link proxy). Masters are asked of the first seed that answers; a master
/// that fails is reported and the others are still cleaned, and slots no
/// master serves right now (a shard failing over) make the count
/// incomplete, which the result says.
pub(super) async fn remove_run_keys(
    handles: &[&ProcessHandle],
    tag: &str,
) -> Result<Removed, String> {
    let mut last = String::from("no seed");
    for h in handles {
        let Some(access) = &h.redis else { continue };
        let found = match masters(access, h.info.port).await {
            Ok(m) => m,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let mut total = Removed::default();
        let mut failed = Vec::new();
        for (host, port) in found.addrs {
            let on = RedisAccess {
                host: Some(host.clone()),
                ..access.clone()
            };
            match scan_and_unlink(&on, port, tag, true).await {
                Ok(r) => {
                    total.removed += r.removed;
                    total.left += r.left;
                }
                Err(e) => failed.push(format!("master {host}:{port}: {e}")),
            }
        }
        if found.covered != SLOTS {
            failed.push(format!(
                "the masters serve {} of {SLOTS} slots: keys of the others may be left",
                found.covered
            ));
        }
        total.error = (!failed.is_empty()).then(|| failed.join("; "));
        return Ok(total);
    }
    Err(last)
}
