//! Start-up of the log: `RUST_LOG` filters it, with `info` as the default.

use log::{Level, Log, Metadata};

/// Installs the logger that writes to standard error, filtered by `RUST_LOG`.
///
/// env_logger takes a word that is not a level, such as `verbose`, as a
/// module name, so that filter hides all of translog's log: errors, and even
/// the address that `serve` listens on. A warning on standard error reports it.
pub fn init() {
    let filter = std::env::var("RUST_LOG").unwrap_or_default();
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    // env_logger applies the default only when RUST_LOG is unset. A value
    // without any directive, such as "" or ",", would leave only errors, so
    // it gets the default too.
    if filter
        .split(',')
        .all(|directive| directive.trim().is_empty())
    {
        builder.parse_filters("info");
    }
    let logger = builder.build();
    let own_errors = Metadata::builder()
        .target(env!("CARGO_CRATE_NAME"))
        .level(Level::Error)
        .build();
    if !logger.enabled(&own_errors) && !filter.trim().eq_ignore_ascii_case("off") {
        eprintln!(
            "translog: warning: RUST_LOG={filter:?} hides translog's own log, errors included; \
             set a level such as RUST_LOG=info or RUST_LOG=warn, or RUST_LOG=off for no log"
        );
    }
    log::set_max_level(logger.filter());
    if log::set_boxed_logger(Box::new(logger)).is_err() {
        eprintln!("translog: warning: a logger was already installed");
    }
}
