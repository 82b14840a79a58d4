//! The check that a database file with a schema version has translog's
//! tables. Another application's SQLite file may set `PRAGMA user_version`
//! to 1 or 2 too, and translog must reject it before it writes anything to
//! it, such as a journal mode, a table or the first user.

use rusqlite::Connection;

use super::{StorageError, SCHEMA, SCHEMA_VERSION};

/// The tables that every schema version has, and that every command reads.
/// The other tables of `schema.sql` are not required, because `serve` adds
/// `stall_alert_position` to a version 2 database that lacks it.
const CORE_TABLES: [&str; 4] = ["entries", "transactions", "users", "credentials_generation"];

/// Rejects a database of schema `version` that lacks a table of
/// [`CORE_TABLES`], or, up to [`SCHEMA_VERSION`], a column that `schema.sql`
/// gives that table. Extra columns are accepted, such as the `id` of the
/// version 1 `entries` table.
///
/// # Errors
///
/// [`StorageError::ForeignDatabase`] for such a file, or the error of
/// reading its schema.
pub fn check(connection: &Connection, version: i64) -> Result<(), StorageError> {
    let expected = Connection::open_in_memory()?;
    expected.execute_batch(SCHEMA)?;
    for table in CORE_TABLES {
        let found = column_names(connection, table)?;
        if found.is_empty() {
            return Err(StorageError::ForeignDatabase);
        }
        // NOTE: the columns of a newer schema are unknown here, so a file of
        // a newer version passes with the table names alone.
        if version > SCHEMA_VERSION {
            continue;
        }
        let missing = column_names(&expected, table)?
            .into_iter()
            .any(|column| !found.contains(&column));
        if missing {
            return Err(StorageError::ForeignDatabase);
        }
    }
    Ok(())
}

/// Returns the column names of `table` in the main database, none when there
/// is no such table.
fn column_names(connection: &Connection, table: &str) -> Result<Vec<String>, StorageError> {
    let mut statement = connection.prepare("SELECT name FROM pragma_table_info(?1, 'main')")?;
    let names = statement
        .query_map([table], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_with(sql: &str) -> Connection {
        let connection = Connection::open_in_memory().expect("open");
        connection.execute_batch(sql).expect("create tables");
        connection
    }

    #[test]
    fn current_schema_passes() {
        let connection = database_with(SCHEMA);
        assert!(check(&connection, SCHEMA_VERSION).is_ok());
    }

    #[test]
    fn other_tables_are_foreign() {
        let connection = database_with("CREATE TABLE foo (x)");
        let result = check(&connection, SCHEMA_VERSION);
        assert!(
            matches!(result, Err(StorageError::ForeignDatabase)),
            "{result:?}"
        );
    }

    #[test]
    fn missing_column_is_foreign() {
        let sql = SCHEMA.replace("password_hash  TEXT    NOT NULL,", "");
        let connection = database_with(&sql);
        let result = check(&connection, SCHEMA_VERSION);
        assert!(
            matches!(result, Err(StorageError::ForeignDatabase)),
            "{result:?}"
        );
    }

    #[test]
    fn newer_version_needs_table_names_only() {
        let connection = database_with(
            "CREATE TABLE entries (a); CREATE TABLE transactions (a); \
             CREATE TABLE users (a); CREATE TABLE credentials_generation (a);",
        );
        assert!(check(&connection, SCHEMA_VERSION + 1).is_ok());
    }
}
