//! Which image runs each node program, and building images from the
//! programs installed on this machine (for offline machines and CI).
//!
//! A local image is `FROM scratch` plus the binary and the shared libraries
//! `ldd` lists, at their paths on this machine: the same program the process
//! provider runs, isolated in a container (about 18 MB for Redis). The
//! public images (`redis:7`, `memcached:1.6`) are used instead when present.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::query_parameters::{BuildImageOptions, CreateImageOptions};
use futures::StreamExt;

use super::engine::Engine;
use crate::provision::binaries;

/// Label on images built here: what they were built from.
pub const LABEL_BUILT_FROM: &str = "io.sessiondrill.built-from";

/// The image families: every node process runs one of these programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `redis-server` and `redis-sentinel`.
    Redis,
    Memcached,
    /// sessiondrill's own node subcommands (DynamoDB, DAX).
    Node,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Redis, Family::Memcached, Family::Node];

    /// The family of a node process's program, by file name (the same
    /// programs the process provider runs).
    pub fn of(program: &Path, node_binary: &Path) -> Option<Family> {
        if program == node_binary {
            return Some(Family::Node);
        }
        match program.file_name()?.to_str()? {
            "redis-server" | "redis-sentinel" => Some(Family::Redis),
            "memcached" => Some(Family::Memcached),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Redis => "redis",
            Family::Memcached => "memcached",
            Family::Node => "node",
        }
    }

    /// The image a user with internet access would pull.
    pub fn public(self) -> Option<&'static str> {
        match self {
            Family::Redis => Some("redis:7"),
            Family::Memcached => Some("memcached:1.6"),
            Family::Node => None,
        }
    }

    /// The tag `images build` gives the image it builds here.
    pub fn local_tag(self) -> String {
        match self {
            Family::Node => format!("sessiondrill/node:{}", env!("CARGO_PKG_VERSION")),
            f => format!("sessiondrill/{}:local", f.name()),
        }
    }

    /// The program to run inside the image for `program` on this machine.
    pub fn entrypoint(self, program: &Path) -> String {
        match self {
            Family::Node => "sessiondrill".to_string(),
            _ => program
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// The files of the local image: (path here, path in the image).
    fn programs(self, node_binary: &Path) -> Result<Vec<(PathBuf, String)>, String> {
        let found = |b: binaries::Binary| {
            b.locate().map_err(|e| e.to_string()).and_then(|p| {
                std::fs::canonicalize(&p).map_err(|e| format!("{}: {e}", p.display()))
            })
        };
        Ok(match self {
            Family::Redis => {
                let server = found(binaries::REDIS_SERVER)?;
                // Redis runs as a Sentinel when started as `redis-sentinel`.
                vec![
                    (server.clone(), "/usr/bin/redis-server".into()),
                    (server, "/usr/bin/redis-sentinel".into()),
                ]
            }
            Family::Memcached => vec![(found(binaries::MEMCACHED)?, "/usr/bin/memcached".into())],
            Family::Node => vec![(
                node_binary.to_path_buf(),
                "/usr/local/bin/sessiondrill".into(),
            )],
        })
    }
}

/// How a binary's image is identified: its path, size and modification
/// time (a rebuilt sessiondrill gets a new node image).
fn fingerprint(files: &[(PathBuf, String)]) -> String {
    files
        .iter()
        .map(|(p, _)| {
            let m = std::fs::metadata(p).ok();
            let size = m.as_ref().map_or(0, |m| m.len());
            let mtime = m
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{size}:{mtime}", p.display())
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The shared libraries `ldd` lists for `binary` (absolute paths).
fn libraries(binary: &Path) -> Result<Vec<PathBuf>, String> {
    let out = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| format!("running ldd on {}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        return Ok(Vec::new());
    }
    if !out.status.success() {
        return Err(format!(
            "ldd {}: {}",
            binary.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut libs: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| {
            // `libc.so.6 => /lib/…/libc.so.6 (0x…)` or `/lib64/ld-linux… (0x…)`
            l.split_whitespace()
                .find(|w| w.starts_with('/'))
                .map(PathBuf::from)
        })
        .collect();
    libs.sort();
    libs.dedup();
    Ok(libs)
}

/// The build context: a Dockerfile and `rootfs/` holding every file.
fn context(files: &[(PathBuf, String)]) -> Result<Vec<u8>, String> {
    let mut entries: Vec<(PathBuf, String)> = files.to_vec();
    for (p, _) in files {
        for lib in libraries(p)? {
            let dest = lib.display().to_string();
            entries.push((lib, dest));
        }
    }
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    entries.dedup_by(|a, b| a.1 == b.1);
    let mut tar = tar::Builder::new(Vec::new());
    // The engine does not take GNU sparse entries (a linked binary may have holes).
    tar.sparse(false);
    let dockerfile = b"FROM scratch\nCOPY rootfs/ /\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "Dockerfile", &dockerfile[..])
        .map_err(|e| format!("writing the build context: {e}"))?;
    // Users by name (memcached run as root is told `-u root`).
    let passwd = b"root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n";
    let group = b"root:x:0:\nnogroup:x:65534:\n";
    for (name, text) in [
        ("rootfs/etc/passwd", &passwd[..]),
        ("rootfs/etc/group", &group[..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, text)
            .map_err(|e| format!("writing the build context: {e}"))?;
    }
    for (src, dest) in &entries {
        let mut f =
            std::fs::File::open(src).map_err(|e| format!("reading {}: {e}", src.display()))?;
        let name = format!("rootfs/{}", dest.trim_start_matches('/'));
        tar.append_file(&name, &mut f)
            .map_err(|e| format!("adding {} to the build context: {e}", src.display()))?;
    }
    tar.into_inner()
        .map_err(|e| format!("writing the build context: {e}"))
}

/// An image built by [`build`].
#[derive(Debug, Clone)]
pub struct Built {
    pub tag: String,
    pub bytes: usize,
    pub took: Duration,
}

/// Build `family`'s local image from the programs on this machine.
pub async fn build(engine: &Engine, family: Family, node_binary: &Path) -> Result<Built, String> {
    let started = Instant::now();
    let files = family.programs(node_binary)?;
    let ctx = context(&files)?;
    let bytes = ctx.len();
    let tag = family.local_tag();
    let labels = HashMap::from([(LABEL_BUILT_FROM.to_string(), fingerprint(&files))]);
    let opts = BuildImageOptions {
        t: Some(tag.clone()),
        rm: true,
        forcerm: true,
        labels: Some(labels),
        ..Default::default()
    };
    let t = tag.clone();
    engine
        .run(move |docker| async move {
            let mut stream = docker.build_image(
                opts,
                None,
                Some(bollard::body_full(bytes::Bytes::from(ctx))),
            );
            while let Some(item) = stream.next().await {
                let info = item.map_err(|e| format!("building {t}: {e}"))?;
                if let Some(err) = info.error_detail.and_then(|d| d.message) {
                    return Err(format!("building {t}: {err}"));
                }
            }
            Ok(())
        })
        .await??;
    Ok(Built {
        tag,
        bytes,
        took: started.elapsed(),
    })
}

/// What an image present in the engine was built from (its label), or
/// `None` when the engine does not have it.
pub async fn present(engine: &Engine, tag: &str) -> Option<Option<String>> {
    let tag = tag.to_string();
    engine
        .run(move |docker| async move {
            let image = docker.inspect_image(&tag).await.ok()?;
            Some(
                image
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|l| l.get(LABEL_BUILT_FROM).cloned()),
            )
        })
        .await
        .ok()
        .flatten()
}

/// Whether absent images may be pulled from a registry: not when
/// `SESSIONDRILL_PULL=never` (offline machines, and the tests, which must
/// not reach beyond this machine).
fn pulling_allowed() -> bool {
    std::env::var("SESSIONDRILL_PULL").map_or(true, |v| v != "never")
}

async fn pull(engine: &Engine, image: &str) -> Result<(), String> {
    if !pulling_allowed() {
        return Err("pulling is off (SESSIONDRILL_PULL=never)".into());
    }
    let (repo, tag) = match image.rsplit_once(':') {
        // `repo@sha256:…` is pulled by digest, whole.
        _ if image.contains('@') => (image.to_string(), String::new()),
        Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    };
    let what = image.to_string();
    engine
        .run(move |docker| async move {
            let opts = CreateImageOptions {
                from_image: Some(repo),
                tag: (!tag.is_empty()).then_some(tag),
                ..Default::default()
            };
            let pulling = async {
                let mut stream = docker.create_image(Some(opts), None, None);
                while let Some(item) = stream.next().await {
                    item.map_err(|e| e.to_string())?;
                }
                Ok::<_, String>(())
            };
            tokio::time::timeout(Duration::from_secs(300), pulling)
                .await
                .map_err(|_| "no answer from the registry within 5 min".to_string())?
                .map_err(|e| format!("pulling {what}: {e}"))
        })
        .await?
}

/// The image of `family` the engine already has that [`resolve`] picks
/// first: the public one, else the one built here.
pub async fn in_engine(engine: &Engine, family: Family) -> Option<String> {
    for tag in family
        .public()
        .map(str::to_string)
        .into_iter()
        .chain([family.local_tag()])
    {
        if present(engine, &tag).await.is_some() {
            return Some(tag);
        }
    }
    None
}

/// The image to run `family`'s programs from, getting it if needed:
/// - `image:` named in the topology: that one (pulled if absent);
/// - the node image: built from this sessiondrill binary (rebuilt when
///   the binary changed);
/// - otherwise the public image when present, else the local one when
///   present, else built here from the installed programs, else pulled.
pub async fn resolve(
    engine: &Engine,
    family: Family,
    named: Option<&str>,
    node_binary: &Path,
) -> Result<String, String> {
    if let Some(image) = named {
        if present(engine, image).await.is_none() {
            pull(engine, image).await.map_err(|e| {
                format!("image {image} is not in the Docker engine and could not be pulled: {e}")
            })?;
        }
        return Ok(image.to_string());
    }
    let local = family.local_tag();
    if family == Family::Node {
        let want = fingerprint(&family.programs(node_binary)?);
        if present(engine, &local).await.flatten().as_deref() != Some(want.as_str()) {
            build(engine, family, node_binary).await?;
        }
        return Ok(local);
    }
    if let Some(tag) = in_engine(engine, family).await {
        return Ok(tag);
    }
    let public = family
        .public()
        .expect("only the node image has no public one");
    let built = match build(engine, family, node_binary).await {
        Ok(b) => return Ok(b.tag),
        Err(e) => e,
    };
    pull(engine, public).await.map_err(|pulled| {
        format!(
            "no image for {} nodes: {public} is not in the Docker engine and could not be \
             pulled ({pulled}), and none could be built here ({built}); install the programs \
             and run `sessiondrill images build`, or name an image with `image:`",
            family.name()
        )
    })?;
    Ok(public.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_by_program() {
        let node = Path::new("/opt/sd/sessiondrill");
        assert_eq!(
            Family::of(Path::new("/usr/bin/redis-server"), node),
            Some(Family::Redis)
        );
        assert_eq!(
            Family::of(Path::new("/usr/bin/redis-sentinel"), node),
            Some(Family::Redis)
        );
        assert_eq!(
            Family::of(Path::new("/usr/bin/memcached"), node),
            Some(Family::Memcached)
        );
        assert_eq!(Family::of(node, node), Some(Family::Node));
        assert_eq!(Family::of(Path::new("/bin/sh"), node), None);
        assert_eq!(
            Family::Redis.entrypoint(Path::new("/usr/bin/redis-sentinel")),
            "redis-sentinel"
        );
        assert_eq!(Family::Node.entrypoint(node), "sessiondrill");
    }

    #[test]
    fn ldd_lists_the_loader_and_libc() {
        let libs = libraries(Path::new("/bin/sh")).unwrap();
        assert!(libs.iter().any(|l| l.to_string_lossy().contains("libc.so")));
        assert!(libs.iter().all(|l| l.is_absolute()));
    }
}
