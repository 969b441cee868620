use std::path::PathBuf;

/// Why a topology could not be brought up. The classification tells the CLI
/// which exit code to use: input/environment problems are the user's to fix.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("`{binary}` was not found on PATH; install it with: {install}")]
    MissingBinary {
        binary: &'static str,
        install: &'static str,
    },
    #[error(
        "port {port} asked for by node `{node}` is busy (another process listens there); \
         choose another `port:` or remove it to let sessiondrill pick a free one"
    )]
    PortBusy { node: String, port: u16 },
    #[error("provider `{0}` is not supported yet; use `provider: process`")]
    Unsupported(String),
    #[error("the power-loss filesystem is unavailable: {0}")]
    Unavailable(String),
    #[error("{process} did not become ready within {waited_ms} ms: {reason}{log}")]
    NotReady {
        process: String,
        waited_ms: u128,
        reason: String,
        /// The tail of the process log, already formatted for display.
        log: String,
    },
    #[error("{process} exited during start-up ({status}){log}")]
    Exited {
        process: String,
        status: String,
        log: String,
        /// The process reported the port as taken: a race for a free port
        /// that another program won; the caller retries with new ports.
        addr_in_use: bool,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
    /// A secret the topology names (an ACL user's password variable) is
    /// missing or unusable.
    #[error("node `{node}`: {message}")]
    Secret { node: String, message: String },
    /// The topology names nodes sessiondrill does not run, and the command
    /// line did not say `--external`.
    #[error(
        "the topology names external nodes ({0}): sessiondrill would send load to a system it does not run; pass --external to drill it"
    )]
    ExternalNotAllowed(String),
    /// An external node that does not answer as its topology says
    /// (unreachable, TLS that does not verify, credentials refused).
    #[error("external node `{node}` is not usable: {message}")]
    Endpoint { node: String, message: String },
    /// The Docker provider could not reach an engine or get an image.
    #[error("{0}")]
    Docker(String),
    /// The home cannot hold runs: another user's, read-only, not a
    /// directory.
    #[error(
        "cannot use {home} for runs: {source} (choose another with --home or SESSIONDRILL_HOME)"
    )]
    Home {
        home: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ProvisionError {
    /// Errors the user fixes by changing input or installing something.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            ProvisionError::MissingBinary { .. }
                | ProvisionError::PortBusy { .. }
                | ProvisionError::Unsupported(_)
                | ProvisionError::Unavailable(_)
                | ProvisionError::Docker(_)
                | ProvisionError::Home { .. }
                | ProvisionError::Secret { .. }
                | ProvisionError::Endpoint { .. }
                | ProvisionError::ExternalNotAllowed(_)
        )
    }

    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ProvisionError {
        let what = what.into();
        move |source| ProvisionError::Io { what, source }
    }
}

/// The last lines of a log file, indented, for error messages.
pub fn log_tail(path: &PathBuf, lines: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return String::new();
    };
    let tail: Vec<&str> = text.lines().rev().take(lines).collect();
    if tail.is_empty() {
        return String::new();
    }
    let mut out = format!("\n  last lines of {}:", path.display());
    for l in tail.into_iter().rev() {
        out.push_str("\n    ");
        out.push_str(l);
    }
    out
}
