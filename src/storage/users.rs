//! Users and their credentials. Every change here also bumps the credentials
//! generation (a trigger in the schema does it), which is how a running server
//! learns that its cache of verified passwords is stale.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;
use rusqlite::{params, Connection, OptionalExtension};

use super::{now_ns, StorageError};

/// The permission level of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Appends entries.
    Worker,
    /// Reads logs, the dashboard and metrics.
    Reader,
    /// Both.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Reader => "reader",
            Role::Admin => "admin",
        }
    }

    pub fn may_write(self) -> bool {
        matches!(self, Role::Worker | Role::Admin)
    }

    pub fn may_read(self) -> bool {
        matches!(self, Role::Reader | Role::Admin)
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        match text {
            "worker" => Ok(Role::Worker),
            "reader" => Ok(Role::Reader),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "invalid role {other:?}; use worker, reader or admin"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user as stored, hash included.
#[derive(Clone)]
pub struct StoredUser {
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub timezone: Option<Tz>,
    pub enabled: bool,
}

/// A user as listed, without the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub name: String,
    pub role: Role,
    pub timezone: Option<String>,
    pub enabled: bool,
}

/// A failure of a user command.
#[derive(Debug)]
pub enum UserError {
    Exists(String),
    NotFound(String),
    InvalidName(String),
    Storage(StorageError),
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserError::Exists(name) => write!(
                f,
                "user {name:?} already exists; choose another name, or change it with \
                 `translog user passwd` or `translog user set-role`"
            ),
            UserError::NotFound(name) => write!(
                f,
                "user {name:?} not found; `translog user list` shows the users"
            ),
            UserError::InvalidName(name) => write!(
                f,
                "invalid user name {name:?}; use 1 to 64 ASCII letters, digits and - _ . @"
            ),
            UserError::Storage(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for UserError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UserError::Storage(error) => Some(error),
            UserError::Exists(_) | UserError::NotFound(_) | UserError::InvalidName(_) => None,
        }
    }
}

impl From<rusqlite::Error> for UserError {
    fn from(error: rusqlite::Error) -> Self {
        UserError::Storage(error.into())
    }
}

/// Checks a user name: it must fit in `user:password` of Basic authentication
/// and read well in logs, so no colon, space or control character.
pub fn validate_name(name: &str) -> Result<(), UserError> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
    if name.is_empty() || name.len() > 64 || !name.chars().all(valid_char) {
        return Err(UserError::InvalidName(name.to_string()));
    }
    Ok(())
}

/// Adds a user with an already hashed password.
///
/// # Errors
///
/// Fails for an invalid or taken name, or a database error.
pub fn add(
    connection: &Connection,
    name: &str,
    role: Role,
    timezone: Option<Tz>,
    password_hash: &str,
) -> Result<(), UserError> {
    validate_name(name)?;
    let inserted = connection.execute(
        "INSERT INTO users (name, password_hash, role, timezone, created_at_ns)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING",
        params![
            name,
            password_hash,
            role.as_str(),
            timezone.map(|tz| tz.name()),
            now_ns()
        ],
    )?;
    if inserted == 0 {
        return Err(UserError::Exists(name.to_string()));
    }
    Ok(())
}

/// Lists every user by name.
///
/// # Errors
///
/// Fails on a database error.
pub fn list(connection: &Connection) -> Result<Vec<UserSummary>, StorageError> {
    let mut statement =
        connection.prepare("SELECT name, role, timezone, enabled FROM users ORDER BY name")?;
    let rows = statement.query_map([], |row| {
        let name: String = row.get(0)?;
        Ok(UserSummary {
            role: role_column(row, 1, &name)?,
            name,
            timezone: row.get(2)?,
            enabled: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Counts the users.
///
/// # Errors
///
/// Fails on a database error.
pub fn count(connection: &Connection) -> Result<i64, StorageError> {
    Ok(connection.query_row("SELECT count(*) FROM users", [], |row| row.get(0))?)
}

/// Looks a user up by name.
///
/// # Errors
///
/// Fails on a database error.
pub fn find(connection: &Connection, name: &str) -> Result<Option<StoredUser>, StorageError> {
    let user = connection
        .prepare_cached(
            "SELECT name, password_hash, role, timezone, enabled FROM users WHERE name = ?1",
        )?
        .query_row([name], stored_user)
        .optional()?;
    Ok(user)
}

/// Reads every user, hashes included, by name. A user whose role or zone
/// this build does not know is left out, with a warn line.
///
/// # Errors
///
/// Fails on a database error.
pub fn all(connection: &Connection) -> Result<HashMap<String, StoredUser>, StorageError> {
    let mut statement = connection
        .prepare_cached("SELECT name, password_hash, role, timezone, enabled FROM users")?;
    let rows = statement.query_map([], stored_user)?;
    let mut users = HashMap::new();
    for user in rows {
        match user {
            Ok(user) => {
                users.insert(user.name.clone(), user);
            }
            // Left out, so that its requests look it up alone and fail, while
            // the other users' requests go on.
            Err(error @ rusqlite::Error::FromSqlConversionFailure(..)) => {
                log::warn!("{error}");
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(users)
}

/// Maps a row of `name, password_hash, role, timezone, enabled`.
fn stored_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredUser> {
    let name: String = row.get(0)?;
    Ok(StoredUser {
        password_hash: row.get(1)?,
        role: role_column(row, 2, &name)?,
        timezone: timezone_column(row, 3, &name)?,
        enabled: row.get(4)?,
        name,
    })
}

/// Reads the role in column `index` of the row of user `name`. The schema's
/// CHECK admits only known roles, but a file edited by hand may hold another
/// one, and guessing a role could grant access, so that is an error.
fn role_column(row: &rusqlite::Row<'_>, index: usize, name: &str) -> rusqlite::Result<Role> {
    let role: String = row.get(index)?;
    role.parse().map_err(|_| {
        column_error(
            index,
            format!(
                "user {name} has the unknown role {role:?}; set one with `translog user \
                 set-role {name} worker|reader|admin`"
            ),
        )
    })
}

/// Reads the time zone in column `index` of the row of user `name`. A name
/// that this build's zone database lacks (one set by a newer translog, say)
/// is an error: reading the user's timestamps in another zone would store
/// them at the wrong instant.
fn timezone_column(
    row: &rusqlite::Row<'_>,
    index: usize,
    name: &str,
) -> rusqlite::Result<Option<Tz>> {
    let zone: Option<String> = row.get(index)?;
    zone.map(|zone| {
        zone.parse().map_err(|_| {
            column_error(
                index,
                format!(
                    "user {name} has the unknown time zone {zone:?}; set another with \
                     `translog user set-timezone {name} ZONE`"
                ),
            )
        })
    })
    .transpose()
}

fn column_error(index: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, message.into())
}

/// Reads the credentials generation, which changes with every change to users.
///
/// # Errors
///
/// Fails on a database error.
pub fn generation(connection: &Connection) -> Result<i64, StorageError> {
    Ok(connection
        .prepare_cached("SELECT generation FROM credentials_generation")?
        .query_row([], |row| row.get(0))?)
}

fn update(
    connection: &Connection,
    name: &str,
    sql: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<(), UserError> {
    let changed = connection.execute(sql, params![value, name])?;
    if changed == 0 {
        return Err(UserError::NotFound(name.to_string()));
    }
    Ok(())
}

/// Replaces a user's password hash.
///
/// # Errors
///
/// Fails for an unknown user or a database error.
pub fn set_password_hash(
    connection: &Connection,
    name: &str,
    password_hash: &str,
) -> Result<(), UserError> {
    update(
        connection,
        name,
        "UPDATE users SET password_hash = ?1 WHERE name = ?2",
        &password_hash,
    )
}

/// Enables or disables a user. A disabled user's requests get `403`.
///
/// # Errors
///
/// Fails for an unknown user or a database error.
pub fn set_enabled(connection: &Connection, name: &str, enabled: bool) -> Result<(), UserError> {
    update(
        connection,
        name,
        "UPDATE users SET enabled = ?1 WHERE name = ?2",
        &enabled,
    )
}

/// Changes a user's role.
///
/// # Errors
///
/// Fails for an unknown user or a database error.
pub fn set_role(connection: &Connection, name: &str, role: Role) -> Result<(), UserError> {
    update(
        connection,
        name,
        "UPDATE users SET role = ?1 WHERE name = ?2",
        &role.as_str(),
    )
}

/// Sets the time zone that resolves a user's timestamps without an offset;
/// `None` falls back to the server's default zone.
///
/// # Errors
///
/// Fails for an unknown user or a database error.
pub fn set_timezone(
    connection: &Connection,
    name: &str,
    timezone: Option<Tz>,
) -> Result<(), UserError> {
    update(
        connection,
        name,
        "UPDATE users SET timezone = ?1 WHERE name = ?2",
        &timezone.map(|tz| tz.name()),
    )
}

/// Removes a user. Entries keep the name in `reported_by`.
///
/// # Errors
///
/// Fails for an unknown user or a database error.
pub fn remove(connection: &Connection, name: &str) -> Result<(), UserError> {
    let changed = connection.execute("DELETE FROM users WHERE name = ?1", [name])?;
    if changed == 0 {
        return Err(UserError::NotFound(name.to_string()));
    }
    Ok(())
}
