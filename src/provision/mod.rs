//! Turning a validated topology into running, real nodes — and tearing them
//! down without leaving anything behind.
//!
//! `up` → [`Deployment`]: a handle over every node process of the run. Its
//! `Drop` kills every process and removes the run directory; processes also
//! die if sessiondrill itself is killed (see [`spawner`]).
//!
//! Two providers run the same topology: `process` (children of
//! sessiondrill) and `docker` (each process in its own container, see
//! [`docker`]). Everything above the process handle — ports, config files,
//! readiness, proxies, faults — is shared.

pub mod binaries;
pub mod dax;
pub mod docker;
pub mod dynamodb;
mod error;
pub mod health;
mod launch;
pub mod memcached;
mod node;
mod process;
pub mod redis;
pub mod registry;
pub mod rundir;
pub mod spawner;
pub mod watchdog;

use std::time::{Duration, Instant};

pub use error::ProvisionError;
pub use node::{NodeHandle, NodeInfo, Role};
pub use process::ManagedProcess;
pub use rundir::{Home, RunDir, RunState};

use crate::fabric::ports;
use crate::topology::{KindName, Node, NodeKind, Provider, Topology};
use launch::Ctx;
use spawner::Spawner;

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub home: Home,
    /// Per-process readiness timeout.
    pub ready_timeout: Duration,
    /// Recorded in the state file: the run was started with `--detach`.
    pub detached: bool,
    /// Keep the run directory after teardown (logs, data) for inspection.
    pub keep: bool,
    /// The sessiondrill binary that runs node subcommands (the embedded
    /// DynamoDB node). Defaults to `$SESSIONDRILL_BIN`, else this executable;
    /// tests point it at the built `sessiondrill`.
    pub node_binary: Option<std::path::PathBuf>,
    /// Mount every data directory on the power-loss filesystem, so that the
    /// `power-loss` fault can drop what was not fsynced.
    pub power_loss_fs: bool,
    /// Put a link proxy in front of every client-facing node (standalone
    /// Redis, memcached, DynamoDB), so link faults can act on client traffic.
    pub proxies: bool,
}

impl UpOptions {
    pub fn new(home: Home) -> Self {
        Self {
            home,
            ready_timeout: Duration::from_secs(15),
            detached: false,
            keep: false,
            node_binary: None,
            power_loss_fs: false,
            proxies: false,
        }
    }
}

/// A running topology. Dropping it tears everything down.
pub struct Deployment {
    // Field order is drop order: processes (and their mounts), then the
    // spawner thread, then the mount watchdog, then the run directory.
    pub nodes: Vec<NodeHandle>,
    spawner: Spawner,
    /// Held for its `Drop`: stopped once the nodes and mounts are gone.
    _watchdog: Option<watchdog::Watchdog>,
    pub run: RunDir,
    pub topology: Topology,
    /// Time from the start of `up` until every node answered.
    pub ready_in: Duration,
    state: RunState,
}

impl Deployment {
    pub fn run_id(&self) -> &str {
        &self.run.id
    }

    pub fn infos(&self) -> Vec<NodeInfo> {
        self.nodes.iter().map(|n| n.info.clone()).collect()
    }

    pub fn state(&self) -> &RunState {
        &self.state
    }

    pub fn node(&self, name: &str) -> Option<&NodeHandle> {
        self.nodes.iter().find(|n| n.info.name == name)
    }

    /// The spawner, for restarting node processes (faults).
    pub fn spawner(&self) -> &Spawner {
        &self.spawner
    }

    /// The nodes (mutable) and the spawner at once, for restarts.
    pub fn nodes_and_spawner(&mut self) -> (&mut Vec<NodeHandle>, &Spawner) {
        (&mut self.nodes, &self.spawner)
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        // Signal every process first so they die in parallel; the handles'
        // own drops then reap them.
        // A process already reaped (killed by a fault) is not signalled:
        // its pid may belong to someone else by now.
        // Containers are force-removed (killed) by their handles' drops.
        for n in &mut self.nodes {
            if let Some(p) = &mut n.process
                && p.container_id().is_none()
                && p.exit_status().is_none()
            {
                let _ = p.signal(nix::sys::signal::Signal::SIGKILL);
            }
        }
        self.nodes.clear();
        tracing::debug!(run = %self.run.id, "torn down");
    }
}

/// Bring `topology` up. Free ports raced away by another program are
/// retried with new ports (up to three times).
pub async fn up(topology: &Topology, opts: &UpOptions) -> Result<Deployment, ProvisionError> {
    let started = Instant::now();
    let node_binary = match &opts.node_binary {
        Some(p) => p.clone(),
        None => dynamodb::default_node_binary()?,
    };
    let containers = match topology.provider {
        Provider::Process => {
            check_binaries(topology)?;
            None
        }
        Provider::Docker => Some(containers(topology, &node_binary).await?),
        Provider::External => return Err(ProvisionError::Unsupported("external".into())),
    };
    if opts.power_loss_fs {
        crate::fabric::powerfs::available().map_err(ProvisionError::Unavailable)?;
    }
    registry::sweep_stale(&opts.home);
    let fixed_ports = topology.nodes.iter().any(|n| n.port.is_some());
    let mut attempt = 1;
    loop {
        let up = try_up(topology, opts, &node_binary, containers.clone()).await;
        match up {
            Ok(mut d) => {
                d.ready_in = started.elapsed();
                return Ok(d);
            }
            Err(ProvisionError::Exited {
                addr_in_use: true,
                process,
                ..
            }) if !fixed_ports && attempt < 3 => {
                tracing::info!(%process, "port taken by another program; retrying with new ports");
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The engine, and the image of every program the topology runs, ready
/// before anything starts (images are built or pulled here).
async fn containers(
    topology: &Topology,
    node_binary: &std::path::Path,
) -> Result<(std::sync::Arc<docker::Engine>, Images), ProvisionError> {
    let engine = docker::Engine::connect().map_err(|e| {
        ProvisionError::Docker(format!(
            "no Docker engine reachable: {e} (start one, e.g. ./scripts/dockerd.sh start, \
             and set DOCKER_HOST)"
        ))
    })?;
    let swept = docker::orphans::sweep(&engine);
    if swept > 0 {
        tracing::info!(
            swept,
            "removed containers of sessiondrill runs that were killed"
        );
    }
    let mut images = Images::new();
    for n in &topology.nodes {
        let families: &[docker::Family] = match &n.kind {
            NodeKind::Redis(_) | NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_) => {
                &[docker::Family::Redis]
            }
            NodeKind::Memcached(_) => &[docker::Family::Memcached],
            NodeKind::Dynamodb(d) => match d.engine {
                crate::topology::DynamoEngine::Embedded { .. } => &[docker::Family::Node],
                crate::topology::DynamoEngine::Endpoint { .. } => &[],
            },
            NodeKind::Dax(_) => &[docker::Family::Node],
        };
        for &f in families {
            let key = (f, n.image.clone());
            if images.contains_key(&key) {
                continue;
            }
            let image = docker::images::resolve(&engine, f, n.image.as_deref(), node_binary)
                .await
                .map_err(|e| ProvisionError::Docker(format!("node `{}`: {e}", n.name)))?;
            tracing::debug!(node = %n.name, %image, "image");
            images.insert(key, image);
        }
    }
    Ok((engine, images))
}

type Images = std::collections::HashMap<(docker::Family, Option<String>), String>;

/// Every binary the topology needs, checked before anything starts.
fn check_binaries(topology: &Topology) -> Result<(), ProvisionError> {
    for n in &topology.nodes {
        match &n.kind {
            NodeKind::Redis(_) | NodeKind::RedisCluster(_) => {
                binaries::REDIS_SERVER.locate()?;
            }
            NodeKind::RedisReplicated(_) => {
                binaries::REDIS_SERVER.locate()?;
                binaries::REDIS_SENTINEL.locate()?;
            }
            NodeKind::Memcached(_) => {
                binaries::MEMCACHED.locate()?;
            }
            NodeKind::Dynamodb(_) | NodeKind::Dax(_) => {}
        }
    }
    Ok(())
}

async fn try_up(
    topology: &Topology,
    opts: &UpOptions,
    node_binary: &std::path::Path,
    containers: Option<(std::sync::Arc<docker::Engine>, Images)>,
) -> Result<Deployment, ProvisionError> {
    let started = Instant::now();
    let mut run = opts
        .home
        .new_run(&topology.name)
        .map_err(ProvisionError::io(format!(
            "creating a run directory under {}",
            opts.home.runs().display()
        )))?;
    run.keep = opts.keep;
    let mut state = RunState {
        run_id: run.id.clone(),
        topology: topology.name.clone(),
        topology_file: topology.source.clone(),
        detached: opts.detached,
        owner_pid: std::process::id(),
        owner_start: rundir::process_start_time(std::process::id()).unwrap_or(0),
        started_unix_ms: rundir::now_unix_ms(),
        ready: false,
        nodes: Vec::new(),
    };
    run.write_state(&state)
        .map_err(ProvisionError::io("writing the run state file"))?;
    let mut spawner = Spawner::new().map_err(ProvisionError::io("starting the spawner thread"))?;
    let in_containers = containers.is_some();
    if let Some((engine, images)) = containers {
        spawner = spawner.with_containers(spawner::InContainers {
            engine,
            run_id: run.id.clone(),
            bind: run.path.clone(),
            node_binary: node_binary.to_path_buf(),
            images,
        });
    }
    // Mounts and containers must not outlive a killed sessiondrill (see
    // [`watchdog`]).
    let watchdog = if opts.power_loss_fs || in_containers {
        Some(
            watchdog::Watchdog::start(node_binary, &run.path, opts.keep, in_containers)
                .map_err(ProvisionError::io("starting the watchdog"))?,
        )
    } else {
        None
    };
    let ctx = Ctx {
        run: &run,
        spawner: &spawner,
        timeout: opts.ready_timeout,
        node_binary,
        power_loss_fs: opts.power_loss_fs,
        proxies: opts.proxies,
        image: None,
    };
    let plans = topology
        .nodes
        .iter()
        .map(plan_ports)
        .collect::<Result<Vec<_>, _>>()?;
    // Where each dynamodb node will answer, for the dax nodes in front.
    let dynamodb_urls: std::collections::HashMap<&str, String> = topology
        .nodes
        .iter()
        .zip(&plans)
        .filter_map(|(node, plan)| match &node.kind {
            NodeKind::Dynamodb(d) => Some((
                node.name.as_str(),
                match &d.engine {
                    crate::topology::DynamoEngine::Endpoint { url } => url.clone(),
                    crate::topology::DynamoEngine::Embedded { .. } => format!(
                        "http://{}:{}",
                        ports::HOST,
                        plan.client.first().copied().unwrap_or(0)
                    ),
                },
            )),
            _ => None,
        })
        .collect();
    let bring_up = topology
        .nodes
        .iter()
        .zip(&plans)
        .map(|(node, plan)| node_up(&ctx, node, plan, &dynamodb_urls));
    let mut nodes: Vec<NodeHandle> = futures::future::try_join_all(bring_up)
        .await?
        .into_iter()
        .flatten()
        .collect();
    if opts.proxies {
        for n in nodes.iter_mut().filter(|n| proxied(n)) {
            let http = matches!(n.info.kind, KindName::Dynamodb | KindName::Dax);
            let proxy = crate::fabric::proxy::Proxy::start(n.info.port, http)
                .await
                .map_err(ProvisionError::io(format!(
                    "starting the link proxy of {}",
                    n.info.name
                )))?;
            n.info.proxy_port = Some(proxy.listen_port);
            n.proxy = Some(proxy);
        }
    }
    state.ready = true;
    state.nodes = nodes.iter().map(|n| n.info.clone()).collect();
    run.write_state(&state)
        .map_err(ProvisionError::io("writing the run state file"))?;
    Ok(Deployment {
        nodes,
        spawner,
        _watchdog: watchdog,
        run,
        topology: topology.clone(),
        ready_in: started.elapsed(),
        state,
    })
}

/// Processes that get a client link proxy: every server (Sentinels are
/// reached directly). Clients of replicated and cluster nodes learn a
/// server's peer address (from Sentinels, `CLUSTER SLOTS`, MOVED) and
/// translate it to the client proxy ([`crate::store`]).
fn proxied(n: &NodeHandle) -> bool {
    n.process.is_some() && !n.info.role.is_sentinel()
}

async fn node_up(
    ctx: &Ctx<'_>,
    node: &Node,
    plan: &PortPlan,
    dynamodb_urls: &std::collections::HashMap<&str, String>,
) -> Result<Vec<NodeHandle>, ProvisionError> {
    let name = node.name.as_str();
    let ctx = &Ctx {
        image: node.image.as_deref(),
        ..*ctx
    };
    let password = || {
        match &node.kind {
            NodeKind::Redis(s) => s.password.clone(),
            NodeKind::RedisReplicated(r) => r.server.password.clone(),
            NodeKind::RedisCluster(c) => c.server.password.clone(),
            _ => None,
        }
        .unwrap_or_else(redis::random_password)
    };
    match &node.kind {
        NodeKind::Redis(cfg) => {
            redis::standalone::up(ctx, name, cfg, plan.client[0], &password()).await
        }
        NodeKind::RedisReplicated(cfg) => {
            redis::replicated::up(ctx, name, cfg, &plan.client, &password()).await
        }
        NodeKind::RedisCluster(cfg) => {
            redis::cluster::up(ctx, name, cfg, &plan.client, &plan.bus, &password()).await
        }
        NodeKind::Dynamodb(cfg) => dynamodb::up(ctx, name, cfg, plan.client.first().copied()).await,
        NodeKind::Dax(cfg) => {
            let upstream = dynamodb_urls.get(cfg.dynamodb.as_str()).ok_or_else(|| {
                ProvisionError::Setup(format!(
                    "dax node `{name}`: no dynamodb node `{}`",
                    cfg.dynamodb
                ))
            })?;
            dax::up(ctx, name, cfg, &plan.client, upstream).await
        }
        NodeKind::Memcached(cfg) => memcached::up(ctx, name, cfg, &plan.client).await,
    }
}

/// Ports of a node's processes: client ports, and cluster bus ports.
struct PortPlan {
    client: Vec<u16>,
    bus: Vec<u16>,
}

fn plan_ports(node: &Node) -> Result<PortPlan, ProvisionError> {
    let n = node.kind.process_count();
    let cluster = matches!(node.kind, NodeKind::RedisCluster(_));
    let fresh = |k: usize| {
        (0..k)
            .map(|_| ports::free_port())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ProvisionError::io("finding a free loopback port"))
    };
    let Some(base) = node.port else {
        return Ok(PortPlan {
            client: fresh(n)?,
            bus: if cluster { fresh(n)? } else { Vec::new() },
        });
    };
    let client: Vec<u16> = (0..n).map(|i| base + i as u16).collect();
    let bus: Vec<u16> = if cluster {
        client
            .iter()
            .map(|p| p.checked_add(10000))
            .collect::<Option<_>>()
            .ok_or_else(|| ProvisionError::PortBusy {
                node: node.name.clone(),
                port: base,
            })?
    } else {
        Vec::new()
    };
    for &p in client.iter().chain(&bus) {
        if !ports::is_free(p) {
            return Err(ProvisionError::PortBusy {
                node: node.name.clone(),
                port: p,
            });
        }
    }
    Ok(PortPlan { client, bus })
}
