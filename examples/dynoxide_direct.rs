//! Dynoxide served directly, as the DynamoDB node served it before its
//! front (no header timeout, no connection cap): the baseline of
//! `scripts/bench-front.sh` (the front's cost) and `scripts/conformance.sh`
//! (which failures are Dynoxide's own). Not part of sessiondrill.
//!
//! usage: cargo run --release --example dynoxide_direct -- PORT DB_FILE

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(db)) = (args.next(), args.next()) else {
        return Err("usage: dynoxide_direct PORT DB_FILE".into());
    };
    let port: u16 = port.parse().map_err(|e| format!("port {port}: {e}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let db = dynoxide::Database::new(&db).map_err(|e| format!("opening {db}: {e}"))?;
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|e| format!("binding 127.0.0.1:{port}: {e}"))?;
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        dynoxide::server::serve_with_shutdown(listener, db, stop).await
    })
}
