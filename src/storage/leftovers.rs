//! Files that a database deleted or moved under a running server leaves
//! beside its path: the copy `<db>.rescued-<time>` that the server wrote
//! (see `files`), and a `-wal` file with committed pages, which the server
//! leaves behind when it is killed. A new database created at the path
//! would take the place that the rescued copy is meant for, and SQLite
//! could replay the old log into it. So a command that is about to create a
//! database is rejected while such files are there.
//!
//! A rescued copy also stops every write to a database that exists at the
//! path. After the server's `-wal` file was deleted, the file at the path
//! lacks the entries that were only in that log, and it may even lack its
//! users. Entries written to it would be missing from the copy, which the
//! operator is meant to put in its place. Commands that only read go on,
//! with a warning that names the copy.

use std::path::{Path, PathBuf};

use super::files::{companion, parent_directory, OVERWRITTEN_LOG_INFIX};

/// Returns the reason not to create a database at the missing path `db`,
/// naming the files found beside it, or `None` when there are none.
pub fn creation_blocked(db: &Path) -> Option<String> {
    let real = link_target(db).unwrap_or_else(|| db.to_path_buf());
    let shared_memory = companion(&real, "-shm");
    if is_locked(&shared_memory) {
        return Some(format!(
            "cannot create a new database at {}, because another translog server is using {}, \
             the shared-memory file of a database that was deleted or moved from this path; \
             stop that server first, then put the rescued copy of its entries, which it writes \
             beside the path, in place as docs/operators.md says under \"Deleting or moving \
             the database's files\"",
            db.display(),
            shared_memory.display()
        ));
    }
    let found = find(&real);
    if found.is_empty() {
        return None;
    }
    // A server killed before it noticed that its file was gone leaves its
    // log alone, with no rescued copy to put in place. `find` lists the
    // rescued copies first, so a single file is a copy or the log.
    if let [wal] = found.as_slice() {
        if *wal == companion(&real, "-wal") {
            return Some(format!(
                "cannot create a new database at {db}, because {wal} beside it holds entries \
                 of a database file that was deleted or moved from this path while a server \
                 ran or after it stopped unexpectedly; to keep them, move that database file \
                 back to {db}, or to start a new database, move {wal} to another directory \
                 first",
                db = db.display(),
                wal = wal.display(),
            ));
        }
    }
    let names: Vec<String> = found
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    Some(format!(
        "cannot create a new database at {db}, because {files} beside it {verb} to a \
         database that was deleted or moved while a server ran; to keep its entries, put \
         the rescued copy in place as docs/operators.md says under \"Deleting or moving \
         the database's files\", or to start a new database, move {pronoun} to another \
         directory first",
        db = db.display(),
        files = names.join(" and "),
        verb = if names.len() == 1 {
            "belongs"
        } else {
            "belong"
        },
        pronoun = if names.len() == 1 { "it" } else { "them" },
    ))
}

/// Returns the reason not to write to the existing database `db` while a
/// rescued copy, or the moved-aside log of an overwritten database file, is
/// beside it, naming those files, or `None` when there are none.
pub fn writing_blocked(db: &Path) -> Option<String> {
    if let Some(logs) = overwritten_logs_beside(db) {
        if is_served(db) {
            return Some(format!(
                "cannot write to the database {db}, because the translog server that has it \
                 open found that another program overwrote it while the server ran, as cp \
                 does, and moved the log of the old content to {logs}; stop that server first, \
                 then, to go on with {db} as it was copied, move {logs} to another directory, \
                 or if {db} was not meant to be replaced, restore the last backup as \
                 docs/operators.md says under \"Restoring a backup\"",
                db = db.display()
            ));
        }
        return Some(format!(
            "cannot write to the database {db}, because {logs} beside it is the log of the \
             database file that was overwritten while a server ran, as by cp, and {db} is what \
             was copied over it; to go on with {db} as it is, move that log to another \
             directory first, or if {db} was not meant to be replaced, restore the last backup \
             as docs/operators.md says under \"Restoring a backup\"",
            db = db.display()
        ));
    }
    let copies = RescuedCopies::beside_existing(db)?;
    Some(format!(
        "cannot write to the database {db}, because {copies} beside it {verb} the entries that a \
         server stored before the database's files were deleted, moved or replaced while it \
         ran, and {db} may lack some of them; to keep them, put the rescued copy in place as \
         docs/operators.md says under \"Deleting or moving the database's files\", or to go \
         on with {db} as it is, move {pronoun} to another directory first",
        db = db.display(),
        copies = copies.names,
        verb = copies.verb,
        pronoun = copies.pronoun,
    ))
}

/// Returns the warning for a command that only reads the existing database
/// `db` while a rescued copy, or the moved-aside log of an overwritten
/// database file, is beside it, or `None` when there are none.
pub fn reading_warning(db: &Path) -> Option<String> {
    if let Some(logs) = overwritten_logs_beside(db) {
        if is_served(db) {
            return Some(format!(
                "the translog server that has {db} open found that another program overwrote \
                 it while the server ran, as cp does, and moved the log of the old content to \
                 {logs}, so this command reads {db} as it was copied. That server stores \
                 nothing until it is restarted: stop it, then, to go on with {db}, move {logs} \
                 to another directory, or restore the last backup as docs/operators.md says \
                 under \"Restoring a backup\"",
                db = db.display()
            ));
        }
        return Some(format!(
            "{logs} beside {db} is the log of the database file that was overwritten while a \
             server ran, and {db} is what was copied over it; writes are rejected until that \
             log is moved to another directory",
            db = db.display()
        ));
    }
    let copies = RescuedCopies::beside_existing(db)?;
    Some(format!(
        "{copies} beside {db} {verb} entries that may be missing from {db}, because the \
         database's files were deleted, moved or replaced while a server ran; put the rescued \
         copy in place as docs/operators.md says under \"Deleting or moving the database's \
         files\", or move {pronoun} to another directory",
        db = db.display(),
        copies = copies.names,
        verb = copies.verb,
        pronoun = copies.pronoun,
    ))
}

/// The rescued copies beside an existing database, as the words of a
/// message about them.
struct RescuedCopies {
    /// The paths, joined with `and`.
    names: String,
    /// `holds` or `hold`.
    verb: &'static str,
    /// `the copy` or `the copies`.
    pronoun: &'static str,
}

impl RescuedCopies {
    /// Finds the rescued copies beside the existing database `db`, or
    /// returns `None` when there is none. The server writes them beside the
    /// file that a symbolic link at `db` points to.
    fn beside_existing(db: &Path) -> Option<RescuedCopies> {
        let real = super::files::real_path(db);
        let copies: Vec<String> = rescued_copies(&real)
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        let single = copies.len() == 1;
        (!copies.is_empty()).then(|| RescuedCopies {
            names: copies.join(" and "),
            verb: if single { "holds" } else { "hold" },
            pronoun: if single { "the copy" } else { "the copies" },
        })
    }
}

/// Returns true when a running server has the existing database `db` open,
/// as the `flock` on the `-shm` file beside it shows.
fn is_served(db: &Path) -> bool {
    let real = super::files::real_path(db);
    is_locked(&companion(&real, "-shm"))
}

/// Returns true when another process has the `flock` that a running
/// server takes on the file at `path`.
pub fn is_locked(path: &Path) -> bool {
    std::fs::File::open(path).is_ok_and(|file| {
        matches!(
            file.try_lock_shared(),
            Err(std::fs::TryLockError::WouldBlock)
        )
    })
}

/// Returns the rescued copies beside `db` and its `-wal` file when that has
/// content, in that order. For a symbolic link, `db` is the file it points
/// to, where the server writes them.
fn find(db: &Path) -> Vec<PathBuf> {
    let mut found = rescued_copies(db);
    let wal = companion(db, "-wal");
    if std::fs::metadata(&wal).is_ok_and(|metadata| metadata.len() > 0) {
        found.push(wal);
    }
    found
}

/// Returns the path that the symbolic link `path` points to, relative to the
/// link's directory, or `None` when `path` is no link.
pub fn link_target(path: &Path) -> Option<PathBuf> {
    let target = std::fs::read_link(path).ok()?;
    let directory = path.parent().unwrap_or(Path::new(""));
    Some(directory.join(target))
}

/// Returns the moved-aside logs of an overwritten database file beside the
/// existing database `db`, joined with `and`, or `None` when there is none.
/// The server moves them beside the file that a symbolic link points to.
fn overwritten_logs_beside(db: &Path) -> Option<String> {
    let real = super::files::real_path(db);
    let suffix = format!("-wal{OVERWRITTEN_LOG_INFIX}");
    let logs: Vec<String> = files_named_after(&real, &suffix)
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    (!logs.is_empty()).then(|| logs.join(" and "))
}

/// Returns the files named `<db>.rescued-*` in the directory of `db`, sorted.
fn rescued_copies(db: &Path) -> Vec<PathBuf> {
    files_named_after(db, ".rescued-")
}

/// Returns the files in the directory of `db` whose names start with the
/// name of `db` followed by `suffix`, sorted.
fn files_named_after(db: &Path, suffix: &str) -> Vec<PathBuf> {
    let Some(name) = db.file_name() else {
        return Vec::new();
    };
    let mut prefix = name.to_owned();
    prefix.push(suffix);
    let prefix = prefix.as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir(parent_directory(db)) else {
        return Vec::new();
    };
    let mut copies: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().as_encoded_bytes().starts_with(prefix))
        .map(|entry| db.with_file_name(entry.file_name()))
        .collect();
    copies.sort();
    copies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_directory_blocks_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(creation_blocked(&dir.path().join("t.db")), None);
    }

    #[test]
    fn rescued_copy_is_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let copy = dir.path().join("t.db.rescued-20261205T034100Z");
        std::fs::write(&copy, b"x").expect("write");
        assert_eq!(find(&dir.path().join("t.db")), [copy]);
    }

    #[test]
    fn other_database_copy_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("u.db.rescued-20261205T034100Z"), b"x").expect("write");
        assert!(find(&dir.path().join("t.db")).is_empty());
    }

    #[test]
    fn existing_database_without_copy_is_writable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("t.db");
        std::fs::write(&db, b"x").expect("write");
        assert_eq!(writing_blocked(&db), None);
    }

    #[test]
    fn rescued_copy_blocks_writing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("t.db");
        std::fs::write(&db, b"x").expect("write");
        let copy = dir.path().join("t.db.rescued-20261205T034100Z");
        std::fs::write(&copy, b"x").expect("write");
        let reason = writing_blocked(&db).unwrap_or_default();
        assert!(reason.contains(&copy.display().to_string()), "{reason}");
    }

    #[test]
    fn wal_beside_existing_database_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("t.db");
        std::fs::write(&db, b"x").expect("write");
        std::fs::write(dir.path().join("t.db-wal"), b"x").expect("write");
        assert_eq!(writing_blocked(&db), None);
    }

    #[test]
    fn wal_alone_names_moving_file_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("t.db-wal"), b"x").expect("write");
        let reason = creation_blocked(&dir.path().join("t.db")).expect("creation blocked");
        assert!(
            reason.contains("move that database file back to"),
            "{reason}"
        );
    }

    #[test]
    fn wal_alone_names_no_rescued_copy() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("t.db-wal"), b"x").expect("write");
        let reason = creation_blocked(&dir.path().join("t.db")).expect("creation blocked");
        assert!(!reason.contains("rescued copy"), "{reason}");
    }

    #[test]
    fn wal_with_rescued_copy_names_copy() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("t.db-wal"), b"x").expect("write");
        std::fs::write(dir.path().join("t.db.rescued-20261205T034100Z"), b"x").expect("write");
        let reason = creation_blocked(&dir.path().join("t.db")).expect("creation blocked");
        assert!(reason.contains("put the rescued copy in place"), "{reason}");
    }

    #[test]
    fn empty_wal_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("t.db-wal"), b"").expect("write");
        assert!(find(&dir.path().join("t.db")).is_empty());
    }

    #[test]
    fn wal_with_content_is_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let wal = dir.path().join("t.db-wal");
        std::fs::write(&wal, b"x").expect("write");
        assert_eq!(find(&dir.path().join("t.db")), [wal]);
    }
}
