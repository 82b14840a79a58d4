//! Throttling of failed logins per client address: after
//! [`MAX_FAILURES`] failures within [`WINDOW`], the address gets `429` until
//! the oldest of those failures leaves the window.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(60);

/// The number of addresses tracked before expired ones are swept out.
const SWEEP_ABOVE: usize = 10_000;

/// Recent failed logins by client address.
#[derive(Default)]
pub struct Throttle {
    failures: HashMap<IpAddr, VecDeque<Instant>>,
}

impl Throttle {
    /// Returns how long `client` must wait, or `None` when it may try.
    pub fn retry_after(&mut self, client: IpAddr, now: Instant) -> Option<Duration> {
        let times = self.failures.get_mut(&client)?;
        while times
            .front()
            .is_some_and(|at| now.duration_since(*at) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() < MAX_FAILURES {
            return None;
        }
        let oldest = *times.front()?;
        Some(WINDOW.saturating_sub(now.duration_since(oldest)))
    }

    /// Records a failed login. Only the latest [`MAX_FAILURES`] are kept per
    /// address, and expired addresses are swept when many are tracked, so
    /// memory stays bounded.
    pub fn record_failure(&mut self, client: IpAddr, now: Instant) {
        if self.failures.len() >= SWEEP_ABOVE {
            self.failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|at| now.duration_since(*at) < WINDOW)
            });
        }
        let times = self.failures.entry(client).or_default();
        if times.len() == MAX_FAILURES {
            times.pop_front();
        }
        times.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn throttle_with_failures(count: usize, at: Instant) -> Throttle {
        let mut throttle = Throttle::default();
        for _ in 0..count {
            throttle.record_failure(CLIENT, at);
        }
        throttle
    }

    #[test]
    fn nine_failures_are_allowed() {
        let now = Instant::now();
        assert_eq!(
            throttle_with_failures(9, now).retry_after(CLIENT, now),
            None
        );
    }

    #[test]
    fn ten_failures_block() {
        let now = Instant::now();
        assert_eq!(
            throttle_with_failures(10, now).retry_after(CLIENT, now),
            Some(WINDOW)
        );
    }

    #[test]
    fn block_ends_after_window() {
        let now = Instant::now();
        let mut throttle = throttle_with_failures(10, now);
        assert_eq!(throttle.retry_after(CLIENT, now + WINDOW), None);
    }

    #[test]
    fn other_address_is_not_blocked() {
        let now = Instant::now();
        let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(
            throttle_with_failures(10, now).retry_after(other, now),
            None
        );
    }

    #[test]
    fn retry_after_counts_down() {
        let now = Instant::now();
        let mut throttle = throttle_with_failures(10, now);
        let later = now + Duration::from_secs(45);
        assert_eq!(
            throttle.retry_after(CLIENT, later),
            Some(Duration::from_secs(15))
        );
    }
}
