//! Passes the git commit to the build as `TRANSLOG_COMMIT`, for the version
//! that `translog --version` and the start-up line print, so that two builds of
//! one release can be distinguished. A build outside a git checkout of this
//! source, or without git, gets an empty `TRANSLOG_COMMIT`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let source = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = commit(&source).unwrap_or_default();
    println!("cargo:rustc-env=TRANSLOG_COMMIT={commit}");
}

/// Returns the abbreviated hash of the commit checked out in `source`, when
/// `source` is the top of its own git checkout. A source tree unpacked inside
/// another repository would otherwise get that repository's commit.
fn commit(source: &Path) -> Option<String> {
    let top = git(source, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != source.canonicalize().ok()? {
        return None;
    }
    // HEAD moves with a checkout, and the reflog grows with every commit,
    // also one that leaves the index as it is.
    for name in ["HEAD", "logs/HEAD"] {
        if let Some(path) = git(source, &["rev-parse", "--git-path", name]) {
            let path = source.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let hash = git(source, &["rev-parse", "--short=12", "HEAD"])?;
    hash.bytes()
        .all(|byte| byte.is_ascii_hexdigit())
        .then_some(hash)
}

/// Runs git in `directory` and returns its trimmed output, if it succeeded.
fn git(directory: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(directory)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_string())
}
