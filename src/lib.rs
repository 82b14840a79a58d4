//! translog: the transaction log service that backup-verification Workers
//! report to with curl.
//!
//! - `entry`: stages, statuses, transaction ids and the validated entry.
//! - `validate`: from raw request parts to a typed entry.
//! - `storage`: the SQLite database, the storage thread, the reader pool,
//!   the read queries and the checks of the database files.
//! - `auth`: Basic authentication, password hashing and the credential cache.
//! - `http`: the hyper server, routing, handlers, responses and the dashboard.
//! - `metrics`: the counters, gauges and histograms of `GET /metrics`.
//! - `notify`: the alerts that `serve --notify-command` runs for fatal and
//!   stalled transactions.
//! - `throttled_log`: the counting of repeated events for a log that writes
//!   at most one line about them per interval.
//! - `cli`: the command line, with user management, reading logs, backup and
//!   prune.
//! - `service`: the start and stop of `serve`.
//! - `shell`: the quoting of paths in the shell commands that messages
//!   suggest.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod auth;
pub mod cli;
pub mod entry;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod service;
pub mod shell;
pub mod storage;
pub mod throttled_log;
pub mod validate;

use std::sync::OnceLock;

/// The version that `translog --version` and the start-up line print: the
/// release, the git commit when the build had one, and the database schema
/// version that this build creates and upgrades to, such as
/// `0.1.0 (commit 9c2234482a29, schema 2)` or `0.1.0 (schema 2)`.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let release = env!("CARGO_PKG_VERSION");
        let schema = storage::SCHEMA_VERSION;
        match env!("TRANSLOG_COMMIT") {
            "" => format!("{release} (schema {schema})"),
            commit => format!("{release} (commit {commit}, schema {schema})"),
        }
    })
}
