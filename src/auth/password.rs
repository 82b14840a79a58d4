//! Passwords: a type that cannot be printed, Argon2id hashing in PHC string
//! format, and generation of strong random passwords.

use std::sync::Mutex;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// A password in clear text. It has no `Debug` or `Display`, so it cannot end
/// up in a log line or an error message by accident.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(text: String) -> Password {
        Password(text)
    }

    /// Returns the clear text, for hashing and verification only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The characters of generated passwords: letters and digits only, so that a
/// password needs no quoting in a shell or in `user:password` for curl.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of generated passwords: 24 characters of 62 give about 143 bits.
const GENERATED_LEN: usize = 24;

/// Generates a random password from the operating system's random source.
///
/// # Errors
///
/// Fails when the operating system has no random source.
pub fn generate() -> Result<Password, getrandom::Error> {
    let mut text = String::with_capacity(GENERATED_LEN);
    while text.len() < GENERATED_LEN {
        let mut byte = [0u8; 1];
        getrandom::getrandom(&mut byte)?;
        // Rejecting bytes at or above 248 (4 * 62) keeps the choice uniform.
        if usize::from(byte[0]) < ALPHABET.len() * 4 {
            text.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    Ok(Password(text))
}

/// Hashes a password with Argon2id and a random salt, with the crate's default
/// cost (19 MiB of memory, 2 passes).
///
/// # Errors
///
/// Fails when no random salt can be drawn.
pub fn hash(password: &Password) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default().hash_password(password.expose().as_bytes(), &salt)?;
    Ok(hash.to_string())
}

/// Argon2 working memory kept for reuse by later verifications: 19 MiB each
/// with the default cost.
///
/// Allocating that memory anew for each verification made glibc's heap grow
/// by most of it almost every time, because the freed block was seldom reused
/// whole. 64 concurrent logins raised the server's RSS to about 900 MiB. A
/// pool keeps the memory at one buffer per concurrent verification.
#[derive(Default)]
pub struct HashingMemory {
    /// Buffers of any size; the server's verifications all use the default
    /// cost, so in practice they are all of one size.
    idle: Mutex<Vec<Vec<Block>>>,
}

impl HashingMemory {
    /// Takes an idle buffer of `block_count` blocks, or allocates one.
    fn take(&self, block_count: usize) -> Vec<Block> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match idle.iter().position(|buffer| buffer.len() == block_count) {
            Some(index) => idle.swap_remove(index),
            None => vec![Block::default(); block_count],
        }
    }

    /// Keeps `buffer` for reuse, unless [`MAX_IDLE_BUFFERS`] are kept already.
    fn put_back(&self, buffer: Vec<Block>) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE_BUFFERS {
            idle.push(buffer);
        }
    }

    /// Returns the number of buffers kept for reuse.
    pub fn idle_buffers(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }
}

/// The maximum number of buffers a [`HashingMemory`] keeps. The server runs
/// fewer verifications at once than this.
const MAX_IDLE_BUFFERS: usize = 4;

/// The maximum memory, in KiB, that a stored hash may request for a verification.
/// The hashes translog writes ask for 19 MiB. A hash from an edited file
/// could ask for gigabytes, and the allocation would end the process.
const MAX_MEMORY_KIB: u32 = 256 * 1024;

/// The maximum number of passes over memory that a stored hash may request. The hashes
/// translog writes make 2, and many more would hold a hashing thread for
/// seconds per login.
const MAX_PASSES: u32 = 16;

/// Checks a password against a stored PHC string. A malformed stored hash
/// never matches.
pub fn verify(password: &Password, stored_hash: &str) -> bool {
    verify_with(password, stored_hash, &HashingMemory::default())
}

/// Checks a password against a stored PHC string with the algorithm, version
/// and cost that the string names, like argon2's `PasswordVerifier`, but with
/// working memory from `memory`. A malformed stored hash never matches.
pub fn verify_with(password: &Password, stored_hash: &str, memory: &HashingMemory) -> bool {
    let Ok(parsed) = PasswordHash::new(stored_hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB || params.t_cost() > MAX_PASSES {
        log::warn!(
            "a stored password hash asks for {} KiB and {} passes, above the limits of {} KiB \
             and {} passes, so it never matches; set a new password with `translog user passwd`",
            params.m_cost(),
            params.t_cost(),
            MAX_MEMORY_KIB,
            MAX_PASSES
        );
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };

    let mut blocks = memory.take(params.block_count());
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(password.expose().as_bytes(), salt, out, &mut blocks)
            .map_err(Into::into)
    });
    memory.put_back(blocks);
    // Output compares in constant time.
    computed.is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_same_password() {
        let password = Password::new("correct horse".into());
        let stored = hash(&password).expect("hash");
        assert!(verify(&password, &stored));
    }

    #[test]
    fn verify_with_reuses_memory() {
        let password = Password::new("correct horse".into());
        let stored = hash(&password).expect("hash");
        let memory = HashingMemory::default();
        assert!(verify_with(&password, &stored, &memory));
        let wrong = Password::new("wrong".into());
        assert!(!verify_with(&wrong, &stored, &memory));
        assert!(verify_with(&password, &stored, &memory));
        assert_eq!(memory.idle_buffers(), 1);
    }

    #[test]
    fn verify_uses_cost_of_stored_hash() {
        // A cost other than the default, as another tool may have stored it.
        let params = Params::new(4096, 3, 1, None).expect("params");
        let salt = SaltString::from_b64("c29tZXNhbHQ").expect("salt");
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"password", &salt)
            .expect("hash")
            .to_string();
        assert!(verify(&Password::new("password".into()), &stored));
        assert!(!verify(&Password::new("Password".into()), &stored));
    }

    #[test]
    fn verify_rejects_huge_memory_cost() {
        let password = Password::new("correct horse".into());
        let stored = hash(&password).expect("hash");
        let huge = stored.replacen("m=19456", "m=4194304", 1);
        assert_ne!(huge, stored, "the default cost changed");
        assert!(!verify(&password, &huge));
    }

    #[test]
    fn verify_rejects_many_passes() {
        let password = Password::new("correct horse".into());
        let stored = hash(&password).expect("hash");
        let slow = stored.replacen("t=2", "t=1000", 1);
        assert_ne!(slow, stored, "the default cost changed");
        assert!(!verify(&password, &slow));
    }

    #[test]
    fn verify_accepts_argon2i_hash() {
        let params = Params::new(1024, 2, 1, None).expect("params");
        let salt = SaltString::from_b64("c29tZXNhbHQ").expect("salt");
        let stored = Argon2::new(Algorithm::Argon2i, Version::V0x10, params)
            .hash_password(b"secret", &salt)
            .expect("hash")
            .to_string();
        assert!(verify(&Password::new("secret".into()), &stored));
    }

    #[test]
    fn hash_rejects_other_password() {
        let stored = hash(&Password::new("one".into())).expect("hash");
        assert!(!verify(&Password::new("two".into()), &stored));
    }

    #[test]
    fn hash_is_argon2id_phc_string() {
        let stored = hash(&Password::new("x".into())).expect("hash");
        assert!(stored.starts_with("$argon2id$"), "{stored}");
    }

    #[test]
    fn malformed_hash_never_matches() {
        assert!(!verify(&Password::new("x".into()), "not a hash"));
    }

    #[test]
    fn generated_password_has_fixed_length() {
        let password = generate().expect("random source");
        assert_eq!(password.expose().len(), GENERATED_LEN);
    }

    #[test]
    fn generated_password_is_alphanumeric() {
        let password = generate().expect("random source");
        assert!(password
            .expose()
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric()));
    }
}
