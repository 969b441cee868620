//! Loopback ports: free ones chosen at run time, asked-for ones checked.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{LazyLock, Mutex};

pub const HOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Ports this process has handed out, so concurrent deployments in one
/// process (tests) never get the same one.
static HANDED_OUT: LazyLock<Mutex<HashSet<u16>>> = LazyLock::new(Default::default);

/// A port nothing listens on right now. Another program may still take it
/// before our node binds it; start-up detects that and retries.
pub fn free_port() -> std::io::Result<u16> {
    loop {
        let port = TcpListener::bind((HOST, 0))?.local_addr()?.port();
        if HANDED_OUT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port)
        {
            return Ok(port);
        }
    }
}

/// Can we bind `port` on loopback now?
pub fn is_free(port: u16) -> bool {
    TcpListener::bind((HOST, port)).is_ok()
}
