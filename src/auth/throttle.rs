//! Throttling of failed logins per client address: after
//! [`MAX_FAILURES`] failures within [`WINDOW`], the address gets `429` until
//! the oldest of those failures leaves the window. Verifications still
//! running count as failures until they end, so that parallel requests cannot
//! try more passwords than that. An IPv6 client counts by its /64 network
//! (see [`throttle_key`]).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(60);

/// The number of addresses tracked before expired ones are first swept out.
const SWEEP_ABOVE: usize = 10_000;

/// The maximum number of addresses tracked at once, about 12 MB of failure
/// times (an estimate from the size of the map's entries). An
/// address's entry is at most a minute old, so more means failed logins from
/// that many addresses within a minute. Rather than grow without bound, the
/// throttle then removes the addresses whose last failure is oldest, down to
/// [`KEPT_WHEN_FULL`].
const MAX_TRACKED: usize = 50_000;

/// The number of addresses with the newest failures that a sweep keeps when
/// more than half of [`MAX_TRACKED`] failed within the window.
const KEPT_WHEN_FULL: usize = MAX_TRACKED / 4;

/// The length of the IPv6 prefix that counts as one client.
const IPV6_CLIENT_PREFIX: u32 = 64;

/// Returns the address that the failures of `client` count under. An IPv6
/// address counts by its /64 network, because one host commonly has a whole
/// /64 to itself (SLAAC, a cloud instance's subnet), and each of its 2^64
/// addresses would otherwise start with a count of its own. An IPv4 address
/// mapped into IPv6, as a dual-stack socket reports it, counts as itself.
fn throttle_key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(address) => {
            let network = u128::MAX << (128 - IPV6_CLIENT_PREFIX);
            IpAddr::V6(Ipv6Addr::from(u128::from(address) & network))
        }
        IpAddr::V4(address) => IpAddr::V4(address),
    }
}

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
        let times = self.failures.get_mut(&throttle_key(client))?;
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
        let client = throttle_key(client);
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
        let client = throttle_key(client);
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
        let times = self.failures.entry(throttle_key(client)).or_default();
        if times.len() == MAX_FAILURES {
            times.pop_front();
        }
        times.push_back(now);
    }

    /// Removes the addresses whose last failure left the window. When more
    /// than half of [`MAX_TRACKED`] are still in it, it also removes those
    /// whose last failure is oldest, keeping [`KEPT_WHEN_FULL`].
    fn sweep(&mut self, now: Instant) {
        self.failures.retain(|_, times| {
            times
                .back()
                .is_some_and(|at| now.duration_since(*at) < WINDOW)
        });
        if self.failures.len() >= MAX_TRACKED / 2 {
            let removed = self.remove_oldest(self.failures.len() - KEPT_WHEN_FULL);
            log::warn!(
                "failed logins from {} addresses within {} s; the throttle removes the {removed} \
                 whose last failure is oldest, to bound its memory",
                self.failures.len() + removed,
                WINDOW.as_secs()
            );
        }
        self.sweep_at = (self.failures.len() * 2).clamp(SWEEP_ABOVE, MAX_TRACKED);
    }

    /// Removes the `count` addresses whose last failure is oldest, and
    /// returns how many it removed.
    fn remove_oldest(&mut self, count: usize) -> usize {
        let mut by_last_failure: Vec<(Instant, IpAddr)> = self
            .failures
            .iter()
            .filter_map(|(client, times)| times.back().map(|at| (*at, *client)))
            .collect();
        let count = count.min(by_last_failure.len());
        if count == 0 {
            return 0;
        }
        by_last_failure.select_nth_unstable(count - 1);
        for (_, client) in &by_last_failure[..count] {
            self.failures.remove(client);
        }
        count
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
    fn full_table_keeps_newest_failures() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        for number in 0..30_000 {
            throttle.record_failure(address(number), start);
        }
        let later = start + Duration::from_secs(1);
        for _ in 0..MAX_FAILURES {
            throttle.record_failure(CLIENT, later);
        }
        // Enough new addresses for the sweep at 40,000.
        for number in 30_000..40_001 {
            throttle.record_failure(address(number), later);
        }
        assert_eq!(throttle.retry_after(CLIENT, later), Some(WINDOW));
    }

    #[test]
    fn full_table_keeps_its_share() {
        let now = Instant::now();
        let mut throttle = Throttle::default();
        // The failure after the 40,000th sweeps first, and is then added.
        for number in 0..=40_000 {
            throttle.record_failure(address(number), now);
        }
        assert_eq!(throttle.tracked(), KEPT_WHEN_FULL + 1);
    }

    fn ipv6(text: &str) -> IpAddr {
        text.parse().expect("an IPv6 address")
    }

    #[test]
    fn ipv6_counts_per_64() {
        let now = Instant::now();
        let mut throttle = Throttle::default();
        for number in 1..=MAX_FAILURES {
            throttle.record_failure(ipv6(&format!("2001:db8::{number:x}")), now);
        }
        assert_eq!(
            throttle.retry_after(ipv6("2001:db8::ffff:1"), now),
            Some(WINDOW)
        );
    }

    #[test]
    fn other_ipv6_64_is_not_blocked() {
        let now = Instant::now();
        let mut throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            throttle.record_failure(ipv6("2001:db8::1"), now);
        }
        assert_eq!(throttle.retry_after(ipv6("2001:db8:0:1::1"), now), None);
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let now = Instant::now();
        let mut throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            throttle.record_failure(ipv6("::ffff:127.0.0.1"), now);
        }
        assert_eq!(throttle.retry_after(CLIENT, now), Some(WINDOW));
    }

    #[test]
    fn mapped_ipv4_addresses_count_apart() {
        let now = Instant::now();
        let mut throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            throttle.record_failure(ipv6("::ffff:10.0.0.1"), now);
        }
        assert_eq!(throttle.retry_after(ipv6("::ffff:10.0.0.2"), now), None);
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
