//! Authentication of requests: Basic credentials checked against Argon2id
//! hashes in the database, a cache of verified credentials so that a request
//! does not pay for a hash, and the throttle of failed logins.
//!
//! The cache is keyed by an HMAC of user and password under a key drawn at
//! start-up, so it contains no password. It is emptied whenever the credentials
//! generation in the database moves, which every change to a user does, from
//! this process or from the command line. `PRAGMA data_version` tells cheaply
//! whether any other connection committed since the last look, so most
//! requests check the generation without reading a table.

pub mod basic;
pub mod password;
pub mod throttle;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use hmac::{Hmac, Mac};
use rusqlite::Connection;
use sha2::Sha256;
use tokio::sync::Semaphore;

use crate::storage::users::{self, Role, StoredUser};
use crate::storage::{ReaderPool, StorageError};
use basic::{BasicError, Credentials};
use password::Password;
use throttle::Throttle;

/// How long a verified credential stays cached without being checked again.
const CACHE_TTL: Duration = Duration::from_secs(15 * 60);

/// The most cached credentials; past it the cache starts over.
const CACHE_CAPACITY: usize = 10_000;

/// The user a request was authenticated as.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub timezone: Option<Tz>,
    pub enabled: bool,
}

impl From<StoredUser> for User {
    fn from(stored: StoredUser) -> Self {
        User {
            name: stored.name,
            role: stored.role,
            timezone: stored.timezone,
            enabled: stored.enabled,
        }
    }
}

/// The reason a request was not authenticated.
#[derive(Debug)]
pub enum AuthError {
    /// `401`: the reason is for the server log only.
    Unauthorized(&'static str),
    /// `429`: too many failures from this address.
    Throttled(Duration),
    /// `503`: the user table could not be read.
    Storage(StorageError),
}

struct CachedUser {
    user: User,
    expires: Instant,
}

struct Cache {
    generation: i64,
    users: HashMap<[u8; 32], CachedUser>,
}

/// Notices commits by other connections and re-reads the generation.
struct GenerationWatch {
    connection: Connection,
    data_version: i64,
}

/// Checks credentials for the HTTP layer.
pub struct Authenticator {
    cache_key: [u8; 32],
    cache: Mutex<Cache>,
    watch: Mutex<GenerationWatch>,
    readers: Arc<ReaderPool>,
    dummy_hash: String,
    /// Bounds the Argon2 verifications running at once, and so their memory.
    hashing: Semaphore,
    throttle: Mutex<Throttle>,
}

impl Authenticator {
    /// Creates the authenticator. `watch_connection` is a reader used only for
    /// the generation check; `hashing_threads` bounds concurrent verifications.
    ///
    /// # Errors
    ///
    /// Fails when the random source or the database fails.
    pub fn new(
        watch_connection: Connection,
        readers: Arc<ReaderPool>,
        hashing_threads: usize,
    ) -> Result<Authenticator, String> {
        let mut cache_key = [0u8; 32];
        getrandom::getrandom(&mut cache_key).map_err(|error| format!("random source: {error}"))?;
        let dummy = password::generate().map_err(|error| format!("random source: {error}"))?;
        let dummy_hash = password::hash(&dummy).map_err(|error| format!("hashing: {error}"))?;
        let data_version = data_version(&watch_connection).map_err(|error| error.to_string())?;
        let generation = users::generation(&watch_connection).map_err(|error| error.to_string())?;
        Ok(Authenticator {
            cache_key,
            cache: Mutex::new(Cache {
                generation,
                users: HashMap::new(),
            }),
            watch: Mutex::new(GenerationWatch {
                connection: watch_connection,
                data_version,
            }),
            readers,
            dummy_hash,
            hashing: Semaphore::new(hashing_threads.max(1)),
            throttle: Mutex::new(Throttle::default()),
        })
    }

    /// Authenticates a request from `client` with the given `Authorization`
    /// header value. The password hash is verified on a blocking thread, so
    /// the caller's thread never waits on it.
    ///
    /// # Errors
    ///
    /// Returns why the request is not authenticated.
    pub async fn authenticate(
        self: &Arc<Self>,
        header: Option<&[u8]>,
        client: IpAddr,
    ) -> Result<User, AuthError> {
        let now = Instant::now();
        if let Some(wait) = self.lock_throttle().retry_after(client, now) {
            return Err(AuthError::Throttled(wait));
        }
        let credentials = match basic::parse(header) {
            Ok(credentials) => credentials,
            Err(BasicError::Missing) => {
                return Err(AuthError::Unauthorized(BasicError::Missing.reason()))
            }
            Err(error) => {
                self.lock_throttle().record_failure(client, now);
                return Err(AuthError::Unauthorized(error.reason()));
            }
        };
        self.refresh_generation().map_err(AuthError::Storage)?;
        let key = self.cache_key_of(&credentials);
        if let Some(user) = self.cached(&key, now) {
            return Ok(user);
        }

        let permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| AuthError::Unauthorized("server is shutting down"))?;
        let this = Arc::clone(self);
        let verification = tokio::task::spawn_blocking(move || this.verify(credentials)).await;
        drop(permit);
        let (generation, user) = match verification {
            Ok(result) => result.map_err(AuthError::Storage)?,
            Err(_) => return Err(AuthError::Unauthorized("verification task failed")),
        };
        match user {
            Some(user) => {
                self.store(key, generation, &user);
                Ok(user)
            }
            None => {
                self.lock_throttle().record_failure(client, Instant::now());
                Err(AuthError::Unauthorized("unknown user or wrong password"))
            }
        }
    }

    /// Reads the user and the generation in one snapshot, then verifies the
    /// password; an unknown user is checked against a dummy hash, so that it
    /// costs the same time as a wrong password.
    fn verify(&self, credentials: Credentials) -> Result<(i64, Option<User>), StorageError> {
        let (generation, stored) = self.readers.with(|connection| {
            let snapshot = connection.unchecked_transaction()?;
            let generation = users::generation(&snapshot)?;
            let stored = users::find(&snapshot, &credentials.user)?;
            Ok((generation, stored))
        })?;
        let hash = stored
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |user| user.password_hash.as_str());
        let matches = password::verify(&credentials.password, hash);
        Ok((generation, stored.filter(|_| matches).map(User::from)))
    }

    fn cache_key_of(&self, credentials: &Credentials) -> [u8; 32] {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.cache_key) {
            Ok(mac) => mac,
            // HMAC takes keys of any length, so this arm never runs.
            Err(_) => return [0; 32],
        };
        mac.update(credentials.user.as_bytes());
        mac.update(&[0]);
        mac.update(credentials.password.expose().as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn cached(&self, key: &[u8; 32], now: Instant) -> Option<User> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.users.get(key)?;
        (entry.expires > now).then(|| entry.user.clone())
    }

    fn store(&self, key: [u8; 32], generation: i64, user: &User) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        // A verification that read an older generation may describe a user
        // that has changed since; it must not be cached.
        if generation != cache.generation {
            return;
        }
        if cache.users.len() >= CACHE_CAPACITY {
            cache.users.clear();
        }
        let expires = Instant::now() + CACHE_TTL;
        cache.users.insert(
            key,
            CachedUser {
                user: user.clone(),
                expires,
            },
        );
    }

    /// Empties the cache when the credentials generation has moved.
    fn refresh_generation(&self) -> Result<(), StorageError> {
        let mut watch = self
            .watch
            .lock()
            .map_err(|_| StorageError::Internal(rusqlite::Error::InvalidQuery))?;
        let version = data_version(&watch.connection)?;
        if version == watch.data_version {
            return Ok(());
        }
        let generation = users::generation(&watch.connection)?;
        watch.data_version = version;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.generation != generation {
                cache.generation = generation;
                cache.users.clear();
            }
        }
        Ok(())
    }

    fn lock_throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        // The throttle holds plain data, so a poisoned lock is still usable.
        self.throttle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn data_version(connection: &Connection) -> Result<i64, StorageError> {
    Ok(connection.pragma_query_value(None, "data_version", |row| row.get(0))?)
}

/// Hashes a password for storage.
///
/// # Errors
///
/// Fails when no random salt can be drawn.
pub fn hash_password(password: &Password) -> Result<String, String> {
    password::hash(password).map_err(|error| format!("hashing the password failed: {error}"))
}
