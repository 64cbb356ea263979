//! Which build of engineer-sim is running: what it remembers between runs is valid only for the
//! build that wrote it (another build may check or audit differently).

/// The version and the executable's size and modification time: a rebuilt tool differs.
pub fn identity() -> String {
    let exe = std::env::current_exe().and_then(std::fs::metadata);
    let (len, modified) = match exe {
        Ok(meta) => (
            meta.len(),
            meta.modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos()),
        ),
        Err(_) => (0, 0),
    };
    format!("{} {len} {modified}", env!("CARGO_PKG_VERSION"))
}
