//! The stall watcher: it looks for transactions that turned stalled since
//! its last check and queues one alert for each stall.
//!
//! It reads each transaction once per stall, because each check starts
//! where the previous one ended. It stores that position in the database
//! whenever it queued an alert, so that after a restart it alerts the stalls
//! that happened while no server ran.

use std::sync::Arc;
use std::time::Duration;

use super::runners::{self, Runners, Submission, QUEUE_CAPACITY, RUNNER_COUNT};
use super::{format_receive_time, open_alert_store, Alert};
use crate::storage::logs::{self, Cursor, Outcome};
use crate::storage::{alert_position, now_ns, run_read, ReaderPool, StorageError};

/// The maximum pause between two checks for newly stalled transactions.
pub(super) const STALL_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// The maximum number of stalled transactions read at once, as many as the
/// queue of alerts can hold.
const STALLED_PAGE_SIZE: usize = runners::QUEUE_CAPACITY;

/// The database that the stall watcher reads, and when a transaction
/// counts as stalled.
pub struct StalledSource {
    pub readers: Arc<ReaderPool>,
    /// The path of the database, where the watcher stores its position.
    pub db_path: std::path::PathBuf,
    /// The time without a new entry after which a running transaction is
    /// stalled.
    pub stall_after: Duration,
}

/// The state of the stall watcher between two checks.
pub(super) struct StallWatch {
    /// The position after which the next check reads.
    position: Cursor,
    /// True while checks stop at a full queue, so that only the first of
    /// them logs it.
    queue_full_logged: bool,
    /// The connection that stores the position, or `None` when it could not
    /// be opened or was lost.
    store: Option<rusqlite::Connection>,
    /// True when the position moved past an alert and is not stored yet.
    unstored: bool,
    /// True after a failed write of the position, until one succeeds, so
    /// that a lasting failure is logged once.
    store_failing: bool,
    /// True after a failed read of stalled transactions, until one succeeds,
    /// so that a lasting failure is logged once.
    read_failing: bool,
}

impl StallWatch {
    /// Starts after the stored position, or, when there is none, at the
    /// stall cutoff of now, which it stores. Without a stored position the
    /// watcher still alerts the stalls from now on.
    pub(super) async fn start(database: &StalledSource) -> StallWatch {
        let present = Cursor {
            last_received_at_ns: logs::stall_cutoff(now_ns(), database.stall_after),
            transaction_id: String::new(),
        };
        let db_path = database.db_path.clone();
        let first = present.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let connection = open_alert_store(&db_path)?;
            let stored = alert_position::read(&connection)?;
            if stored.is_none() {
                alert_position::write(&connection, &first)?;
            }
            Ok::<_, StorageError>((connection, stored))
        })
        .await;
        let (store, position) = match opened {
            Ok(Ok((connection, Some(stored)))) => {
                log::info!(
                    "stalled alerts resume at the position that an earlier run stored: \
                     transactions whose last entry arrived after {}",
                    format_receive_time(stored.last_received_at_ns)
                );
                (Some(connection), stored)
            }
            Ok(Ok((connection, None))) => {
                log::info!(
                    "stalled alerts start with transactions whose last entry arrived after {}",
                    format_receive_time(present.last_received_at_ns)
                );
                (Some(connection), present)
            }
            Ok(Err(error)) => {
                log::warn!(
                    "reading the stored position of stalled alerts failed: {error}; alerts \
                     start from now, and stalls while the server is stopped will not be alerted"
                );
                (None, present)
            }
            Err(error) => {
                log::warn!("the task that reads the position of stalled alerts failed: {error}");
                (None, present)
            }
        };
        StallWatch {
            position,
            queue_full_logged: false,
            store,
            unstored: false,
            store_failing: false,
            read_failing: false,
        }
    }

    /// Stores the position, when it moved past an alert since it was last
    /// stored. A failure is logged and the write is tried again after the
    /// next check.
    async fn store_position(&mut self) {
        if !self.unstored {
            return;
        }
        let Some(connection) = self.store.take() else {
            return;
        };
        let position = self.position.clone();
        let written = tokio::task::spawn_blocking(move || {
            let result = alert_position::write(&connection, &position);
            (connection, result)
        })
        .await;
        match written {
            Ok((connection, result)) => {
                self.store = Some(connection);
                match result {
                    Ok(()) => {
                        if self.store_failing {
                            log::info!("storing the position of stalled alerts works again");
                        }
                        self.unstored = false;
                        self.store_failing = false;
                    }
                    Err(error) if !self.store_failing => {
                        log::warn!(
                            "storing the position of stalled alerts failed: {error}; it is \
                             tried again after each check, and after a restart now, stalls \
                             alerted since the last stored position would be alerted again"
                        );
                        self.store_failing = true;
                    }
                    Err(_) => {}
                }
            }
            Err(error) => {
                log::warn!("the task that stores the position of stalled alerts failed: {error}")
            }
        }
    }

    /// Queues an alert for each transaction that stalled between the
    /// position and the stall cutoff of now, and moves the position past the
    /// alerts queued. A failed read or a full queue leaves the position at
    /// the last alert queued, so that the next check reads the rest.
    pub(super) async fn alert_stalled(&mut self, database: &StalledSource, runners: &Runners) {
        let position = &mut self.position;
        let cutoff = logs::stall_cutoff(now_ns(), database.stall_after);
        loop {
            let after = position.clone();
            let page = run_read(&database.readers, move |connection| {
                logs::stalled_transactions(connection, &after, cutoff, STALLED_PAGE_SIZE)
            })
            .await;
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    if !self.read_failing {
                        log::warn!(
                            "looking for stalled transactions failed: {error}; it is tried again \
                             at each check"
                        );
                        self.read_failing = true;
                    }
                    return;
                }
            };
            if self.read_failing {
                log::info!("looking for stalled transactions works again");
                self.read_failing = false;
            }
            let complete = page.len() < STALLED_PAGE_SIZE;
            for stalled in page {
                let next_position = stalled.position();
                let alert = Alert {
                    transaction_id: stalled.transaction_id,
                    fatal_received_at_ns: None,
                    outcome: Outcome::Stalled,
                    stage: stalled.last_stage,
                    status: stalled.last_status,
                    message: stalled.last_message,
                };
                if let Submission::QueueFull(alert) = runners.try_submit(alert) {
                    if !self.queue_full_logged {
                        log::warn!(
                            "stalled alerts from transaction {} on wait for the next check, \
                             because {QUEUE_CAPACITY} alerts are already waiting for the \
                             {RUNNER_COUNT} notify command runners",
                            alert.transaction_id
                        );
                    }
                    self.queue_full_logged = true;
                    self.store_position().await;
                    return;
                }
                *position = next_position;
                self.unstored = true;
            }
            if complete {
                break;
            }
        }
        self.queue_full_logged = false;

        // NOTE: an entry keeps the time it arrived, but is stored a little
        // later. One stored after this cutoff passed its arrival time (a
        // --stall-after shorter than a slow upload or a blocked database)
        // lands behind the next check's start, and that stall is not alerted.
        // A clock set back gives a lower cutoff, which must not move the
        // position back over alerts already sent.
        if cutoff > position.last_received_at_ns {
            *position = Cursor {
                last_received_at_ns: cutoff,
                transaction_id: String::new(),
            };
        }
        self.store_position().await;
    }
}
