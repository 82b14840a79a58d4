//! Tests of the systemd unit in `scripts/translog.service`. Its restart
//! policy never gives up, it waits for the network to be configured, and
//! systemd's own parser accepts it with the built binary in place of the
//! installed one.

use std::process::Command;

const UNIT: &str = include_str!("../scripts/translog.service");

/// Returns the values of `key` in the unit, in order.
fn values(key: &str) -> Vec<&'static str> {
    UNIT.lines()
        .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn unit_never_stops_restarting() {
    assert_eq!(values("StartLimitIntervalSec"), ["0"]);
}

#[test]
fn unit_sets_no_start_burst() {
    assert_eq!(values("StartLimitBurst"), Vec::<&str>::new());
}

#[test]
fn unit_restarts_on_failure() {
    assert_eq!(values("Restart"), ["on-failure"]);
}

#[test]
fn unit_wants_network_online() {
    assert_eq!(values("Wants"), ["network-online.target"]);
}

#[test]
fn unit_starts_after_network_online() {
    assert_eq!(values("After"), ["network-online.target"]);
}

#[test]
fn unit_turns_off_journal_rate_limit() {
    assert_eq!(values("LogRateLimitIntervalSec"), ["0"]);
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let unit = dir.path().join("translog.service");
    let text = UNIT.replace("/usr/local/bin/translog", env!("CARGO_BIN_EXE_translog"));
    std::fs::write(&unit, text).expect("write the unit");
    let output = match Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
    {
        Ok(output) => output,
        // The CI script (.ci/run) installs systemd-analyze, so where the `CI`
        // variable is set a missing one fails the test.
        Err(error) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot run systemd-analyze on the CI machine: {error}"
            );
            eprintln!("skipped: cannot run systemd-analyze ({error})");
            return;
        }
    };
    // systemd-analyze (systemd 252) exits 0 for unknown keys and invalid
    // values, and only warns about them on standard error.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr, "", "systemd-analyze warned");
}
