//! Permissions of the database file and of the directories above it, read
//! to explain why this process may not open or write it, and to warn when
//! every user of the host may read it. The general advice for a read-only
//! file, to run the command as the file's owner, helps only when the owner
//! has write permission. A directory without search permission hides
//! whether the file exists at all, so its errors would otherwise blame a
//! file that may not be there.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{Access, AtFlags, CWD};
use rustix::io::Errno;

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
        crate::shell::quote(&path.display().to_string())
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
    let path = path.display().to_string();
    let files = ["", "-wal", "-shm"]
        .map(|suffix| crate::shell::quote(&format!("{path}{suffix}")).into_owned());
    Some(format!(
        "the database file {path} is readable by every user of this host (mode {:04o}), and it \
         contains the password hashes; remove that permission with chmod o-rwx {}",
        metadata.mode() & 0o7777,
        files.join(" ")
    ))
}

/// Returns the first directory, from the root down to `directory` itself,
/// that this process's effective user may not search, as an absolute path.
/// Returns `None` when it may search them all, and when the path runs into
/// a missing directory or a file first, which other checks report.
pub fn unsearchable_directory(directory: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(directory).ok()?;
    let mut ancestors: Vec<&Path> = absolute.ancestors().collect();
    ancestors.reverse();
    let denied = ancestors.into_iter().find(|ancestor| {
        let access = rustix::fs::accessat(CWD, *ancestor, Access::EXEC_OK, AtFlags::EACCESS);
        access == Err(Errno::ACCESS)
    })?;
    // A file without execute permission is denied too.
    denied.is_dir().then(|| denied.to_path_buf())
}

/// The reason this process may not create a file in a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateDenied {
    /// The directory's permissions give this user no write permission.
    Permission,
    /// The directory is on a file system mounted read-only.
    ReadOnlyFileSystem,
}

/// Checks whether this process's effective user may create a file in
/// `directory`. Returns `None` when it may, and when the check fails for
/// another reason, such as a missing directory, which other checks report.
pub fn create_denied(directory: &Path) -> Option<CreateDenied> {
    let access = Access::WRITE_OK | Access::EXEC_OK;
    match rustix::fs::accessat(CWD, directory, access, AtFlags::EACCESS) {
        Err(Errno::ACCESS) => Some(CreateDenied::Permission),
        Err(Errno::ROFS) => Some(CreateDenied::ReadOnlyFileSystem),
        _ => None,
    }
}

/// Explains that this process's effective user may not create the `-wal`
/// and `-shm` files in `directory`, with the fix. The directory needs write
/// permission for them, even when the database file itself is writable.
pub fn companions_denied(directory: &Path) -> String {
    let user = effective_user();
    format!(
        "{user} may not create files in directory {}, and SQLite creates the database's -wal \
         and -shm files there; give {user} write access to that directory, or run translog as \
         a user that has it",
        directory.display()
    )
}

/// Names this process's effective user for a message, such as `user
/// translog`, or `the user with uid 1001` when `/etc/passwd` has no entry
/// for it, as for a user from LDAP.
pub fn effective_user() -> String {
    let uid = rustix::process::geteuid().as_raw();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    match user_name(&passwd, uid) {
        Some(name) => format!("user {name}"),
        None => format!("the user with uid {uid}"),
    }
}

/// Finds the name of the user `uid` in the text of `/etc/passwd`, whose lines
/// are `name:password:uid:gid:...`.
fn user_name(passwd: &str, uid: u32) -> Option<&str> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let line_uid = fields.nth(1)?.parse::<u32>().ok()?;
        (line_uid == uid).then_some(name)
    })
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

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          translog:x:998:998::/var/lib/translog:/usr/sbin/nologin\n";

    #[test]
    fn user_name_finds_uid() {
        assert_eq!(user_name(PASSWD, 998), Some("translog"));
    }

    #[test]
    fn user_name_of_unknown_uid_is_none() {
        assert_eq!(user_name(PASSWD, 1001), None);
    }

    #[test]
    fn searchable_directory_gets_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(unsearchable_directory(dir.path()), None);
    }

    #[test]
    fn file_in_path_gets_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = file_with_mode(dir.path(), 0o644);
        assert_eq!(unsearchable_directory(&path), None);
    }

    #[test]
    fn writable_directory_allows_create() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(create_denied(dir.path()), None);
    }

    #[test]
    fn missing_directory_gets_no_create_denial() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(create_denied(&dir.path().join("a")), None);
    }

    #[test]
    fn missing_directory_gets_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(unsearchable_directory(&dir.path().join("a/b")), None);
    }
}
