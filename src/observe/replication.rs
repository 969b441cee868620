//! How far behind a primary its replicas are, when a fault hits it.

use std::time::Duration;

use crate::provision::ProcessHandle;
use crate::provision::redis::probe::info_field;

/// Replication lag of a primary's furthest-behind replica, in bytes, from
/// `INFO replication`; `None` for anything that is not a primary with
/// replicas (or does not answer within 200 ms).
pub async fn replication_lag(node: &ProcessHandle) -> Option<u64> {
    if !node.info.kind.is_redis() || node.info.role.is_sentinel() {
        return None;
    }
    let probe = node.redis_probe();
    let info = tokio::time::timeout(Duration::from_millis(200), probe.info("replication"))
        .await
        .ok()?
        .ok()?;
    parse_lag(&info)
}

fn parse_lag(info: &str) -> Option<u64> {
    if info_field(info, "role") != Some("master") {
        return None;
    }
    let master: u64 = info_field(info, "master_repl_offset")?.parse().ok()?;
    info.lines()
        .filter(|l| l.starts_with("slave") && l.contains("offset="))
        .filter_map(|l| {
            l.split(',')
                .find_map(|kv| kv.strip_prefix("offset="))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|o| master.saturating_sub(o))
        .max()
}

#[cfg(test)]
mod tests {
    #[test]
    fn replication_lag_is_the_furthest_replica() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
slave0:ip=127.0.0.1,port=1,state=online,offset=900,lag=0\r\n\
slave1:ip=127.0.0.1,port=2,state=online,offset=700,lag=1\r\n\
master_repl_offset:1000\r\n";
        assert_eq!(super::parse_lag(info), Some(300));
        assert_eq!(super::parse_lag("role:slave\r\n"), None);
    }
}
