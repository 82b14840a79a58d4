//! Counting of repeated events for a log that writes at most one line about
//! them per interval, so that a burst of the same warning does not flood it.

use std::time::{Duration, Instant};

/// Events of one kind that are not logged yet, with the details of the latest.
#[derive(Debug)]
pub struct ThrottledEvents<T> {
    interval: Duration,
    last_line: Option<Instant>,
    unlogged: u64,
    first_unlogged: Option<Instant>,
    latest: Option<T>,
}

/// The events that one log line reports.
#[derive(Debug, PartialEq, Eq)]
pub struct EventBatch<T> {
    pub count: u64,
    /// When the first of them happened.
    pub first: Instant,
    /// The details of the last of them.
    pub latest: T,
}

impl<T> ThrottledEvents<T> {
    /// Creates a counter that allows one log line per `interval`.
    pub fn new(interval: Duration) -> Self {
        ThrottledEvents {
            interval,
            last_line: None,
            unlogged: 0,
            first_unlogged: None,
            latest: None,
        }
    }

    /// Counts an event that happened at `now`, with its details.
    pub fn record(&mut self, now: Instant, details: T) {
        self.unlogged += 1;
        self.first_unlogged.get_or_insert(now);
        self.latest = Some(details);
    }

    /// Returns when the events not logged yet are due for a line, if there
    /// are any.
    pub fn due_at(&self) -> Option<Instant> {
        if self.unlogged == 0 {
            return None;
        }
        match self.last_line {
            Some(at) => Some(at + self.interval),
            None => self.first_unlogged,
        }
    }

    /// Takes the events not logged yet for a line written at `now`, unless
    /// the last line is less than an interval old.
    pub fn take_due(&mut self, now: Instant) -> Option<EventBatch<T>> {
        let recent = self
            .last_line
            .is_some_and(|at| now.saturating_duration_since(at) < self.interval);
        if recent {
            return None;
        }
        self.take(now)
    }

    /// Takes the events not logged yet for a line written at `now`, whether
    /// or not one is due, as at shutdown.
    pub fn take(&mut self, now: Instant) -> Option<EventBatch<T>> {
        let latest = self.latest.take()?;
        let batch = EventBatch {
            count: self.unlogged,
            first: self.first_unlogged.unwrap_or(now),
            latest,
        };
        self.unlogged = 0;
        self.first_unlogged = None;
        self.last_line = Some(now);
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(1);

    #[test]
    fn first_event_is_due_at_once() {
        let start = Instant::now();
        let mut events = ThrottledEvents::new(INTERVAL);
        events.record(start, "a");
        let batch = events
            .take_due(start)
            .map(|batch| (batch.count, batch.latest));
        assert_eq!(batch, Some((1, "a")));
    }

    #[test]
    fn events_within_interval_wait() {
        let start = Instant::now();
        let mut events = ThrottledEvents::new(INTERVAL);
        events.record(start, "a");
        assert!(events.take_due(start).is_some());
        events.record(start, "b");
        assert!(events.take_due(start + INTERVAL / 2).is_none());
        assert_eq!(events.due_at(), Some(start + INTERVAL));
    }

    #[test]
    fn take_ignores_interval() {
        let start = Instant::now();
        let mut events = ThrottledEvents::new(INTERVAL);
        events.record(start, "a");
        assert!(events.take_due(start).is_some());
        events.record(start, "b");
        events.record(start, "c");
        let batch = events.take(start).map(|batch| (batch.count, batch.latest));
        assert_eq!(batch, Some((2, "c")));
    }

    #[test]
    fn nothing_recorded_is_not_due() {
        let mut events: ThrottledEvents<&str> = ThrottledEvents::new(INTERVAL);
        assert_eq!(events.due_at(), None);
        assert!(events.take(Instant::now()).is_none());
    }
}
