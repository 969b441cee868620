//! redis.conf and sentinel.conf text for the nodes we start.

use std::fmt::Write;
use std::path::Path;

use crate::topology::{AppendFsync, MaxmemoryPolicy, RedisServer};

/// Config text, one directive a line.
#[derive(Debug, Default, Clone)]
pub struct Conf(String);

impl Conf {
    pub fn set(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        let _ = writeln!(self.0, "{key} {value}");
        self
    }

    pub fn text(&self) -> &str {
        &self.0
    }
}

/// A path as a quoted config value, escaped as redis.conf reads it
/// (sdssplitargs): a `"` in the home's name ended the value early.
pub fn quoted(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::from("\"");
    for &b in p.as_os_str().as_bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Directives every redis-server of ours gets: loopback only, our port,
/// our data directory, the run's password, and the node's persistence.
pub fn server(cfg: &RedisServer, port: u16, data: &Path, password: &str) -> Conf {
    let mut c = Conf::default();
    c.set("bind", "127.0.0.1")
        .set("port", port)
        .set("daemonize", "no")
        .set("logfile", "\"\"")
        .set("dir", quoted(data))
        .set("requirepass", password)
        .set("masterauth", password)
        // Start-up speed on loopback: no 5 s wait before the first full sync.
        .set("repl-diskless-sync", "yes")
        .set("repl-diskless-sync-delay", 0)
        // repl-timeout must exceed the ping period or links flap.
        .set("repl-ping-replica-period", 1)
        .set("repl-timeout", 5);
    if cfg.rdb() {
        let points: Vec<String> = cfg.save.iter().map(|(s, n)| format!("{s} {n}")).collect();
        c.set("save", points.join(" "));
    } else {
        c.set("save", "\"\"");
    }
    if cfg.aof() {
        c.set("appendonly", "yes")
            .set("appendfsync", fsync_name(cfg.appendfsync))
            .set("aof-use-rdb-preamble", if cfg.rdb() { "yes" } else { "no" });
    } else {
        c.set("appendonly", "no");
    }
    if let Some(m) = &cfg.maxmemory {
        c.set("maxmemory", m);
    }
    if let Some(p) = cfg.maxmemory_policy {
        c.set("maxmemory-policy", policy_name(p));
    }
    c
}

pub fn fsync_name(f: AppendFsync) -> &'static str {
    match f {
        AppendFsync::Always => "always",
        AppendFsync::Everysec => "everysec",
        AppendFsync::No => "no",
    }
}

pub fn policy_name(p: MaxmemoryPolicy) -> &'static str {
    match p {
        MaxmemoryPolicy::Noeviction => "noeviction",
        MaxmemoryPolicy::AllkeysLru => "allkeys-lru",
        MaxmemoryPolicy::AllkeysLfu => "allkeys-lfu",
        MaxmemoryPolicy::AllkeysRandom => "allkeys-random",
        MaxmemoryPolicy::VolatileLru => "volatile-lru",
        MaxmemoryPolicy::VolatileLfu => "volatile-lfu",
        MaxmemoryPolicy::VolatileRandom => "volatile-random",
        MaxmemoryPolicy::VolatileTtl => "volatile-ttl",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Persistence;

    #[test]
    fn paths_are_quoted_as_redis_reads_them() {
        let p = Path::new("/tmp/a \"b\\c\nd/é");
        assert_eq!(quoted(p), "\"/tmp/a \\\"b\\\\c\\x0ad/\\xc3\\xa9\"");
    }

    fn cfg(p: Persistence) -> RedisServer {
        RedisServer {
            persistence: p,
            appendfsync: AppendFsync::Always,
            save: vec![(60, 100)],
            maxmemory: Some("64mb".into()),
            maxmemory_policy: Some(MaxmemoryPolicy::AllkeysLru),
            password: None,
            tls: false,
            users: Vec::new(),
            client_user: None,
        }
    }

    #[test]
    fn aof_only_has_no_save_points() {
        let c = server(&cfg(Persistence::Aof), 7000, Path::new("/d"), "pw");
        let t = c.text();
        assert!(
            t.contains("appendonly yes\nappendfsync always\naof-use-rdb-preamble no\n"),
            "{t}"
        );
        assert!(t.contains("save \"\"\n"), "{t}");
        assert!(t.contains("bind 127.0.0.1\nport 7000\n"), "{t}");
        assert!(t.contains("maxmemory-policy allkeys-lru\n"), "{t}");
    }

    #[test]
    fn rdb_only_saves_and_has_no_aof() {
        let t = server(&cfg(Persistence::Rdb), 7000, Path::new("/d"), "pw")
            .text()
            .to_string();
        assert!(
            t.contains("save 60 100\n") && t.contains("appendonly no\n"),
            "{t}"
        );
    }
}
