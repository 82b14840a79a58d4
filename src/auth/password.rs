//! Passwords: a type that cannot be printed, Argon2id hashing in PHC string
//! format, and generation of strong random passwords.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

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

/// Checks a password against a stored PHC string. A malformed stored hash
/// never matches.
pub fn verify(password: &Password, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
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
