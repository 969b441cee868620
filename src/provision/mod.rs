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
mod containers;
pub mod dax;
mod deployment;
pub mod docker;
pub mod dynamodb;
mod error;
pub mod external;
mod handle;
pub mod health;
mod launch;
pub mod memcached;
mod node_up;
mod port_plan;
mod process;
pub mod redis;
pub mod registry;
pub mod rundir;
pub mod spawner;
pub mod watchdog;

use std::time::Instant;

pub use deployment::{Deployment, UpOptions};
pub use error::ProvisionError;
pub use handle::{ProcessHandle, ProcessInfo, Role};
pub use process::ManagedProcess;
pub use rundir::{Home, RunDir, RunState};

use crate::fabric::ports;
use crate::topology::{KindName, NodeKind, Provider, Topology};
use launch::Ctx;
use spawner::Spawner;

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
            binaries::check_all(topology)?;
            None
        }
        Provider::Docker => Some(containers::containers(topology, &node_binary).await?),
        Provider::External => return Err(ProvisionError::Unsupported("external".into())),
    };
    if opts.power_loss_fs {
        crate::fabric::powerfs::available().map_err(ProvisionError::Unavailable)?;
    }
    // A system sessiondrill does not run is drilled only when asked for.
    let external = topology.external_nodes();
    if !external.is_empty() && !opts.external {
        return Err(ProvisionError::ExternalNotAllowed(external.join(", ")));
    }
    // Secrets first: a missing one writes nothing.
    let users = redis::acl::resolve(topology)?;
    let externals = external::resolve(topology)?;
    // A home that is not this user's is refused before anything in it is
    // touched (the sweep removes directories).
    opts.home.prepare().map_err(|source| ProvisionError::Home {
        home: opts.home.root.clone(),
        source,
    })?;
    registry::sweep_stale(&opts.home);
    let fixed_ports = topology.nodes.iter().any(|n| n.port.is_some());
    let mut attempt = 1;
    loop {
        let secrets = Secrets {
            users: &users,
            externals: &externals,
        };
        let up = try_up(topology, opts, &node_binary, containers.clone(), &secrets).await;
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

/// What the topology's secrets resolved to, read before the run began.
pub(crate) struct Secrets<'a> {
    pub users: &'a std::collections::HashMap<String, redis::acl::NodeUsers>,
    pub externals: &'a std::collections::HashMap<String, external::ExternalAccess>,
}

async fn try_up(
    topology: &Topology,
    opts: &UpOptions,
    node_binary: &std::path::Path,
    containers: Option<(std::sync::Arc<docker::Engine>, containers::Images)>,
    secrets: &Secrets<'_>,
) -> Result<Deployment, ProvisionError> {
    let started = Instant::now();
    let mut run = opts
        .home
        .new_run(&topology.name)
        .map_err(|source| ProvisionError::Home {
            home: opts.home.root.clone(),
            source,
        })?;
    run.keep = opts.keep;
    let mut state = RunState {
        run_id: run.id.clone(),
        topology: topology.name.clone(),
        topology_file: topology.source.clone(),
        detached: opts.detached,
        owner_pid: std::process::id(),
        owner_start: rundir::process_start_time(std::process::id()).unwrap_or(0),
        owner_exe: rundir::exe_of(std::process::id()),
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
    let run_tls = if topology.nodes.iter().any(|n| n.kind.tls()) {
        Some(redis::tls::RunTls::new(&run)?)
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
        run_tls: run_tls.as_ref(),
        tls: None,
        users: None,
    };
    let plans = topology
        .nodes
        .iter()
        .map(port_plan::plan_ports)
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
            NodeKind::Redis(_)
            | NodeKind::RedisReplicated(_)
            | NodeKind::RedisCluster(_)
            | NodeKind::Dax(_)
            | NodeKind::Memcached(_) => None,
        })
        .collect();
    let bring_up = topology
        .nodes
        .iter()
        .zip(&plans)
        .map(|(node, plan)| node_up::node_up(&ctx, node, plan, &dynamodb_urls, secrets));
    let mut nodes: Vec<ProcessHandle> = futures::future::try_join_all(bring_up)
        .await?
        .into_iter()
        .flatten()
        .collect();
    if opts.proxies {
        for n in nodes.iter_mut().filter(|n| node_up::proxied(n)) {
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
