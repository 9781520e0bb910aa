//! Secrets at rest: partner keys are hashed, Ashby API keys are sealed with an AEAD.

use crate::domain::ids::TenantId;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Prefix of every partner key, so a leaked one is recognisable (secret scanners).
const PARTNER_KEY_PREFIX: &str = "apk_";
/// Version tag of the sealed-value format, so the scheme can change without ambiguity.
const SEALED_V1: &str = "v1.";

/// A freshly issued partner key: the plaintext (shown once) and what is stored.
pub struct IssuedPartnerKey {
    pub plaintext: SecretString,
    pub hash: String,
    pub display_prefix: String,
}

/// Issues a partner key with 256 bits of entropy.
pub fn issue_partner_key() -> IssuedPartnerKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plaintext = format!("{PARTNER_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_partner_key(&plaintext);
    let display_prefix = plaintext
        .chars()
        .take(PARTNER_KEY_PREFIX.len() + 6)
        .collect();
    IssuedPartnerKey {
        plaintext: plaintext.into(),
        hash,
        display_prefix,
    }
}

/// The stored form of a partner key: hex SHA-256.
///
/// Keys are looked up by this hash through a unique index. That lookup is not
/// constant-time, but what it could leak is bits of the hash of a 256-bit random
/// key, which says nothing usable about any key; no plaintext is ever compared.
pub fn hash_partner_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Encrypts small secrets (Ashby API keys) for storage, bound to their owner's id.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("security.encryption_key must be the base64 of exactly 32 bytes")]
    BadKey,
    #[error(
        "a stored secret could not be decrypted: wrong security.encryption_key, or the data was altered"
    )]
    Undecryptable,
}

impl Sealer {
    /// # Errors
    /// [`SealError::BadKey`] unless `key_base64` decodes to exactly 32 bytes.
    pub fn from_base64(key_base64: &SecretString) -> Result<Self, SealError> {
        let key = STANDARD
            .decode(key_base64.expose_secret().trim())
            .map_err(|_| SealError::BadKey)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(|_| SealError::BadKey)?;
        Ok(Self { cipher })
    }

    /// Seals a tenant's Ashby API key — the one convention for it: the tenant's id is
    /// the context, so a sealed key copied onto another tenant's row does not open.
    ///
    /// # Errors
    /// See [`Sealer::seal`].
    pub fn seal_ashby_key(&self, key: &str, tenant: TenantId) -> Result<String, SealError> {
        self.seal(key, &tenant.to_string())
    }

    /// Opens what [`Sealer::seal_ashby_key`] sealed for `tenant`.
    ///
    /// # Errors
    /// See [`Sealer::open`].
    pub fn open_ashby_key(
        &self,
        sealed: &str,
        tenant: TenantId,
    ) -> Result<SecretString, SealError> {
        self.open(sealed, &tenant.to_string())
    }

    /// Seals a tenant's Ashby webhook secret. The context names the purpose as well as
    /// the tenant, so a sealed webhook secret and a sealed Ashby API key can never be
    /// swapped: each opens only as what it was sealed as.
    ///
    /// # Errors
    /// See [`Sealer::seal`].
    pub fn seal_webhook_secret(&self, secret: &str, tenant: TenantId) -> Result<String, SealError> {
        self.seal(secret, &webhook_secret_context(tenant))
    }

    /// Opens what [`Sealer::seal_webhook_secret`] sealed for `tenant`.
    ///
    /// # Errors
    /// See [`Sealer::open`].
    pub fn open_webhook_secret(
        &self,
        sealed: &str,
        tenant: TenantId,
    ) -> Result<SecretString, SealError> {
        self.open(sealed, &webhook_secret_context(tenant))
    }

    /// Seals `secret`; `context` (e.g. the tenant id) must be given again to open it,
    /// so a sealed value copied onto another row does not decrypt.
    ///
    /// # Errors
    /// Never in practice; the AEAD only fails on inputs beyond its size limits.
    pub fn seal(&self, secret: &str, context: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: context.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| SealError::Undecryptable)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{SEALED_V1}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// # Errors
    /// [`SealError::Undecryptable`] for a wrong key, a wrong context or altered data.
    pub fn open(&self, sealed: &str, context: &str) -> Result<SecretString, SealError> {
        let encoded = sealed
            .strip_prefix(SEALED_V1)
            .ok_or(SealError::Undecryptable)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| SealError::Undecryptable)?;
        if bytes.len() < 24 {
            return Err(SealError::Undecryptable);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let plaintext = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| SealError::Undecryptable)?;
        String::from_utf8(plaintext)
            .map(SecretString::from)
            .map_err(|_| SealError::Undecryptable)
    }
}

/// The sealing context of a webhook secret; an Ashby key's is the bare tenant id.
fn webhook_secret_context(tenant: TenantId) -> String {
    format!("ashby-webhook-secret:{tenant}")
}

/// A new webhook secret: 32 random bytes, hex (Ashby's own examples are hex tokens).
pub fn new_webhook_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()
        .into()
}

/// Random bytes, base64: the form of a generated `security.*` secret.
pub fn random_secret_base64() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::from_base64(&random_secret_base64().into()).unwrap()
    }

    #[test]
    fn issued_partner_keys_are_long_random_and_stored_only_as_their_hash() {
        let first = issue_partner_key();
        let second = issue_partner_key();
        let plaintext = first.plaintext.expose_secret();
        assert!(plaintext.starts_with("apk_"));
        assert!(plaintext.len() >= 4 + 43, "32 bytes of entropy, base64url");
        assert_ne!(plaintext, second.plaintext.expose_secret());
        assert_eq!(first.hash, hash_partner_key(plaintext));
        assert_eq!(first.hash.len(), 64);
        assert!(!first.hash.contains(plaintext));
        assert!(plaintext.starts_with(&first.display_prefix));
    }

    #[test]
    fn a_sealed_secret_opens_with_the_same_key_and_context_only() {
        let sealer = sealer();
        let sealed = sealer.seal("ashby-api-key", "tenant-1").unwrap();
        assert!(!sealed.contains("ashby-api-key"));
        assert_eq!(
            sealer.open(&sealed, "tenant-1").unwrap().expose_secret(),
            "ashby-api-key"
        );
        assert!(sealer.open(&sealed, "tenant-2").is_err());
        assert!(self::sealer().open(&sealed, "tenant-1").is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let sealer = sealer();
        assert_ne!(
            sealer.seal("k", "t").unwrap(),
            sealer.seal("k", "t").unwrap()
        );
    }

    #[test]
    fn altered_or_malformed_sealed_values_are_rejected() {
        let sealer = sealer();
        let sealed = sealer.seal("secret", "t").unwrap();
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        for bad in [altered.as_str(), "v1.", "v1.AAAA", "nonsense", ""] {
            assert!(sealer.open(bad, "t").is_err(), "{bad:?} must not open");
        }
    }

    #[test]
    fn webhook_secrets_and_ashby_keys_cannot_be_swapped() {
        let sealer = sealer();
        let tenant = TenantId::new_random();
        let secret = new_webhook_secret();
        assert_eq!(secret.expose_secret().len(), 64);
        let sealed = sealer
            .seal_webhook_secret(secret.expose_secret(), tenant)
            .unwrap();
        assert_eq!(
            sealer
                .open_webhook_secret(&sealed, tenant)
                .unwrap()
                .expose_secret(),
            secret.expose_secret()
        );
        assert!(sealer.open_ashby_key(&sealed, tenant).is_err());
        let key = sealer.seal_ashby_key("ashby-key", tenant).unwrap();
        assert!(sealer.open_webhook_secret(&key, tenant).is_err());
        assert!(
            sealer
                .open_webhook_secret(&sealed, TenantId::new_random())
                .is_err()
        );
    }

    #[test]
    fn encryption_keys_must_be_32_bytes_of_base64() {
        for bad in ["", "not base64!", "AAAA"] {
            assert!(Sealer::from_base64(&bad.to_string().into()).is_err());
        }
    }
}
