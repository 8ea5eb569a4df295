//! WinZip AES-256 encryption of archive entries (AE-2, as 7-Zip and WinZip write it). The
//! password a job is given is the model's (`crate::engine::model::password`).
//!
//! Per entry: a random 16-byte salt; PBKDF2-HMAC-SHA1 (1000 iterations) turns the password and
//! salt into a 32-byte AES key, a 32-byte HMAC key and a 2-byte password verifier; the data
//! (compressed or stored) is encrypted with AES-256 in CTR mode, counter little-endian from 1
//! over the whole 16-byte block; HMAC-SHA1 of the encrypted data, cut to 10 bytes, follows it.
//! The entry's data is `salt, verifier, encrypted data, tag`. AE-2 stores no CRC-32 (the tag
//! authenticates the data). The primitives are RustCrypto's; nothing here is a cipher of its own.
//!
//! Owns: [`EntryCipher`] and [`SecretBytes`] (a password's bytes held by a writer).
//! Must not touch: the archive's layout (the writer's), files, threads.

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use zeroize::Zeroize;

/// PBKDF2 iterations of WinZip AES (fixed by the format).
const KEY_ITERATIONS: u32 = 1000;
/// Salt bytes for AES-256.
pub const SALT_BYTES: usize = 16;
/// Password verifier bytes.
pub const VERIFIER_BYTES: usize = 2;
/// Authentication tag bytes (HMAC-SHA1 cut to 80 bits).
pub const TAG_BYTES: usize = 10;
/// What encryption adds to an entry's data.
pub const OVERHEAD_BYTES: u64 = (SALT_BYTES + VERIFIER_BYTES + TAG_BYTES) as u64;
/// AES key bytes (AES-256).
const KEY_BYTES: usize = 32;
/// The AES extra field's strength code for AES-256.
pub const STRENGTH_AES256: u8 = 3;
/// The AES extra field's vendor version: AE-2 (no CRC-32).
pub const VENDOR_VERSION_AE2: u16 = 2;

/// A password's bytes, held by a writer: never shown (`Debug` prints no byte of it), wiped when
/// dropped.
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// A copy of `bytes` (the caller's copy is its own to wipe).
    pub fn new(bytes: &[u8]) -> SecretBytes {
        SecretBytes(bytes.to_vec())
    }

    /// The password's bytes, for deriving an entry's keys.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes(..)")
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        // `zeroize`'s writes are volatile: unlike a plain fill, the compiler cannot drop them as
        // dead stores before the memory is freed.
        self.0.zeroize();
    }
}

/// Why an entry cannot be encrypted.
#[derive(Debug, thiserror::Error)]
pub enum AesError {
    /// The system's random source (`getrandom`) failed, so no salt could be made: its reason.
    #[error("no random numbers for the salt: {0}")]
    Random(String),
}

type Cipher = ctr::Ctr128LE<Aes256>;

/// The keys of one entry: derived from the password and a fresh salt, used for its data only.
/// `Debug` shows none of them.
pub struct EntryCipher {
    cipher: Cipher,
    mac: Hmac<Sha1>,
    /// Salt then verifier: what goes before the encrypted data.
    header: [u8; SALT_BYTES + VERIFIER_BYTES],
}

impl std::fmt::Debug for EntryCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntryCipher(..)")
    }
}

impl EntryCipher {
    /// Keys for a new entry: a random salt, then PBKDF2 (about a millisecond).
    pub fn new(password: &[u8]) -> Result<EntryCipher, AesError> {
        let mut salt = [0u8; SALT_BYTES];
        getrandom::fill(&mut salt).map_err(|e| AesError::Random(e.to_string()))?;
        Ok(EntryCipher::with_salt(password, salt))
    }

    /// Keys from a given salt (tests compare with known vectors).
    pub fn with_salt(password: &[u8], salt: [u8; SALT_BYTES]) -> EntryCipher {
        let mut derived = [0u8; 2 * KEY_BYTES + VERIFIER_BYTES];
        pbkdf2::pbkdf2_hmac::<Sha1>(password, &salt, KEY_ITERATIONS, &mut derived);
        let (aes_key, rest) = derived.split_at(KEY_BYTES);
        let (mac_key, verifier) = rest.split_at(KEY_BYTES);
        let mut counter = [0u8; 16];
        counter[0] = 1;
        let cipher = Cipher::new_from_slices(aes_key, &counter)
            .expect("AES-256 takes a 32-byte key and a 16-byte counter block");
        let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(mac_key)
            .expect("HMAC takes a key of any length");
        let mut header = [0u8; SALT_BYTES + VERIFIER_BYTES];
        header[..SALT_BYTES].copy_from_slice(&salt);
        header[SALT_BYTES..].copy_from_slice(verifier);
        derived.fill(0);
        EntryCipher {
            cipher,
            mac,
            header,
        }
    }

    /// The salt and password verifier, written before the encrypted data.
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// Encrypts the next piece of the entry's data in place and adds it to the tag.
    pub fn encrypt(&mut self, data: &mut [u8]) {
        self.cipher.apply_keystream(data);
        self.mac.update(data);
    }

    /// The authentication tag, written after the encrypted data.
    pub fn tag(self) -> [u8; TAG_BYTES] {
        let full = self.mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_entry_gets_its_own_salt_and_keystream() {
        let mut a = EntryCipher::new(b"pw").unwrap();
        let mut b = EntryCipher::new(b"pw").unwrap();
        assert_ne!(a.header()[..SALT_BYTES], b.header()[..SALT_BYTES]);
        let mut da = [0u8; 64];
        let mut db = [0u8; 64];
        a.encrypt(&mut da);
        b.encrypt(&mut db);
        assert_ne!(da, db);
        assert_ne!(da, [0u8; 64], "the data is encrypted");
    }

    #[test]
    fn encrypting_in_pieces_equals_encrypting_at_once() {
        let salt = [7u8; SALT_BYTES];
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut whole = data.clone();
        let mut one = EntryCipher::with_salt(b"secret", salt);
        one.encrypt(&mut whole);
        let mut pieces = data.clone();
        let mut two = EntryCipher::with_salt(b"secret", salt);
        for chunk in pieces.chunks_mut(7) {
            two.encrypt(chunk);
        }
        assert_eq!(whole, pieces);
        assert_eq!(one.tag(), two.tag());
    }
}
