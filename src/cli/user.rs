//! `translog user ...`: adding, listing and changing users. A change takes
//! effect on a running server's very next request.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;

use chrono_tz::Tz;
use clap::Subcommand;

use super::time_zone::{parse_user_zone, parse_zone_or_none};
use super::{check_database_path, open_database, read_database, DatabasePath};
use crate::auth::hash_password;
use crate::auth::password::{self, Password};
use crate::storage::free_space::describe_with_full_disk_hint;
use crate::storage::users::{self, Role, UserError, UserSummary};
use crate::storage::Schema;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; prints a generated password unless --password-stdin is given.
    Add {
        /// Name of the new user: 1 to 64 ASCII letters, digits and - _ . @.
        #[arg(value_parser = parse_user_name)]
        name: String,
        /// worker (appends entries), reader (reads logs) or admin (both).
        #[arg(long)]
        role: Role,
        /// IANA time zone for this user's timestamps without an offset.
        #[arg(long, value_parser = parse_user_zone)]
        timezone: Option<Tz>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users with their role, time zone and state.
    List,
    /// Set a new password; prints a generated one unless --password-stdin is given.
    Passwd {
        /// Name of the user whose password changes.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: its requests get 403 until it is enabled again.
    Disable {
        /// Name of the user to disable.
        name: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Name of the user to enable.
        name: String,
    },
    /// Remove a user; its entries keep its name.
    Remove {
        /// Name of the user to remove.
        name: String,
    },
    /// Set the time zone for a user's timestamps without an offset ("none" to clear it).
    SetTimezone {
        /// Name of the user whose time zone changes.
        name: String,
        /// IANA time zone such as Europe/Berlin, or "none".
        // The full path of Option keeps clap from making the argument optional.
        #[arg(value_parser = parse_zone_or_none)]
        zone: std::option::Option<Tz>,
    },
    /// Change a user's role.
    SetRole {
        /// Name of the user whose role changes.
        name: String,
        /// worker, reader or admin.
        role: Role,
    },
}

fn parse_user_name(text: &str) -> Result<String, String> {
    users::validate_name(text).map_err(|error| error.to_string())?;
    Ok(text.to_string())
}

/// Runs a `user` subcommand. Each one opens the database itself, because
/// `user add` creates a missing database only after it has read the
/// password.
pub fn run(db: &DatabasePath, command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add {
            name,
            role,
            timezone,
            password_stdin,
        } => add_user(db, &name, role, timezone, password_stdin),
        UserCommand::List => list_users(db),
        UserCommand::Passwd {
            name,
            password_stdin,
        } => change_password(db, &name, password_stdin),
        UserCommand::Disable { name } => set_enabled(db, &name, false),
        UserCommand::Enable { name } => set_enabled(db, &name, true),
        UserCommand::Remove { name } => remove_user(db, &name),
        UserCommand::SetTimezone { name, zone } => set_timezone(db, &name, zone),
        UserCommand::SetRole { name, role } => set_role(db, &name, role),
    }
}

/// Prints the users as a table. It only reads, so an existing database is
/// opened read-only.
fn list_users(db: &DatabasePath) -> Result<(), String> {
    let list = read_database(db, Schema::Current, |connection| users::list(connection))?;
    let rows: Vec<[String; 4]> = list
        .into_iter()
        .map(|user| {
            [
                user.name,
                user.role.to_string(),
                user.timezone.unwrap_or_else(|| "-".into()),
                if user.enabled { "enabled" } else { "disabled" }.to_string(),
            ]
        })
        .collect();
    super::table::print_table(&["NAME", "ROLE", "TIMEZONE", "STATE"], &rows);
    if rows.is_empty() {
        // On standard error, so that the table on standard output stays a
        // header and rows for scripts.
        eprintln!("no users yet; add one with translog user add NAME --role admin");
    }
    Ok(())
}

/// Sets a new password, read from standard input or generated. An unknown
/// user is rejected before the password is read.
fn change_password(db: &DatabasePath, name: &str, password_stdin: bool) -> Result<(), String> {
    let connection = open_database(db)?;
    if users::find(&connection, name)
        .map_err(|error| error.to_string())?
        .is_none()
    {
        return Err(users::UserError::NotFound(name.to_string()).to_string());
    }
    let prompt = format!("New password for {name}: ");
    let (password, generated) = obtain_password(password_stdin, &prompt)?;
    let hash = hash_password(&password)?;
    users::set_password_hash(&connection, name, &hash)
        .map_err(|error| change_failed(db.path(), &error))?;
    if generated {
        super::print_line(password.expose());
    } else {
        warn_short_password(&password);
    }
    eprintln!("changed the password of {name}");
    warn_stale_credentials(
        db.path(),
        name,
        &format!("delete it, or write {name}:NEW_PASSWORD into it"),
    );
    Ok(())
}

/// Warns when the credentials file that `serve` wrote beside the database
/// names `name`, whose password it no longer holds: a client that reads it
/// gets 401, and repeated failures lock out its address. `advice` ends the
/// message.
fn warn_stale_credentials(db: &Path, name: &str, advice: &str) {
    let path = crate::service::credentials_path(db);
    let Ok(content) = std::fs::read_to_string(&path) else {
        return;
    };
    if content.split_once(':').map(|(user, _)| user) == Some(name) {
        eprintln!(
            "translog: note: {} still contains the former password of {name}; {advice}",
            path.display()
        );
    }
}

/// Returns the user `name` as stored, or `None` when it is missing or cannot
/// be read, so that a command can distinguish a change from a repeated one.
/// The update that follows reports a missing user or a failed read itself.
fn stored_user(connection: &rusqlite::Connection, name: &str) -> Option<users::StoredUser> {
    users::find(connection, name).ok().flatten()
}

fn is_enabled_admin(user: &users::StoredUser) -> bool {
    user.enabled && user.role == Role::Admin
}

/// The note of a command that left no enabled user with the role admin.
const NO_ENABLED_ADMIN_NOTE: &str = "translog: note: no enabled user has the role admin now; \
    to get one back, run `translog user set-role NAME admin`, `translog user enable NAME` for \
    a disabled admin, or `translog user add NAME --role admin`";

/// Returns true when a change of a user who was an enabled admin left no
/// enabled admin among `users`, the users after the change.
fn leaves_no_enabled_admin(was_enabled_admin: bool, users: &[UserSummary]) -> bool {
    was_enabled_admin
        && !users
            .iter()
            .any(|user| user.enabled && user.role == Role::Admin)
}

/// Prints [`NO_ENABLED_ADMIN_NOTE`] when a change of a user who was an
/// enabled admin left none. The change itself is allowed, because the
/// command line manages users without logging in. A failed read of the users
/// prints nothing.
fn note_if_no_enabled_admin(connection: &rusqlite::Connection, was_enabled_admin: bool) {
    let Ok(list) = users::list(connection) else {
        return;
    };
    if leaves_no_enabled_admin(was_enabled_admin, &list) {
        eprintln!("{NO_ENABLED_ADMIN_NOTE}");
    }
}

fn set_enabled(db: &DatabasePath, name: &str, enabled: bool) -> Result<(), String> {
    let connection = open_database(db)?;
    let before = stored_user(&connection, name);
    let unchanged = before.as_ref().is_some_and(|user| user.enabled == enabled);
    users::set_enabled(&connection, name, enabled)
        .map_err(|error| change_failed(db.path(), &error))?;
    let state = if enabled { "enabled" } else { "disabled" };
    if unchanged {
        eprintln!("user {name} was already {state}");
    } else {
        eprintln!("{state} user {name}");
    }
    note_if_no_enabled_admin(
        &connection,
        !enabled && before.as_ref().is_some_and(is_enabled_admin),
    );
    Ok(())
}

fn remove_user(db: &DatabasePath, name: &str) -> Result<(), String> {
    let connection = open_database(db)?;
    let was_enabled_admin =
        stored_user(&connection, name).is_some_and(|user| is_enabled_admin(&user));
    users::remove(&connection, name).map_err(|error| change_failed(db.path(), &error))?;
    eprintln!("removed user {name}");
    warn_stale_credentials(db.path(), name, "delete it");
    if users::count(&connection).is_ok_and(|count| count == 0) {
        eprintln!(
            "translog: note: no users are left, so no request can log in; the next start of \
             `translog serve` creates the user admin with a new password and writes it to {}",
            crate::service::credentials_path(db.path()).display()
        );
    } else {
        note_if_no_enabled_admin(&connection, was_enabled_admin);
    }
    Ok(())
}

fn set_timezone(db: &DatabasePath, name: &str, zone: Option<Tz>) -> Result<(), String> {
    let connection = open_database(db)?;
    let unchanged = stored_user(&connection, name).is_some_and(|user| user.timezone == zone);
    users::set_timezone(&connection, name, zone)
        .map_err(|error| change_failed(db.path(), &error))?;
    match (zone, unchanged) {
        (Some(zone), true) => eprintln!("user {name} already had the time zone {zone}"),
        (Some(zone), false) => eprintln!("set the time zone of {name} to {zone}"),
        (None, true) => eprintln!(
            "user {name} already had no time zone of its own; the server's --timezone \
             applies to its timestamps without an offset"
        ),
        (None, false) => eprintln!(
            "cleared the time zone of {name}; the server's --timezone now applies \
             to its timestamps without an offset"
        ),
    }
    Ok(())
}

fn set_role(db: &DatabasePath, name: &str, role: Role) -> Result<(), String> {
    let connection = open_database(db)?;
    let before = stored_user(&connection, name);
    let unchanged = before.as_ref().is_some_and(|user| user.role == role);
    users::set_role(&connection, name, role).map_err(|error| change_failed(db.path(), &error))?;
    if unchanged {
        eprintln!("user {name} already had the role {role}");
    } else {
        eprintln!("set the role of {name} to {role}");
    }
    note_if_no_enabled_admin(
        &connection,
        role != Role::Admin && before.as_ref().is_some_and(is_enabled_admin),
    );
    Ok(())
}

/// Adds a user, creating the database on first use. The database path and
/// an existing user of that name are checked before the password is read,
/// so that no password is typed for a command that then fails. A missing
/// database is created only once the password is read and hashed, so a
/// failed `user add` creates no file.
fn add_user(
    db: &DatabasePath,
    name: &str,
    role: Role,
    timezone: Option<Tz>,
    password_stdin: bool,
) -> Result<(), String> {
    let existing = open_existing_database(db)?;
    if let Some(connection) = &existing {
        if users::find(connection, name)
            .map_err(|error| error.to_string())?
            .is_some()
        {
            return Err(UserError::Exists(name.to_string()).to_string());
        }
    }

    let prompt = format!("Password for new user {name}: ");
    let (password, generated) = obtain_password(password_stdin, &prompt)?;
    let hash = hash_password(&password)?;
    let connection = match existing {
        Some(connection) => connection,
        None => open_database(db)?,
    };
    users::add(&connection, name, role, timezone, &hash)
        .map_err(|error| change_failed(db.path(), &error))?;
    if generated {
        super::print_line(password.expose());
    } else {
        warn_short_password(&password);
    }
    eprintln!("added user {name} with role {role}");
    Ok(())
}

/// Opens the database for writing when its file exists and is not empty.
/// Otherwise checks its path, which [`open_database`] creates the file at
/// later, and returns `None`.
fn open_existing_database(db: &DatabasePath) -> Result<Option<rusqlite::Connection>, String> {
    if super::database::has_content(db) {
        return open_database(db).map(Some);
    }
    check_database_path(db)?;
    Ok(None)
}

/// Describes a failed change of the users in the database at `db`, with a
/// hint when a full file system is the likely cause.
fn change_failed(db: &Path, error: &UserError) -> String {
    describe_with_full_disk_hint(db, error)
}

/// Reads the password from standard input, or generates one; the flag is
/// true for a generated password, which the caller prints once. At a
/// terminal, `prompt` is printed on standard error and the password is read
/// twice with echo off.
fn obtain_password(from_stdin: bool, prompt: &str) -> Result<(Password, bool), String> {
    if !from_stdin {
        let password = password::generate().map_err(|error| format!("random source: {error}"))?;
        return Ok((password, true));
    }
    let text = if std::io::stdin().is_terminal() {
        super::terminal::read_new_password(prompt)?
    } else {
        read_piped_password()?
    };
    Ok((Password::new(text), false))
}

/// Reads the password from the first line of standard input, which is not a
/// terminal.
fn read_piped_password() -> Result<String, String> {
    let line = String::from_utf8(read_first_line()?).map_err(|_| {
        "the password on standard input is not valid UTF-8; send it as UTF-8 text, \
         or convert it first, e.g. with iconv"
            .to_string()
    })?;
    let text = line.strip_suffix('\n').unwrap_or(&line);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(
            "the password on standard input is empty; send one line with the password".into(),
        );
    }
    if text.trim().is_empty() {
        return Err(
            "the password on standard input is only white space; send a password with \
             other characters"
                .into(),
        );
    }
    Ok(text.to_string())
}

/// Reads the first line of standard input, with its line end if it has one.
fn read_first_line() -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_until(b'\n', &mut bytes)
        .map_err(|error| format!("cannot read the password from standard input: {error}"))?;
    Ok(bytes)
}

/// Length, in characters, below which a password from standard input gets a
/// warning. Such a password is still accepted. Generated passwords have 24.
const SHORT_PASSWORD_CHARS: usize = 12;

/// Warns about a password from standard input shorter than
/// [`SHORT_PASSWORD_CHARS`]. Called once the password is stored, so that a
/// failed command still prints only its error.
fn warn_short_password(password: &Password) {
    let length = password.expose().chars().count();
    if length < SHORT_PASSWORD_CHARS {
        let unit = if length == 1 {
            "character"
        } else {
            "characters"
        };
        eprintln!(
            "translog: warning: the password has only {length} {unit}; use at least \
             {SHORT_PASSWORD_CHARS}, or leave out --password-stdin to get a generated one"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, role: Role, enabled: bool) -> UserSummary {
        UserSummary {
            name: name.to_string(),
            role,
            timezone: None,
            enabled,
        }
    }

    #[test]
    fn change_of_last_admin_leaves_none() {
        let users = [summary("worker1", Role::Worker, true)];
        assert!(leaves_no_enabled_admin(true, &users));
    }

    #[test]
    fn disabled_admin_does_not_count() {
        let users = [summary("admin2", Role::Admin, false)];
        assert!(leaves_no_enabled_admin(true, &users));
    }

    #[test]
    fn other_enabled_admin_remains() {
        let users = [
            summary("admin1", Role::Reader, true),
            summary("admin2", Role::Admin, true),
        ];
        assert!(!leaves_no_enabled_admin(true, &users));
    }

    #[test]
    fn change_of_non_admin_leaves_no_note() {
        let users = [summary("worker1", Role::Worker, true)];
        assert!(!leaves_no_enabled_admin(false, &users));
    }
}
