//! translog: the transaction log service that backup-verification Workers
//! report to with curl.
//!
//! - `validate`: from raw request parts to a typed entry.
//! - `storage`: the SQLite database, the storage thread and the read queries.
//! - `auth`: Basic authentication, password hashing and the credential cache.
//! - `http`: the hyper server, routing, handlers and responses.
//! - `cli` and `service`: the command line and the service's start and stop.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod auth;
pub mod cli;
pub mod entry;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod service;
pub mod storage;
pub mod throttled_log;
pub mod validate;
