//! Permission bits of the database file, read to explain why this process
//! may not write it, and to warn when every user of the host may read it.
//! The general advice for a read-only file, to run the command as the
//! file's owner, helps only when the owner has write permission.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// Checks whether this process's user owns the file at `path` while its mode
/// gives the owner no write permission (mode 0400, say). Returns the reason,
/// with the `chmod` command that fixes it, in that case only. Returns `None`
/// otherwise, and when the file's metadata cannot be read.
pub fn owner_without_write(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    let owned = metadata.uid() == rustix::process::geteuid().as_raw();
    if !owned || metadata.mode() & 0o200 != 0 {
        return None;
    }
    Some(format!(
        "the file's mode ({:04o}) gives its owner, which is this user, no write permission; \
         add it with chmod u+w {}",
        metadata.mode() & 0o7777,
        path.display()
    ))
}

/// Checks whether the file at `path` is readable by users other than its
/// owner and group. Returns the warning, with the `chmod` command that
/// removes that permission, in that case only, and `None` otherwise or when
/// the file's metadata cannot be read. SQLite gives the `-wal` and `-shm`
/// files the database file's mode, so the command names them too.
pub fn readable_by_others(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    if metadata.mode() & 0o004 == 0 {
        return None;
    }
    let path = path.display();
    Some(format!(
        "the database file {path} is readable by every user of this host (mode {:04o}), and it \
         contains the password hashes; remove that permission with \
         chmod o-rwx {path} {path}-wal {path}-shm",
        metadata.mode() & 0o7777,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn file_with_mode(dir: &Path, mode: u32) -> std::path::PathBuf {
        let path = dir.join("t.db");
        std::fs::write(&path, b"").expect("write the file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn owned_read_only_file_names_chmod() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = file_with_mode(dir.path(), 0o400);
        let reason = owner_without_write(&path).expect("mode 0400 lacks write permission");
        assert!(
            reason.ends_with(&format!("chmod u+w {}", path.display())),
            "{reason}"
        );
    }

    #[test]
    fn owned_read_only_file_names_mode() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = file_with_mode(dir.path(), 0o400);
        let reason = owner_without_write(&path).expect("mode 0400 lacks write permission");
        assert!(reason.contains("(0400)"), "{reason}");
    }

    #[test]
    fn owner_writable_file_gets_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = file_with_mode(dir.path(), 0o600);
        assert_eq!(owner_without_write(&path), None);
    }

    #[test]
    fn missing_file_gets_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(owner_without_write(&dir.path().join("t.db")), None);
    }
}
