//! The checks that a database file is translog's before anything writes to
//! it, such as a journal mode, a table or the first user. Another
//! application's SQLite file may mark itself with `PRAGMA application_id`,
//! and it may set `PRAGMA user_version` to 1 or 2 as translog does.

use rusqlite::Connection;

use super::{StorageError, SCHEMA, SCHEMA_VERSION};

/// The tables that every schema version has, and that every command reads.
/// The other tables of `schema.sql` are not required, because `serve` adds
/// `stall_alert_position`, `server_instance` and `pending_fatal_alerts` to a
/// version 2 database that lacks them.
const CORE_TABLES: [&str; 4] = ["entries", "transactions", "users", "credentials_generation"];

/// Rejects a file that is not translog's, and returns its schema version,
/// which is 0 for a file that contains nothing yet, such as a new one.
/// translog sets no `PRAGMA application_id`, so a file with any other value
/// than 0 is another application's. A file of version 0 must contain no
/// table, view, index or trigger, and one of another version must pass
/// [`check`].
///
/// # Errors
///
/// [`StorageError::ForeignDatabase`], describing what was found, for another
/// application's file, or the error of reading the file.
pub fn check_owner(connection: &Connection) -> Result<i64, StorageError> {
    let application_id: i32 =
        connection.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if application_id != 0 {
        return Err(StorageError::ForeignDatabase(format!(
            "has the application_id {application_id:#010x} (PRAGMA application_id), which \
             translog never sets"
        )));
    }
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version != 0 {
        check(connection, version)?;
        return Ok(version);
    }
    if let Some(objects) = describe_objects(connection)? {
        return Err(StorageError::ForeignDatabase(format!(
            "has {objects} but no translog schema version (PRAGMA user_version is 0)"
        )));
    }
    Ok(0)
}

/// Returns the objects of the main database as a count per type, such as
/// `2 tables and 1 index`, or `None` when there are none.
fn describe_objects(connection: &Connection) -> Result<Option<String>, StorageError> {
    let mut statement = connection
        .prepare("SELECT type, count(*) FROM sqlite_schema GROUP BY type ORDER BY type DESC")?;
    let counts: Vec<String> = statement
        .query_map([], |row| {
            let kind: String = row.get(0)?;
            let count: i64 = row.get(1)?;
            Ok(format!("{count} {}", plural(&kind, count)))
        })?
        .collect::<Result<_, _>>()?;
    Ok(match counts.split_last() {
        None => None,
        Some((last, [])) => Some(last.clone()),
        Some((last, rest)) => Some(format!("{} and {last}", rest.join(", "))),
    })
}

/// Returns the type name of `count` schema objects: `index` and `indexes`,
/// `view` and `views`.
fn plural(kind: &str, count: i64) -> String {
    match (kind, count) {
        (_, 1) => kind.to_string(),
        ("index", _) => "indexes".to_string(),
        _ => format!("{kind}s"),
    }
}

/// Rejects a database of schema `version` that lacks a table of
/// [`CORE_TABLES`], or, up to [`SCHEMA_VERSION`], a column that `schema.sql`
/// gives that table. Extra columns are accepted, such as the `id` of the
/// version 1 `entries` table.
///
/// # Errors
///
/// [`StorageError::ForeignDatabase`], naming the first table or column
/// missing, for such a file, or the error of reading its schema.
pub fn check(connection: &Connection, version: i64) -> Result<(), StorageError> {
    let mut found_tables = Vec::new();
    for table in CORE_TABLES {
        found_tables.push(column_names(connection, table)?);
    }
    if found_tables.iter().all(Vec::is_empty) {
        return Err(StorageError::ForeignDatabase(format!(
            "has the schema version {version} (PRAGMA user_version) but no translog tables"
        )));
    }
    // NOTE: the columns of a newer schema are unknown here, so a file of a
    // newer version passes with the table names alone.
    let expected = if version > SCHEMA_VERSION {
        None
    } else {
        let schema = Connection::open_in_memory()?;
        schema.execute_batch(SCHEMA)?;
        Some(schema)
    };
    for (table, found) in CORE_TABLES.into_iter().zip(found_tables) {
        if found.is_empty() {
            return Err(StorageError::ForeignDatabase(format!(
                "has the schema version {version} (PRAGMA user_version) but no table {table}"
            )));
        }
        let Some(expected) = &expected else {
            continue;
        };
        let missing = column_names(expected, table)?
            .into_iter()
            .find(|column| !found.contains(column));
        if let Some(column) = missing {
            return Err(StorageError::ForeignDatabase(format!(
                "has a table {table} without the column {column} that translog gives it"
            )));
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
    fn schema_without_added_tables_passes() {
        let connection = database_with(SCHEMA);
        connection
            .execute_batch(
                "DROP TABLE stall_alert_position; DROP TABLE server_instance;
                 DROP TABLE pending_fatal_alerts;",
            )
            .expect("drop the added tables");
        assert!(check(&connection, SCHEMA_VERSION).is_ok());
    }

    #[test]
    fn other_tables_are_foreign() {
        let connection = database_with("CREATE TABLE foo (x)");
        let result = check(&connection, SCHEMA_VERSION);
        assert!(
            matches!(result, Err(StorageError::ForeignDatabase(_))),
            "{result:?}"
        );
    }

    #[test]
    fn missing_column_is_foreign() {
        let sql = SCHEMA.replace("password_hash  TEXT    NOT NULL,", "");
        let connection = database_with(&sql);
        let result = check(&connection, SCHEMA_VERSION);
        assert!(
            matches!(result, Err(StorageError::ForeignDatabase(_))),
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

    #[test]
    fn empty_database_has_version_0() {
        let connection = database_with("");
        assert_eq!(check_owner(&connection).ok(), Some(0));
    }

    #[test]
    fn application_id_is_foreign() {
        let connection = database_with("PRAGMA application_id = 1297303640;");
        let result = check_owner(&connection);
        assert!(
            matches!(&result, Err(StorageError::ForeignDatabase(found)) if found.contains("0x4d534858")),
            "{result:?}"
        );
    }

    #[test]
    fn lone_view_is_named() {
        let connection = database_with("CREATE VIEW v AS SELECT 1;");
        let result = check_owner(&connection);
        assert!(
            matches!(&result, Err(StorageError::ForeignDatabase(found)) if found.starts_with("has 1 view ")),
            "{result:?}"
        );
    }

    #[test]
    fn objects_are_counted_by_type() {
        let connection =
            database_with("CREATE TABLE a (x); CREATE TABLE b (x); CREATE INDEX i ON a (x);");
        assert_eq!(
            describe_objects(&connection).ok().flatten().as_deref(),
            Some("2 tables and 1 index")
        );
    }

    #[test]
    fn version_without_tables_names_no_translog_tables() {
        let connection = database_with("PRAGMA user_version = 2;");
        let result = check_owner(&connection);
        assert!(
            matches!(&result, Err(StorageError::ForeignDatabase(found)) if found.contains("no translog tables")),
            "{result:?}"
        );
    }
}
