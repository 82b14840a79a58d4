//! Authentication of requests: Basic credentials checked against Argon2id
//! hashes in the database, a cache of verified credentials so that a request
//! does not pay for a hash, and the throttle of failed logins.
//!
//! The cache is keyed by an HMAC of user and password under a key drawn at
//! start-up, so it contains no password. Every change to a user, from this
//! process or from the command line, moves the credentials generation in the
//! database. When it moves, the cache is checked against the users table. A
//! credential stays only while its user still has the password hash it was
//! verified against, and it takes the user's current role, zone and state. A read
//! request reads the generation with one prepared statement. A write request
//! leaves that check to the storage thread, which compares the generation in
//! the database transaction that stores the entry, and when it has moved,
//! compares the request's user with its row. Either way a change takes effect
//! on the next request, and a change to one user costs no other user a new
//! Argon2 verification nor a refused write.

pub mod basic;
pub mod hashing;
pub mod password;
pub mod throttle;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use hmac::{Hmac, Mac};
use rusqlite::Connection;
use sha2::Sha256;
use tokio::sync::Semaphore;

use crate::storage::users::{self, Role, StoredUser};
use crate::storage::{ReaderPool, StorageError};
use basic::{AuthorizationHeader, BasicError, Credentials, EmptyParts, Padding};
use hashing::HashingThreads;
use password::{HashingMemory, Password};
use throttle::{Admission, Throttle};

/// How long a verified credential stays cached without being checked again.
const CACHE_TTL: Duration = Duration::from_secs(15 * 60);

/// The most cached credentials; past it the cache starts over.
const CACHE_CAPACITY: usize = 10_000;

/// How long a read on the watch connection waits for another process's lock.
/// The read runs on the HTTP thread, which serves every connection, so a
/// longer wait would stall them all. A WAL reader waits only while another
/// process rebuilds the WAL index, as after a crash, or holds the database
/// in exclusive locking mode. On a timeout the cache keeps its view.
pub const WATCH_BUSY_TIMEOUT: Duration = Duration::from_millis(5);

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

/// A request's user, with the credentials generation it was verified under
/// and the stored hash that its password matched. It has no `Debug`, so that
/// the hash cannot reach a log.
#[derive(Clone)]
pub struct Authenticated {
    pub user: User,
    pub generation: i64,
    /// The stored hash that the password was verified against, so that a
    /// later check can tell whether the password has changed since.
    pub password_hash: Arc<str>,
}

/// When the credentials generation is compared with the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Now, before the request is served.
    Now,
    /// Later, by the storage thread in the transaction that stores the
    /// request's entry, which saves a read on the HTTP thread.
    AtCommit,
}

/// The reason a request was not authenticated.
#[derive(Debug)]
pub enum AuthError {
    /// `401` for a missing, repeated or malformed `Authorization` header.
    Unauthorized(BasicError),
    /// `401` for an unknown user or a wrong password. The name of an existing
    /// user is kept for the server log only, because the response must look
    /// the same for both. The name of an unknown user is not kept, because it
    /// may be a password typed into the user name field. `empty` names the
    /// parts that were sent empty, and `padding` the whitespace that they
    /// start or end with, which the response message names too.
    BadCredentials {
        existing_user: Option<String>,
        empty: EmptyParts,
        padding: Padding,
    },
    /// `429`: too many failures from this address.
    Throttled(Duration),
    /// `503`: the user table could not be read.
    Storage(StorageError),
    /// `500`: the verification itself failed; the reason is for the log.
    Internal(&'static str),
}

/// The outcome of checking a password against the stored users.
enum Verification {
    Matched(StoredUser),
    WrongPassword,
    UnknownUser,
}

struct CachedUser {
    user: User,
    /// The stored hash that the password was verified against. The same hash
    /// accepts the same password, so the credential is valid while it is stored.
    password_hash: Arc<str>,
    expires: Instant,
}

struct Cache {
    generation: i64,
    users: HashMap<[u8; 32], CachedUser>,
}

impl Cache {
    /// Brings the cache to `generation`, given every user as stored under it:
    /// a credential whose user still has the same hash is kept with the
    /// user's current role, zone and state, and the others are dropped.
    fn revalidate(&mut self, generation: i64, current: &HashMap<String, StoredUser>) {
        self.generation = generation;
        self.users
            .retain(|_, cached| match current.get(&cached.user.name) {
                Some(stored) if *stored.password_hash == *cached.password_hash => {
                    cached.user = User::from(stored.clone());
                    true
                }
                _ => false,
            });
    }

    /// Drops every credential, when the users table cannot be read.
    fn clear(&mut self, generation: i64) {
        self.generation = generation;
        self.users.clear();
    }
}

/// The requests that wait to verify the same credentials, one at a time.
struct VerificationQueue {
    turn: Arc<tokio::sync::Mutex<()>>,
    waiting: usize,
}

/// A request's place in a [`VerificationQueue`]. Dropping it leaves the
/// queue, and the last request to leave removes the queue.
struct QueuePlace<'a> {
    authenticator: &'a Authenticator,
    key: [u8; 32],
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// A verification that the throttle counts as running until this is dropped.
struct RunningVerification<'a> {
    by: &'a Authenticator,
    client: IpAddr,
}

impl Drop for RunningVerification<'_> {
    fn drop(&mut self) {
        self.by.lock_throttle().end_verification(self.client);
        self.by.verification_ended.notify_waiters();
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        let mut queues = self.authenticator.lock_queues();
        if let Some(queue) = queues.get_mut(&self.key) {
            queue.waiting -= 1;
            if queue.waiting == 0 {
                queues.remove(&self.key);
            }
        }
    }
}

/// Checks credentials for the HTTP layer.
pub struct Authenticator {
    /// HMAC-SHA256 already keyed with the random cache key; each cache key
    /// starts from a clone, which saves hashing the key blocks per request.
    keyed_mac: Hmac<Sha256>,
    cache: Mutex<Cache>,
    /// The reader connection that reads the credentials generation, with a
    /// busy timeout of [`WATCH_BUSY_TIMEOUT`].
    watch: Mutex<Connection>,
    /// True while reads of the generation time out, so that only the first
    /// timeout of a run is logged.
    watch_busy: AtomicBool,
    readers: Arc<ReaderPool>,
    dummy_hash: String,
    /// Bounds the Argon2 verifications running at once, and so their memory.
    hashing: Semaphore,
    hashing_threads: HashingThreads,
    hashing_memory: HashingMemory,
    /// Argon2 verifications run since start-up, for the metrics.
    verifications: AtomicU64,
    /// Verifications waiting or running, by cache key.
    verification_queues: Mutex<HashMap<[u8; 32], VerificationQueue>>,
    throttle: Mutex<Throttle>,
    /// Wakes the verifications that wait for the throttle whenever one ends.
    verification_ended: tokio::sync::Notify,
}

impl Authenticator {
    /// Creates the authenticator. `watch_connection` is a reader used only for
    /// the generation check, opened with a busy timeout of
    /// [`WATCH_BUSY_TIMEOUT`]; `hashing_threads` bounds concurrent
    /// verifications.
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
        let keyed_mac = Hmac::<Sha256>::new_from_slice(&cache_key)
            .map_err(|error| format!("HMAC key: {error}"))?;
        let dummy = password::generate().map_err(|error| format!("random source: {error}"))?;
        let dummy_hash = password::hash(&dummy).map_err(|error| format!("hashing: {error}"))?;
        let generation = users::generation(&watch_connection).map_err(|error| error.to_string())?;
        let threads = HashingThreads::start(hashing_threads)
            .map_err(|error| format!("cannot start a password hashing thread: {error}"))?;
        Ok(Authenticator {
            keyed_mac,
            cache: Mutex::new(Cache {
                generation,
                users: HashMap::new(),
            }),
            watch: Mutex::new(watch_connection),
            watch_busy: AtomicBool::new(false),
            readers,
            dummy_hash,
            hashing: Semaphore::new(hashing_threads.max(1)),
            hashing_threads: threads,
            hashing_memory: HashingMemory::default(),
            verifications: AtomicU64::new(0),
            verification_queues: Mutex::new(HashMap::new()),
            throttle: Mutex::new(Throttle::default()),
            verification_ended: tokio::sync::Notify::new(),
        })
    }

    /// Authenticates a request from `client` with the given `Authorization`
    /// header value. The password hash is verified on a hashing thread, so
    /// the HTTP thread serves other requests meanwhile. With
    /// [`Freshness::AtCommit`] the caller must have the returned user checked
    /// against the users table in the database transaction that acts on the
    /// request, when the returned generation is not current there.
    ///
    /// # Errors
    ///
    /// Returns why the request is not authenticated.
    pub async fn authenticate(
        self: &Arc<Self>,
        header: AuthorizationHeader<'_>,
        client: IpAddr,
        freshness: Freshness,
    ) -> Result<Authenticated, AuthError> {
        let now = Instant::now();
        if let Some(wait) = self.lock_throttle().retry_after(client, now) {
            return Err(AuthError::Throttled(wait));
        }
        let parsed = match header {
            AuthorizationHeader::Missing => basic::parse(None),
            AuthorizationHeader::One(value) => basic::parse(Some(value)),
            AuthorizationHeader::Repeated => Err(BasicError::Repeated),
        };
        // A header without a user name and password guesses no password, so
        // it is not a failed login. Counting it would let one misconfigured
        // client lock out every client of its address.
        let credentials = parsed.map_err(AuthError::Unauthorized)?;
        if freshness == Freshness::Now {
            self.refresh_generation().map_err(AuthError::Storage)?;
        }
        let key = self.cache_key_of(&credentials);
        if let Some(authenticated) = self.cached(&key, now) {
            return Ok(authenticated);
        }

        // Requests with the same credentials take turns, and a request whose
        // turn comes after a successful verification finds the user cached.
        // After a restart every Worker of a shared account misses the cache at
        // once, and so one Argon2 verification serves them all.
        let queue = self.join_verification_queue(key);
        let _turn = queue.turn.lock().await;
        if let Some(authenticated) = self.cached(&key, Instant::now()) {
            return Ok(authenticated);
        }
        let user_name = credentials.user.clone();
        // Credentials with an empty part are verified and counted as a
        // failure like any other, so that they cost the same time and keep
        // the throttle's count.
        let empty = credentials.empty_parts();
        let padding = credentials.padding();
        let (generation, verification) = self.verify_on_hashing_thread(credentials, client).await?;
        let stored = match verification {
            Verification::Matched(stored) => stored,
            Verification::WrongPassword => {
                return Err(AuthError::BadCredentials {
                    existing_user: Some(user_name),
                    empty,
                    padding,
                })
            }
            Verification::UnknownUser => {
                return Err(AuthError::BadCredentials {
                    existing_user: None,
                    empty,
                    padding,
                })
            }
        };
        let password_hash = Arc::<str>::from(stored.password_hash.as_str());
        let user = User::from(stored);
        self.store(key, generation, &user, &password_hash);
        Ok(Authenticated {
            user,
            generation,
            password_hash,
        })
    }

    /// Verifies `credentials` on a hashing thread, once the throttle admits a
    /// verification for `client`, and records a failure with the throttle.
    async fn verify_on_hashing_thread(
        self: &Arc<Self>,
        credentials: Credentials,
        client: IpAddr,
    ) -> Result<(i64, Verification), AuthError> {
        let (_permit, _running) = loop {
            // Created before the check, so that a verification that ends
            // between the check and the wait still wakes this one.
            let ended = self.verification_ended.notified();
            let permit = self
                .hashing
                .acquire()
                .await
                .map_err(|_| AuthError::Internal("the password hashing queue is closed"))?;
            let admission = self
                .lock_throttle()
                .begin_verification(client, Instant::now());
            match admission {
                Admission::Start => break (permit, RunningVerification { by: self, client }),
                Admission::Throttled(wait) => return Err(AuthError::Throttled(wait)),
                Admission::Wait => {
                    drop(permit);
                    ended.await;
                }
            }
        };

        let this = Arc::clone(self);
        let (reply, verification) = tokio::sync::oneshot::channel();
        let queued = self.hashing_threads.run(move || {
            let verified = this.verify(credentials);
            // Released before the reply, so that no hashing thread keeps the
            // database connections open after the last response. A connection
            // still open when the process exits leaves the -wal and -shm
            // files behind.
            drop(this);
            // The receiver is gone only when the client hung up meanwhile.
            let _ = reply.send(verified);
        });
        let verification = if queued {
            verification.await.ok()
        } else {
            None
        };
        let Some(result) = verification else {
            return Err(AuthError::Internal("a password hashing thread stopped"));
        };
        let (generation, verification) = result.map_err(AuthError::Storage)?;
        if !matches!(verification, Verification::Matched(_)) {
            self.lock_throttle().record_failure(client, Instant::now());
        }
        Ok((generation, verification))
    }

    /// Reads the user and the generation in one snapshot, then verifies the
    /// password. An unknown user is checked against a dummy hash, so that it
    /// costs the same time as a wrong password.
    fn verify(&self, credentials: Credentials) -> Result<(i64, Verification), StorageError> {
        let (generation, stored) = self.readers.with(|connection| {
            let snapshot = connection.unchecked_transaction()?;
            let generation = users::generation(&snapshot)?;
            let stored = users::find(&snapshot, &credentials.user)?;
            Ok((generation, stored))
        })?;
        let hash = stored
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |user| user.password_hash.as_str());
        let matches = password::verify_with(&credentials.password, hash, &self.hashing_memory);
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let verification = match stored {
            Some(user) if matches => Verification::Matched(user),
            Some(_) => Verification::WrongPassword,
            None => Verification::UnknownUser,
        };
        Ok((generation, verification))
    }

    /// Returns the number of Argon2 verifications since start-up: first
    /// requests, wrong passwords and credentials that a change to their user
    /// dropped from the cache.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    fn join_verification_queue(&self, key: [u8; 32]) -> QueuePlace<'_> {
        let mut queues = self.lock_queues();
        let queue = queues.entry(key).or_insert_with(|| VerificationQueue {
            turn: Arc::new(tokio::sync::Mutex::new(())),
            waiting: 0,
        });
        queue.waiting += 1;
        QueuePlace {
            authenticator: self,
            key,
            turn: Arc::clone(&queue.turn),
        }
    }

    fn lock_queues(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], VerificationQueue>> {
        // The map holds plain data, so a poisoned lock is still usable.
        self.verification_queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cache_key_of(&self, credentials: &Credentials) -> [u8; 32] {
        let mut mac = self.keyed_mac.clone();
        // The name's length comes first, so that no other split of the same
        // bytes into a name and a password, such as "a\0" and "b" against
        // "a" and "\0b", gives the same key.
        mac.update(&(credentials.user.len() as u64).to_be_bytes());
        mac.update(credentials.user.as_bytes());
        mac.update(credentials.password.expose().as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn cached(&self, key: &[u8; 32], now: Instant) -> Option<Authenticated> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.users.get(key)?;
        (entry.expires > now).then(|| Authenticated {
            user: entry.user.clone(),
            generation: cache.generation,
            password_hash: Arc::clone(&entry.password_hash),
        })
    }

    /// Caches a credential of `user` verified against `password_hash`, as
    /// read under `generation`.
    fn store(&self, key: [u8; 32], generation: i64, user: &User, password_hash: &Arc<str>) {
        // Users may have changed since the verification read them; the cache
        // catches up first, and then decides against the newer snapshot.
        self.observe_generation(generation);
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        // A verification that read an older generation may describe a user
        // that has changed since, so it is not cached.
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
                password_hash: Arc::clone(password_hash),
                expires,
            },
        );
    }

    fn cache_generation(&self) -> Option<i64> {
        self.cache.lock().ok().map(|cache| cache.generation)
    }

    /// Brings the cache up to date when `generation`, read from the database
    /// by the storage thread, is newer than the one the cache was filled under.
    pub fn observe_generation(&self, generation: i64) {
        if self
            .cache_generation()
            .is_some_and(|cached| generation > cached)
        {
            self.catch_up(generation);
        }
    }

    /// Brings the cache up to date when the credentials generation has moved.
    ///
    /// The generation is read on every call. `PRAGMA data_version` cannot
    /// spare that read while the server stores entries, because it changes
    /// with every commit of the storage thread's connection too.
    ///
    /// When another process's lock makes the read time out, the cache keeps
    /// its view. The request then reads the database, or has its entry
    /// stored, after this check, and that waits on the same lock off the
    /// HTTP thread. A credential that is not cached is verified against a
    /// read of the users table, which fails with `503` meanwhile.
    fn refresh_generation(&self) -> Result<(), StorageError> {
        let read = users::generation(&self.lock_watch());
        let generation = match read {
            Ok(generation) => generation,
            Err(error @ StorageError::Busy(_)) => {
                if !self.watch_busy.swap(true, Ordering::Relaxed) {
                    log::warn!(
                        "reading the credentials generation timed out after {} ms, because \
                         another process holds a lock on the database ({error}); requests are \
                         checked against the cached credentials until a read works again",
                        WATCH_BUSY_TIMEOUT.as_millis()
                    );
                }
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        if self.watch_busy.swap(false, Ordering::Relaxed) {
            log::info!("reading the credentials generation works again");
        }
        // Any difference counts here, because this value is read now: a
        // smaller one means the database file was replaced.
        if self.cache_generation() != Some(generation) {
            self.catch_up(generation);
        }
        Ok(())
    }

    /// Checks the cache against the users table as it is now. When that read
    /// fails, the cache is emptied under `seen`, the newest generation known,
    /// so every credential is verified again.
    fn catch_up(&self, seen: i64) {
        let snapshot = self.read_users();
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        match snapshot {
            Ok((generation, current)) => cache.revalidate(generation, &current),
            Err(error) => {
                log::warn!("cannot read users to check cached credentials: {error}");
                cache.clear(seen);
            }
        }
    }

    /// Reads the generation and every user in one snapshot.
    fn read_users(&self) -> Result<(i64, HashMap<String, StoredUser>), StorageError> {
        let watch = self.lock_watch();
        let snapshot = watch.unchecked_transaction()?;
        let generation = users::generation(&snapshot)?;
        let current = users::all(&snapshot)?;
        Ok((generation, current))
    }

    fn lock_watch(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped any transaction open on the
        // connection, which rolled it back, so a poisoned lock is still usable.
        self.watch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        // The throttle holds plain data, so a poisoned lock is still usable.
        self.throttle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Hashes a password for storage.
///
/// # Errors
///
/// Fails when no random salt can be drawn.
pub fn hash_password(password: &Password) -> Result<String, String> {
    password::hash(password).map_err(|error| format!("hashing the password failed: {error}"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine as _;

    use super::*;
    use crate::storage;

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn authenticator_with_user(directory: &std::path::Path) -> Arc<Authenticator> {
        let path = directory.join("translog.db");
        let connection = storage::open(&path, TIMEOUT, storage::Schema::Current).unwrap();
        let hash = hash_password(&Password::new("secret".into())).unwrap();
        users::add(&connection, "worker", Role::Worker, None, &hash).unwrap();
        let watch = storage::open_reader(&path, TIMEOUT).unwrap();
        let readers = Arc::new(ReaderPool::new(&path, TIMEOUT));
        Arc::new(Authenticator::new(watch, readers, 2).unwrap())
    }

    fn credentials(user: &str, password: &str) -> Credentials {
        Credentials {
            user: user.into(),
            password: Password::new(password.into()),
        }
    }

    #[test]
    fn cache_key_separates_name_from_password() {
        let directory = tempfile::tempdir().unwrap();
        let auth = authenticator_with_user(directory.path());
        assert_ne!(
            auth.cache_key_of(&credentials("a\0", "b")),
            auth.cache_key_of(&credentials("a", "\0b"))
        );
    }

    fn basic_header(credentials: &str) -> String {
        let token = base64::engine::general_purpose::STANDARD.encode(credentials);
        format!("Basic {token}")
    }

    async fn authenticate_at_once(
        auth: &Arc<Authenticator>,
        credentials: &str,
        requests: usize,
    ) -> Vec<Result<Authenticated, AuthError>> {
        let header = basic_header(credentials);
        let client = IpAddr::from([127, 0, 0, 1]);
        let tasks: Vec<_> = (0..requests)
            .map(|_| {
                let auth = Arc::clone(auth);
                let header = header.clone();
                tokio::spawn(async move {
                    auth.authenticate(
                        AuthorizationHeader::One(header.as_bytes()),
                        client,
                        Freshness::Now,
                    )
                    .await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    }

    #[tokio::test]
    async fn concurrent_first_logins_share_verification() {
        let directory = tempfile::tempdir().unwrap();
        let auth = authenticator_with_user(directory.path());
        let results = authenticate_at_once(&auth, "worker:secret", 8).await;
        for result in &results {
            assert_eq!(
                result
                    .as_ref()
                    .map(|authenticated| authenticated.user.name.as_str())
                    .ok(),
                Some("worker")
            );
        }
        // Two verifications at once would have needed two buffers.
        assert_eq!(auth.hashing_memory.idle_buffers(), 1);
        assert!(auth.lock_queues().is_empty());
    }

    #[test]
    fn poisoned_watch_lock_still_reads() {
        let directory = tempfile::tempdir().unwrap();
        let auth = authenticator_with_user(directory.path());
        let holder = Arc::clone(&auth);
        let panicked = std::thread::spawn(move || {
            let _watch = holder.lock_watch();
            panic!("a panic while the watch lock is held");
        })
        .join();
        assert!(panicked.is_err());
        assert!(auth.refresh_generation().is_ok());
    }

    #[tokio::test]
    async fn concurrent_wrong_passwords_all_fail() {
        let directory = tempfile::tempdir().unwrap();
        let auth = authenticator_with_user(directory.path());
        let results = authenticate_at_once(&auth, "worker:wrong", 3).await;
        for result in &results {
            assert!(
                matches!(result, Err(AuthError::BadCredentials { existing_user: Some(name), .. }) if name == "worker")
            );
        }
        assert!(auth.lock_queues().is_empty());
    }
}
