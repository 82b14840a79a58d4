//! Counters and histograms of the running service, kept in atomics so that the
//! HTTP and storage threads update them without locks, and rendered in the
//! Prometheus text format by `GET /metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::entry::{Stage, Status};
use crate::notify::{AlertResult, ALERT_OUTCOMES};
use crate::storage::logs::{Outcome, OutcomeCounts};
use crate::storage::{FileChange, StorageError};

/// Upper bounds of the request duration histogram, in seconds.
const DURATION_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Upper bounds of the batch size histogram, in entries.
const BATCH_BOUNDS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];

/// The status codes the handlers send, each with a counter of its own; any
/// other code is counted under `other`. Four responses are sent outside the
/// handlers and not counted here. hyper sends `431` for an oversized request
/// head, and `400` for a head that it cannot parse, such as one with an
/// invalid method or header line (hyper 1.13, `Server::on_error`). A request
/// head that is incomplete after the read timeout gets `408` once hyper has
/// given up on it. Connections over the cap get `503` before hyper reads
/// them.
const STATUS_CODES: [u16; 14] = [
    200, 204, 304, 400, 401, 403, 404, 405, 408, 409, 413, 429, 500, 503,
];

/// The type of a metric family, as its `# TYPE` line gives it.
#[derive(Debug, Clone, Copy)]
enum MetricType {
    Counter,
    Gauge,
    Histogram,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// A metric family of the Prometheus text format: the name of its samples,
/// its type and its help text.
struct Family {
    name: &'static str,
    kind: MetricType,
    help: &'static str,
}

impl Family {
    /// Appends the `# HELP` and `# TYPE` lines that come before the
    /// family's samples.
    fn write_header(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind.as_str());
    }
}

const BUILD_INFO: Family = Family {
    name: "translog_build_info",
    kind: MetricType::Gauge,
    help: "The release, git commit and database schema version of the running binary.",
};

const START_TIME: Family = Family {
    name: "translog_start_time_seconds",
    kind: MetricType::Gauge,
    help: "When the server started, in Unix time.",
};

const ENTRIES_STORED: Family = Family {
    name: "translog_entries_stored_total",
    kind: MetricType::Counter,
    help: "Entries stored, by stage and status.",
};

const HTTP_RESPONSES: Family = Family {
    name: "translog_http_responses_total",
    kind: MetricType::Counter,
    help: "HTTP responses sent, by status code.",
};

const REQUEST_DURATION: Family = Family {
    name: "translog_http_request_duration_seconds",
    kind: MetricType::Histogram,
    help: "Time from request head to response.",
};

const BATCH_SIZE: Family = Family {
    name: "translog_batch_size_entries",
    kind: MetricType::Histogram,
    help: "Write requests per database transaction of the storage thread, failed ones \
           included. The sum exceeds the entries stored, because it counts exact repeats and \
           conflicts too, and a write checked again after its user changed \
           (translog_writes_rechecked_total) once in each batch it was part of.",
};

const WRITES_RECHECKED: Family = Family {
    name: "translog_writes_rechecked_total",
    kind: MetricType::Counter,
    help: "Write requests whose user changed after the server last checked its credentials, \
           so that they were checked again before the entry was stored.",
};

const UNAVAILABLE: Family = Family {
    name: "translog_unavailable_total",
    kind: MetricType::Counter,
    help: "503 responses by reason, those sent to connections over --max-connections included.",
};

const ALERTS: Family = Family {
    name: "translog_alerts_total",
    kind: MetricType::Counter,
    help: "Alerts of the notify command, by transaction outcome and result.",
};

const TRANSACTIONS: Family = Family {
    name: "translog_transactions",
    kind: MetricType::Gauge,
    help: "Transactions by outcome.",
};

const DATABASE_SIZE: Family = Family {
    name: "translog_database_size_bytes",
    kind: MetricType::Gauge,
    help: "Size of the database file and its WAL.",
};

const PASSWORD_VERIFICATIONS: Family = Family {
    name: "translog_password_verifications_total",
    kind: MetricType::Counter,
    help: "Argon2 verifications of credentials not in the cache.",
};

const STORAGE_UP: Family = Family {
    name: "translog_storage_up",
    kind: MetricType::Gauge,
    help: "1 while the storage thread accepts writes, 0 while it rejects them, as when the \
           database file was deleted or the disk is full.",
};

const CONNECTIONS_OPEN: Family = Family {
    name: "translog_connections_open",
    kind: MetricType::Gauge,
    help: "Open connections, including those being sent a 503 over --max-connections.",
};

const CONNECTIONS_REJECTED: Family = Family {
    name: "translog_connections_rejected_total",
    kind: MetricType::Counter,
    help: "Connections sent a 503 and closed because --max-connections were open.",
};

/// The cause of a `503`, the `reason` label of
/// `translog_unavailable_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnavailableReason {
    /// The storage thread's queue was full.
    Overloaded,
    /// The storage thread has stopped, or the server is shutting down.
    Stopped,
    /// The request's user changed on every try to store its entry.
    UserChanged,
    /// Another connection held the database lock past the busy timeout.
    Busy,
    /// The file system is full (`SQLITE_FULL`).
    DiskFull,
    /// The database or its file system may not be written.
    ReadOnly,
    /// Another I/O failure, such as a file that SQLite cannot open.
    IoError,
    /// The database file, or its `-wal` or `-shm` file, was deleted, moved,
    /// replaced or overwritten while the server ran. Every change counts as
    /// this one reason, but the `503` message names the steps that fit it.
    FileChanged(FileChange),
    /// A write found a damaged page (`SQLITE_CORRUPT`).
    Damaged,
    /// Reading a file of the database failed.
    Unreadable,
    /// Any other database failure, such as a schema that is not translog's.
    DatabaseError,
    /// A connection over `--max-connections`.
    Connections,
}

impl UnavailableReason {
    /// One of each reason, in the order of their counters. Every change of
    /// the database's files shares one counter, so one change is listed.
    pub const ALL: [UnavailableReason; 12] = [
        UnavailableReason::Overloaded,
        UnavailableReason::Stopped,
        UnavailableReason::UserChanged,
        UnavailableReason::Busy,
        UnavailableReason::DiskFull,
        UnavailableReason::ReadOnly,
        UnavailableReason::IoError,
        UnavailableReason::FileChanged(FileChange::Unknown),
        UnavailableReason::Damaged,
        UnavailableReason::Unreadable,
        UnavailableReason::DatabaseError,
        UnavailableReason::Connections,
    ];

    /// Returns the position of the reason's counter in [`Metrics`].
    const fn index(self) -> usize {
        match self {
            UnavailableReason::Overloaded => 0,
            UnavailableReason::Stopped => 1,
            UnavailableReason::UserChanged => 2,
            UnavailableReason::Busy => 3,
            UnavailableReason::DiskFull => 4,
            UnavailableReason::ReadOnly => 5,
            UnavailableReason::IoError => 6,
            UnavailableReason::FileChanged(_) => 7,
            UnavailableReason::Damaged => 8,
            UnavailableReason::Unreadable => 9,
            UnavailableReason::DatabaseError => 10,
            UnavailableReason::Connections => 11,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnavailableReason::Overloaded => "overloaded",
            UnavailableReason::Stopped => "stopped",
            UnavailableReason::UserChanged => "user_changed",
            UnavailableReason::Busy => "busy",
            UnavailableReason::DiskFull => "disk_full",
            UnavailableReason::ReadOnly => "read_only",
            UnavailableReason::IoError => "io_error",
            UnavailableReason::FileChanged(_) => "file_changed",
            UnavailableReason::Damaged => "damaged",
            UnavailableReason::Unreadable => "unreadable",
            UnavailableReason::DatabaseError => "database_error",
            UnavailableReason::Connections => "connections",
        }
    }
}

// `ALL` lists the reasons in the order of their counters, so that a reason's
// index is its position in `ALL`, whose label `Metrics::render` writes.
const _: () = {
    let mut index = 0;
    while index < UnavailableReason::ALL.len() {
        assert!(UnavailableReason::ALL[index].index() == index);
        index += 1;
    }
};

impl From<&StorageError> for UnavailableReason {
    fn from(error: &StorageError) -> Self {
        match error {
            StorageError::Busy(_) => UnavailableReason::Busy,
            StorageError::Unavailable(error) => match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DiskFull) => UnavailableReason::DiskFull,
                Some(rusqlite::ErrorCode::ReadOnly) => UnavailableReason::ReadOnly,
                _ => UnavailableReason::IoError,
            },
            StorageError::ReadOnlyFile | StorageError::ReadOnlyFileSystem => {
                UnavailableReason::ReadOnly
            }
            StorageError::FileChanged(change, _) => UnavailableReason::FileChanged(*change),
            StorageError::ChangedWhileRead => UnavailableReason::FileChanged(FileChange::Unknown),
            StorageError::Corrupt(_) => UnavailableReason::Damaged,
            StorageError::Unreadable(..) => UnavailableReason::Unreadable,
            StorageError::Internal(_)
            | StorageError::SchemaTooNew(_)
            | StorageError::SchemaTooOld(_)
            | StorageError::ForeignDatabase(_)
            | StorageError::NotFound
            | StorageError::NoSchema
            | StorageError::ReadTaskFailed(_) => UnavailableReason::DatabaseError,
        }
    }
}

struct Histogram<const N: usize> {
    bounds: [f64; N],
    buckets: [AtomicU64; N],
    count: AtomicU64,
    /// The sum in millionths, so that it fits an atomic integer.
    sum_micros: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    fn new(bounds: [f64; N]) -> Self {
        Histogram {
            bounds,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: f64) {
        if let Some(index) = self.bounds.iter().position(|bound| value <= *bound) {
            self.buckets[index].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((value * 1_000_000.0) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str) {
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1_000_000.0;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Alerts of the notify command by outcome and result. Every series is
/// rendered from start-up on, so that `rate()` and `increase()` count the
/// first alert.
struct AlertCounts([[AtomicU64; AlertResult::ALL.len()]; ALERT_OUTCOMES.len()]);

impl AlertCounts {
    fn new() -> Self {
        AlertCounts(std::array::from_fn(|_| {
            std::array::from_fn(|_| AtomicU64::new(0))
        }))
    }

    fn count(&self, outcome: Outcome, result: AlertResult) {
        let Some(outcome_index) = ALERT_OUTCOMES.iter().position(|o| *o == outcome) else {
            return;
        };
        let result_index = AlertResult::ALL
            .iter()
            .position(|r| *r == result)
            .unwrap_or(0);
        self.0[outcome_index][result_index].fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        ALERTS.write_header(out);
        for (outcome, row) in ALERT_OUTCOMES.iter().zip(&self.0) {
            for (result, counter) in AlertResult::ALL.iter().zip(row) {
                let _ = writeln!(
                    out,
                    "{}{{outcome=\"{}\",result=\"{}\"}} {}",
                    ALERTS.name,
                    outcome.as_str(),
                    result.as_str(),
                    counter.load(Ordering::Relaxed)
                );
            }
        }
    }
}

/// The service's metrics.
pub struct Metrics {
    entries: [[AtomicU64; 4]; 5],
    responses: [AtomicU64; STATUS_CODES.len()],
    responses_other: AtomicU64,
    durations: Histogram<12>,
    batches: Histogram<10>,
    alerts: AlertCounts,
    writes_rechecked: AtomicU64,
    unavailable: [AtomicU64; UnavailableReason::ALL.len()],
    /// When the server started, which is when it made these metrics.
    started_at: SystemTime,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            entries: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            responses: std::array::from_fn(|_| AtomicU64::new(0)),
            responses_other: AtomicU64::new(0),
            durations: Histogram::new(DURATION_BOUNDS),
            batches: Histogram::new(BATCH_BOUNDS),
            alerts: AlertCounts::new(),
            writes_rechecked: AtomicU64::new(0),
            unavailable: std::array::from_fn(|_| AtomicU64::new(0)),
            started_at: SystemTime::now(),
        }
    }
}

impl Metrics {
    pub fn count_entry(&self, stage: Stage, status: Status) {
        let stage_index = Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0);
        let status_index = Status::ALL.iter().position(|s| *s == status).unwrap_or(0);
        self.entries[stage_index][status_index].fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe_response(&self, status: u16, duration: Duration) {
        let counter = match STATUS_CODES.iter().position(|code| *code == status) {
            Some(index) => &self.responses[index],
            None => &self.responses_other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.durations.observe(duration.as_secs_f64());
    }

    pub fn observe_batch(&self, size: usize) {
        self.batches.observe(size as f64);
    }

    /// Counts a write request whose user changed before its entry was stored.
    pub fn count_write_rechecked(&self) {
        self.writes_rechecked.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one `503` sent for `reason`.
    pub fn count_unavailable(&self, reason: UnavailableReason) {
        self.unavailable[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one alert. Outcomes other than those in [`ALERT_OUTCOMES`] are
    /// not counted.
    pub fn count_alert(&self, outcome: Outcome, result: AlertResult) {
        self.alerts.count(outcome, result);
    }

    /// Renders every metric: those kept here, then `scraped`, then those of
    /// `connections`.
    pub fn render(&self, scraped: &ScrapedValues, connections: &ConnectionMetrics) -> String {
        let mut out = String::new();
        render_build_info(&mut out);

        START_TIME.write_header(&mut out);
        let started = self
            .started_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let _ = writeln!(out, "{} {started:.3}", START_TIME.name);

        ENTRIES_STORED.write_header(&mut out);
        for (stage, row) in Stage::ALL.iter().zip(&self.entries) {
            for (status, counter) in Status::ALL.iter().zip(row) {
                let _ = writeln!(
                    out,
                    "{}{{stage=\"{stage}\",status=\"{status}\"}} {}",
                    ENTRIES_STORED.name,
                    counter.load(Ordering::Relaxed)
                );
            }
        }

        HTTP_RESPONSES.write_header(&mut out);
        for (code, counter) in STATUS_CODES.iter().zip(&self.responses) {
            let _ = writeln!(
                out,
                "{}{{code=\"{code}\"}} {}",
                HTTP_RESPONSES.name,
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "{}{{code=\"other\"}} {}",
            HTTP_RESPONSES.name,
            self.responses_other.load(Ordering::Relaxed)
        );

        REQUEST_DURATION.write_header(&mut out);
        self.durations.render(&mut out, REQUEST_DURATION.name);

        BATCH_SIZE.write_header(&mut out);
        self.batches.render(&mut out, BATCH_SIZE.name);

        WRITES_RECHECKED.write_header(&mut out);
        let rechecked = self.writes_rechecked.load(Ordering::Relaxed);
        let _ = writeln!(out, "{} {rechecked}", WRITES_RECHECKED.name);

        UNAVAILABLE.write_header(&mut out);
        for (reason, counter) in UnavailableReason::ALL.iter().zip(&self.unavailable) {
            let _ = writeln!(
                out,
                "{}{{reason=\"{}\"}} {}",
                UNAVAILABLE.name,
                reason.as_str(),
                counter.load(Ordering::Relaxed)
            );
        }

        self.alerts.render(&mut out);

        scraped.render(&mut out);
        connections.render(&mut out);
        out
    }
}

/// Appends `translog_build_info`, whose labels are the parts of the
/// version that `translog --version` prints. `commit` is empty for a build
/// made outside a git checkout.
fn render_build_info(out: &mut String) {
    BUILD_INFO.write_header(out);
    let _ = writeln!(
        out,
        "{}{{version=\"{}\",commit=\"{}\",schema=\"{}\"}} 1",
        BUILD_INFO.name,
        env!("CARGO_PKG_VERSION"),
        env!("TRANSLOG_COMMIT"),
        crate::storage::SCHEMA_VERSION
    );
}

/// The values that `GET /metrics` reads from the database and the other
/// components at each scrape.
pub struct ScrapedValues {
    /// Transactions in the database, by outcome.
    pub transactions: OutcomeCounts,
    /// The size of the database file and its WAL.
    pub database_size_bytes: u64,
    /// Argon2 verifications since the server started.
    pub password_verifications: u64,
    /// True while the storage thread accepts writes, as `GET /healthz`
    /// requires.
    pub storage_up: bool,
}

impl ScrapedValues {
    fn render(&self, out: &mut String) {
        TRANSACTIONS.write_header(out);
        for outcome in Outcome::ALL {
            let count = self.transactions.get(outcome);
            let _ = writeln!(
                out,
                "{}{{outcome=\"{}\"}} {count}",
                TRANSACTIONS.name,
                outcome.as_str()
            );
        }

        DATABASE_SIZE.write_header(out);
        let size = self.database_size_bytes;
        let _ = writeln!(out, "{} {size}", DATABASE_SIZE.name);

        PASSWORD_VERIFICATIONS.write_header(out);
        let verifications = self.password_verifications;
        let _ = writeln!(out, "{} {verifications}", PASSWORD_VERIFICATIONS.name);

        STORAGE_UP.write_header(out);
        let up = u8::from(self.storage_up);
        let _ = writeln!(out, "{} {up}", STORAGE_UP.name);
    }
}

/// Open connections and connections rejected over the cap. The HTTP layer
/// keeps them apart from [`Metrics`] because the open count also enforces
/// `--max-connections`.
#[derive(Default)]
pub struct ConnectionMetrics {
    open: AtomicU64,
    rejected: AtomicU64,
}

impl ConnectionMetrics {
    /// Counts a new connection as open and returns the number that were open
    /// before it.
    pub fn open(&self) -> u64 {
        self.open.fetch_add(1, Ordering::Relaxed)
    }

    pub fn close(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn count_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Appends both metrics in the Prometheus text format to `out`.
    fn render(&self, out: &mut String) {
        CONNECTIONS_OPEN.write_header(out);
        let open = self.open.load(Ordering::Relaxed);
        let _ = writeln!(out, "{} {open}", CONNECTIONS_OPEN.name);

        CONNECTIONS_REJECTED.write_header(out);
        let rejected = self.rejected.load(Ordering::Relaxed);
        let _ = writeln!(out, "{} {rejected}", CONNECTIONS_REJECTED.name);
    }
}
