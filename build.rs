//! Adds the git commit to the version that `translog --version` and the
//! start-up line print, so that two builds of one release can be distinguished.
//! A build outside a git checkout, or without git, prints the release alone.

use std::process::Command;

fn main() {
    // HEAD moves with a checkout, and the index is rewritten by every commit.
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    let release = env!("CARGO_PKG_VERSION");
    let version = match commit() {
        Some(commit) => format!("{release} (commit {commit})"),
        None => release.to_string(),
    };
    println!("cargo:rustc-env=TRANSLOG_VERSION={version}");
}

/// Returns the abbreviated hash of the checked-out commit, if there is one.
fn commit() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let hash = String::from_utf8(output.stdout).ok()?;
    let hash = hash.trim();
    let is_hash = !hash.is_empty() && hash.bytes().all(|byte| byte.is_ascii_hexdigit());
    (output.status.success() && is_hash).then(|| hash.to_string())
}
