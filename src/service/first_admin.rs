//! The first administrator of a new database: the user `admin` with a
//! generated password, and the file `<database>.credentials` that contains
//! `admin:PASSWORD` for `curl -u "$(cat ...)"`.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::auth::{hash_password, password};
use crate::storage::files::{parent_directory, FILE_NAME_TIME};
use crate::storage::free_space::full_disk_hint;
use crate::storage::users::{self, Role};

/// Creates the user `admin` with a generated password when there are no
/// users, and writes `admin:PASSWORD` to `<database>.credentials` (mode 0600),
/// after renaming an existing file there (see [`keep_previous_credentials`]).
/// Returns the number of users.
///
/// The user is committed only once its file is in place, so a failure at any
/// step leaves neither behind, and the next start tries again.
pub(super) fn ensure_first_admin(connection: &Connection, db_path: &Path) -> Result<i64, String> {
    let count = users::count(connection).map_err(|error| error.to_string())?;
    if count > 0 {
        return Ok(count);
    }
    let password = password::generate().map_err(|error| format!("random source: {error}"))?;
    let hash = hash_password(&password)?;
    let cannot_create = |error: &(dyn std::error::Error + 'static)| {
        let hint = full_disk_hint(db_path, error);
        format!("cannot create the user admin: {error}{hint}")
    };
    // Counted again under the write lock: a `user add` may have committed
    // since, and then no admin is created.
    let transaction =
        rusqlite::Transaction::new_unchecked(connection, rusqlite::TransactionBehavior::Immediate)
            .map_err(|error| cannot_create(&error))?;
    let count = users::count(&transaction).map_err(|error| error.to_string())?;
    if count > 0 {
        return Ok(count);
    }
    users::add(&transaction, "admin", Role::Admin, None, &hash)
        .map_err(|error| cannot_create(&error))?;

    let path = credentials_path(db_path);
    let previous = keep_previous_credentials(&path)
        .map_err(|error| format!("{error}; the user admin was not created"))?;
    let restore_previous = || {
        if let Some(previous) = &previous {
            let _ = std::fs::rename(previous, &path);
        }
    };
    if let Err(error) = write_credentials(&path, &format!("admin:{}\n", password.expose())) {
        restore_previous();
        return Err(format!("{error}; the user admin was not created"));
    }
    if let Err(error) = transaction.commit() {
        let _ = std::fs::remove_file(&path);
        restore_previous();
        return Err(cannot_create(&error));
    }

    let previous_note = match &previous {
        Some(previous) => format!(
            "; the previous credentials file was renamed to {}",
            previous.display()
        ),
        None => String::new(),
    };
    let display_path = path.display().to_string();
    log::info!(
        "created user admin; its credentials are in {display_path} (use curl -u \"$(cat {})\"){previous_note}",
        crate::shell::quote(&display_path)
    );
    Ok(1)
}

/// Renames a file or symbolic link at the credentials path `path` to
/// `<path>.old-<UTC time>`, such as `translog.db.credentials.old-20261205T142000Z`,
/// and returns the new name. The file may contain the password of the admin of
/// a database that is restored later, which the new file would overwrite. A
/// rename keeps the file's mode (0600 as `serve` wrote it). A directory at
/// `path` is left for [`write_credentials`] to reject.
///
/// # Errors
///
/// Fails, naming both paths, when the rename fails.
fn keep_previous_credentials(path: &Path) -> Result<Option<PathBuf>, String> {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return Ok(None);
    };
    if metadata.is_dir() {
        return Ok(None);
    }
    let old = unused_old_name(path, chrono::Utc::now());
    std::fs::rename(path, &old).map_err(|error| {
        format!(
            "cannot rename {} to {}: {error}",
            path.display(),
            old.display()
        )
    })?;
    Ok(Some(old))
}

/// Returns `<path>.old-<UTC time>`, with `-2`, `-3` and so on appended when
/// that name is taken, as by a second new admin within the same second.
fn unused_old_name(path: &Path, now: chrono::DateTime<chrono::Utc>) -> PathBuf {
    let mut base = path.as_os_str().to_owned();
    base.push(format!(".old-{}", now.format(FILE_NAME_TIME)));
    let mut candidate = PathBuf::from(&base);
    let mut number = 2;
    while std::fs::symlink_metadata(&candidate).is_ok() {
        let mut name = base.clone();
        name.push(format!("-{number}"));
        candidate = PathBuf::from(name);
        number += 1;
    }
    candidate
}

/// Writes `content` to `path` with mode 0600 and makes it durable. The file
/// is written under a new name first and renamed over `path`, so a symbolic
/// link or a FIFO at `path` is replaced, never followed. Errors name the file.
fn write_credentials(path: &Path, content: &str) -> Result<(), String> {
    // A link to a directory counts as the link, which the rename replaces.
    if std::fs::symlink_metadata(path).is_ok_and(|metadata| metadata.is_dir()) {
        return Err(format!(
            "cannot write {}: it is a directory",
            path.display()
        ));
    }
    let mut pending_name = path.as_os_str().to_owned();
    pending_name.push(".new");
    let pending = PathBuf::from(pending_name);
    create_new_private_file(&pending)
        .and_then(|mut file| {
            file.write_all(content.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&pending, path))
        .map_err(|error| {
            let _ = std::fs::remove_file(&pending);
            let hint = full_disk_hint(&pending, &error);
            format!("cannot write {}: {error}{hint}", pending.display())
        })?;
    // The rename is durable once the directory is synced.
    let directory = parent_directory(path);
    std::fs::File::open(directory)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| format!("cannot sync directory {}: {error}", directory.display()))
}

/// Creates a new file at `path` with mode 0600. A file or link already
/// there, left by a start that failed halfway, is removed first.
fn create_new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let _ = std::fs::remove_file(path);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Returns the path beside the database of the file that contains the first
/// administrator's credentials.
pub fn credentials_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".credentials");
    PathBuf::from(name)
}
