//! API keys: generation, Argon2id hashing, and verification with a cache.
//!
//! A key reads `dg_<key id>_<secret>`: the 16-hex-digit key id is public
//! and finds the one stored hash to check, so a request costs at most one
//! Argon2 verification. Verified keys are cached in memory, keyed by the
//! SHA-256 of the whole key (never the key itself), so steady traffic costs
//! no Argon2 at all; a cached entry re-reads the key row every
//! [`Authenticator::recheck`] so a revoked key stops working within seconds.
//! Argon2 work is bounded by a semaphore so a flood of wrong keys queues
//! behind itself instead of starving the machine.
//!
//! Key rows themselves are kept in memory while the store's version is
//! unchanged (no commit since they were read, by us or by the CLI), so a
//! re-check of a busy key, or a wrong key for a real key id, costs no
//! database read either.
//!
//! Each key row also stores a tag: 16 bits of the key's SHA-256. A
//! presented key whose tag differs is refused before Argon2, so a flood of
//! random wrong keys (even for real key ids) costs a row read each, not a
//! 19 MiB hash; only one in 65,536 reaches Argon2. The tag gives nothing
//! away: the secret is 256 random bits, so knowing 16 bits of its hash does
//! not make guessing it any easier, and Argon2 stays the only check that
//! accepts a key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::domain::{KeyId, Principal, SignatureKey};
use crate::engine::{Engine, KeyRecord};
use crate::error::{Error, StoreError};

/// Cached verifications beyond this are dropped wholesale; an attacker
/// cannot grow the cache (only verified keys enter it), this bounds it
/// against an operator minting keys in bulk.
const CACHE_LIMIT: usize = 100_000;

/// A freshly generated key: shown once, then only its hash is kept.
pub struct NewKey {
    pub key_id: KeyId,
    pub api_key: String,
    pub hash: String,
    /// [`tag_of`] the key, stored beside the hash.
    pub tag: u16,
}

/// The tag of a key given the SHA-256 of the whole key.
pub fn tag_of(digest: &[u8; 32]) -> u16 {
    u16::from_be_bytes([digest[0], digest[1]])
}

/// OWASP's Argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Makes a new random key and its Argon2id hash.
pub fn generate_key() -> NewKey {
    let mut rng = rand::rng();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    rng.fill_bytes(&mut salt);
    let key_id = KeyId::parse(&hex::encode(id)).expect("16 hex digits");
    let api_key = format!("dg_{key_id}_{}", hex::encode(secret));
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt encodes");
    let hash = hasher()
        .hash_password(api_key.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters")
        .to_string();
    let tag = tag_of(&Sha256::digest(api_key.as_bytes()).into());
    NewKey {
        key_id,
        api_key,
        hash,
        tag,
    }
}

/// Splits a presented key into its key id, or `None` if it is not of our
/// form (which is answered exactly like a wrong key).
fn key_id_of(key: &str) -> Option<KeyId> {
    let rest = key.strip_prefix("dg_")?;
    let (id, secret) = rest.split_once('_')?;
    if secret.len() != 64
        || !secret
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    KeyId::parse(id).ok()
}

fn verify(hash: &str, key: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| hasher().verify_password(key.as_bytes(), &parsed).is_ok())
}

/// A key as a request presented it, with its SHA-256 (the cache key),
/// computed once per request.
#[derive(Clone, Copy)]
pub struct Presented<'k> {
    key: &'k str,
    digest: [u8; 32],
}

impl<'k> Presented<'k> {
    pub fn new(key: &'k str) -> Self {
        Presented {
            key,
            digest: Sha256::digest(key.as_bytes()).into(),
        }
    }
}

struct Cached {
    principal: Principal,
    checked: Instant,
}

/// Verifies keys for the server.
pub struct Authenticator {
    engine: Arc<dyn Engine>,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    hashing: Arc<Semaphore>,
    recheck: Duration,
    /// Argon2 verifications run so far.
    verifications: std::sync::atomic::AtomicU64,
    /// Key rows (or their absence) by key id, with the store version they
    /// were read at. Wrong key ids can fill it, so it has the same bound.
    records: Mutex<HashMap<KeyId, (u64, Option<KeyRecord>)>>,
}

impl Authenticator {
    /// `parallel_hashes` bounds concurrent Argon2 verifications;
    /// `recheck` is how stale a cached verification may be before the key
    /// row is read again (the revocation delay).
    pub fn new(engine: Arc<dyn Engine>, parallel_hashes: usize, recheck: Duration) -> Self {
        Authenticator {
            engine,
            cache: Mutex::new(HashMap::new()),
            hashing: Arc::new(Semaphore::new(parallel_hashes.max(1))),
            recheck,
            verifications: Default::default(),
            records: Mutex::new(HashMap::new()),
        }
    }

    /// The principal behind `key`, or `AUTH_FAILED` for any key that is
    /// missing, malformed, unknown, wrong or revoked.
    pub async fn authenticate(&self, key: &Presented<'_>) -> Result<Principal, Error> {
        let Presented { key, digest } = *key;
        let key_id = key_id_of(key).ok_or(Error::AuthFailed)?;
        if let Some(p) = self.fresh(&digest) {
            return Ok(p);
        }
        let record = self.record(&key_id).await?;
        let Some(record) = record.filter(|r| !r.revoked) else {
            self.forget(&digest);
            return Err(Error::AuthFailed);
        };
        if record.tag.is_some_and(|t| t != tag_of(&digest)) {
            return Err(Error::AuthFailed);
        }
        let known = self
            .lock()
            .get(&digest)
            .is_some_and(|c| c.principal == record.principal);
        if !known {
            // Only a key never verified (or whose row changed) pays for
            // Argon2, and only `parallel_hashes` of them at a time.
            let _permit = self
                .hashing
                .acquire()
                .await
                .map_err(|_| StoreError::Closed)?;
            // Concurrent first requests with the same key queue here; the
            // first verifies it and the rest find it in the cache.
            if let Some(p) = self.fresh(&digest) {
                return Ok(p);
            }
            self.verifications
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let hash = record.hash.clone();
            let presented = key.to_owned();
            if !crate::blocking::run(move || verify(&hash, &presented)).await {
                return Err(Error::AuthFailed);
            }
        }
        let mut cache = self.lock();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(
            digest,
            Cached {
                principal: record.principal.clone(),
                checked: Instant::now(),
            },
        );
        Ok(record.principal)
    }

    /// The row of `key_id`, from memory if nothing was committed since it
    /// was read.
    async fn record(&self, key_id: &KeyId) -> Result<Option<KeyRecord>, Error> {
        // Read before the query: a commit while it runs makes the entry
        // stale at once rather than wrongly current.
        let version = self.engine.version();
        {
            let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((v, record)) = records.get(key_id) {
                if *v == version {
                    return Ok(record.clone());
                }
            }
        }
        let id = key_id.clone();
        let record = self
            .engine
            .read_with(move |r| Ok(r.key_record(&id)?))
            .await?;
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if records.len() >= CACHE_LIMIT {
            records.clear();
        }
        records.insert(key_id.clone(), (version, record.clone()));
        Ok(record)
    }

    /// Whether `key` was verified before and is still cached: a map
    /// lookup, with no database or Argon2 work.
    pub fn is_verified(&self, key: &Presented<'_>) -> bool {
        self.lock().contains_key(&key.digest)
    }

    /// Argon2 verifications run so far (tests show the tag check and the
    /// cache spare them).
    pub fn verifications(&self) -> u64 {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn fresh(&self, digest: &[u8; 32]) -> Option<Principal> {
        let cache = self.lock();
        let c = cache.get(digest)?;
        (c.checked.elapsed() < self.recheck).then(|| c.principal.clone())
    }

    fn forget(&self, digest: &[u8; 32]) {
        self.lock().remove(digest);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Checks Anveo's `SIGNATURE`: hex HMAC-SHA1 over the account's e-mail,
/// keyed with its secret, compared in constant time.
pub fn signature_ok(key: &SignatureKey, presented: Option<&str>) -> bool {
    use hmac::{Hmac, Mac};
    let Some(bytes) = presented.and_then(|p| hex::decode(p.to_ascii_lowercase()).ok()) else {
        return false;
    };
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.secret.as_bytes())
        .expect("hmac takes any key length");
    mac.update(key.email.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha1_of_the_email() {
        use hmac::{Hmac, Mac};
        let key = SignatureKey {
            email: "ops@example.com".into(),
            secret: "s3cret".into(),
        };
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"ops@example.com");
        let good = hex::encode(mac.finalize().into_bytes());
        assert!(signature_ok(&key, Some(&good)));
        assert!(signature_ok(&key, Some(&good.to_uppercase())));
        assert!(!signature_ok(&key, Some(&good[..38])));
        assert!(!signature_ok(&key, Some("zz")));
        assert!(!signature_ok(&key, None));
        assert!(!format!("{key:?}").contains("s3cret"));
    }

    #[test]
    fn generated_keys_verify_and_wrong_ones_do_not() {
        let k = generate_key();
        assert_eq!(key_id_of(&k.api_key), Some(k.key_id.clone()));
        assert!(k.hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!k.hash.contains(&k.api_key));
        assert!(verify(&k.hash, &k.api_key));
        assert_eq!(k.tag, tag_of(&Sha256::digest(k.api_key.as_bytes()).into()));
        let mut wrong = k.api_key.clone();
        wrong.pop();
        wrong.push(if k.api_key.ends_with('0') { '1' } else { '0' });
        assert!(!verify(&k.hash, &wrong));
    }

    #[test]
    fn malformed_keys_have_no_id() {
        for bad in [
            "",
            "dg_",
            "dg_0123456789abcdef",
            "xx_0123456789abcdef_00",
            "dg_0123456789abcdef_zz",
        ] {
            assert!(key_id_of(bad).is_none(), "{bad}");
        }
    }
}
