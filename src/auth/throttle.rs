//! Throttling of failed logins per client address: after
//! [`MAX_FAILURES`] failures within [`WINDOW`], the address gets `429` until
//! the oldest of those failures leaves the window. Verifications still
//! running count as failures until they end, so that parallel requests cannot
//! try more passwords than that.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(60);

/// The number of addresses tracked before expired ones are first swept out.
const SWEEP_ABOVE: usize = 10_000;

/// The maximum number of addresses tracked at once, about 12 MB of failure
/// times (an estimate from the size of the map's entries). An
/// address's entry is at most a minute old, so more means failed logins from
/// that many addresses within a minute, and the throttle then forgets them all
/// rather than grow without bound.
const MAX_TRACKED: usize = 50_000;

/// Recent failed logins, and verifications running, by client address.
pub struct Throttle {
    failures: HashMap<IpAddr, VecDeque<Instant>>,
    running: HashMap<IpAddr, usize>,
    /// The number of tracked addresses at which the next sweep runs: twice
    /// the number the last sweep left, so that each failure costs a constant
    /// share of the sweeps however many addresses fail.
    sweep_at: usize,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            failures: HashMap::new(),
            running: HashMap::new(),
            sweep_at: SWEEP_ABOVE,
        }
    }
}

/// Whether a password verification for an address may start.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// It may start; [`Throttle::end_verification`] must follow.
    Start,
    /// It must wait until a running verification of the address ends, since
    /// each of them may be the failure that reaches the limit.
    Wait,
    /// The address has reached the limit, and may try again after this long.
    Throttled(Duration),
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

    /// Decides whether a verification for `client` may start at `now`, and
    /// counts it as running when it may.
    pub fn begin_verification(&mut self, client: IpAddr, now: Instant) -> Admission {
        if let Some(wait) = self.retry_after(client, now) {
            return Admission::Throttled(wait);
        }
        let failures = self.failures.get(&client).map_or(0, VecDeque::len);
        let running = self.running.entry(client).or_default();
        if failures + *running >= MAX_FAILURES {
            return Admission::Wait;
        }
        *running += 1;
        Admission::Start
    }

    /// Ends a verification that [`Throttle::begin_verification`] started.
    pub fn end_verification(&mut self, client: IpAddr) {
        if let Some(running) = self.running.get_mut(&client) {
            *running = running.saturating_sub(1);
            if *running == 0 {
                self.running.remove(&client);
            }
        }
    }

    /// Records a failed login. Only the latest [`MAX_FAILURES`] are kept per
    /// address, and expired addresses are swept when many are tracked, so
    /// memory stays bounded.
    pub fn record_failure(&mut self, client: IpAddr, now: Instant) {
        if self.failures.len() >= self.sweep_at {
            self.sweep(now);
        }
        let times = self.failures.entry(client).or_default();
        if times.len() == MAX_FAILURES {
            times.pop_front();
        }
        times.push_back(now);
    }

    /// Removes the addresses whose last failure left the window, or all of
    /// them when more than half of [`MAX_TRACKED`] are still in it.
    fn sweep(&mut self, now: Instant) {
        self.failures.retain(|_, times| {
            times
                .back()
                .is_some_and(|at| now.duration_since(*at) < WINDOW)
        });
        if self.failures.len() >= MAX_TRACKED / 2 {
            log::warn!(
                "failed logins from {} addresses within {} s; the throttle forgets them to \
                 bound its memory",
                self.failures.len(),
                WINDOW.as_secs()
            );
            self.failures.clear();
        }
        self.sweep_at = (self.failures.len() * 2).clamp(SWEEP_ABOVE, MAX_TRACKED);
    }

    /// Returns the number of addresses with failures tracked.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.failures.len()
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
    fn verification_starts_below_limit() {
        let now = Instant::now();
        let mut throttle = throttle_with_failures(8, now);
        assert_eq!(throttle.begin_verification(CLIENT, now), Admission::Start);
    }

    #[test]
    fn running_verifications_count_as_failures() {
        let now = Instant::now();
        let mut throttle = throttle_with_failures(8, now);
        throttle.begin_verification(CLIENT, now);
        throttle.begin_verification(CLIENT, now);
        assert_eq!(throttle.begin_verification(CLIENT, now), Admission::Wait);
    }

    #[test]
    fn ended_verification_frees_place() {
        let now = Instant::now();
        let mut throttle = throttle_with_failures(9, now);
        throttle.begin_verification(CLIENT, now);
        throttle.end_verification(CLIENT);
        assert_eq!(throttle.begin_verification(CLIENT, now), Admission::Start);
    }

    #[test]
    fn ten_failures_throttle_verification() {
        let now = Instant::now();
        let mut throttle = throttle_with_failures(10, now);
        assert_eq!(
            throttle.begin_verification(CLIENT, now),
            Admission::Throttled(WINDOW)
        );
    }

    fn address(number: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + number))
    }

    #[test]
    fn expired_addresses_are_swept() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        for number in 0..10_000 {
            throttle.record_failure(address(number), start);
        }
        throttle.record_failure(address(10_000), start + WINDOW);
        assert_eq!(throttle.tracked(), 1);
    }

    #[test]
    fn live_addresses_delay_next_sweep() {
        let now = Instant::now();
        let mut throttle = Throttle::default();
        for number in 0..12_000 {
            throttle.record_failure(address(number), now);
        }
        assert_eq!(throttle.sweep_at, 20_000);
    }

    #[test]
    fn tracked_addresses_stay_bounded() {
        let now = Instant::now();
        let mut throttle = Throttle::default();
        for number in 0..60_000 {
            throttle.record_failure(address(number), now);
        }
        assert!(throttle.tracked() <= MAX_TRACKED, "{}", throttle.tracked());
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
