//! Password-based encryption shared by the wallet file ([`crate::keyfile`]) and the node
//! keystore ([`crate::keystore`]): the KDF settings ([`KdfParams`], the KDF names, the minimum
//! and maximum costs, the salt and nonce lengths), the password KDFs (PBKDF2-HMAC-SHA256,
//! Argon2id), AES-256-GCM, the length-prefixed encoding of associated data, and the JSON shape of
//! the `kdf` object.
//!
//! Both formats call this code so the two cannot drift apart; their own error types are built
//! from [`KdfError`] and [`KdfJsonError`]. This module is the bottom layer: it imports nothing
//! from either format. The public items defined here are re-exported by [`crate::keyfile`] and
//! are part of the crate's API under that path (`ferrochain_wallet::keyfile::KdfParams`,
//! `ferrochain_wallet::keyfile::SALT_LEN`, …).

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Key, KeyInit, Payload};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Name of the PBKDF2-HMAC-SHA256 KDF in the `kdf.name` field.
pub const PBKDF2_NAME: &str = "pbkdf2-sha256";

/// Name of the Argon2id KDF (version 0x13) in the `kdf.name` field.
pub const ARGON2ID_NAME: &str = "argon2id";

/// Minimum PBKDF2-HMAC-SHA256 iteration count accepted when opening a file (OWASP 2023).
pub const PBKDF2_MIN_ITERATIONS: u32 = 600_000;

/// Maximum PBKDF2 iteration count accepted (about a minute of work), so a hostile file cannot
/// make opening it hang for hours.
pub const PBKDF2_MAX_ITERATIONS: u32 = 100_000_000;

/// Minimum Argon2id memory accepted when opening a file, in KiB (7 MiB, OWASP's lowest).
pub const ARGON2_MIN_M_COST_KIB: u32 = 7 * 1024;

/// Minimum Argon2id memory × passes accepted when opening a file, in KiB-passes: the cheapest of
/// OWASP's five equivalent settings (7 MiB × 5 passes = 35,840). Every OWASP setting (46 MiB × 1,
/// 19 MiB × 2, 12 MiB × 3, 9 MiB × 4, 7 MiB × 5) passes.
pub const ARGON2_MIN_KIB_PASSES: u64 = 35_840;

/// Maximum Argon2id memory accepted, in KiB (2 GiB), so a hostile file cannot exhaust memory.
pub const ARGON2_MAX_M_COST_KIB: u32 = 2 * 1024 * 1024;

/// Maximum Argon2id passes accepted.
pub const ARGON2_MAX_T_COST: u32 = 64;

/// Maximum Argon2id lanes accepted.
pub const ARGON2_MAX_P_COST: u32 = 16;

/// Length of the random KDF salt, in bytes.
pub const SALT_LEN: usize = 16;

/// Length of the random AES-GCM nonce, in bytes.
pub const NONCE_LEN: usize = 12;

/// AES-GCM tag length, in bytes.
pub(crate) const TAG_LEN: usize = 16;

/// Key-derivation settings: which password-hashing function and how much work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdfParams {
    /// PBKDF2 with HMAC-SHA256, 32-byte output.
    Pbkdf2Sha256 {
        /// Iteration count (at least [`PBKDF2_MIN_ITERATIONS`] to open a file normally).
        iterations: u32,
    },
    /// Argon2id, version 0x13, 32-byte output, no secret or associated data.
    Argon2id {
        /// Memory in KiB.
        m_cost_kib: u32,
        /// Number of passes.
        t_cost: u32,
        /// Number of lanes.
        p_cost: u32,
    },
}

impl KdfParams {
    /// PBKDF2-HMAC-SHA256 with 600,000 iterations (OWASP's 2023 recommendation). The default.
    pub const fn pbkdf2_default() -> KdfParams {
        KdfParams::Pbkdf2Sha256 {
            iterations: PBKDF2_MIN_ITERATIONS,
        }
    }

    /// Argon2id with 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended setting with one
    /// lane; well above OWASP's minimum).
    pub const fn argon2id_default() -> KdfParams {
        KdfParams::Argon2id {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }

    /// **Insecure**: PBKDF2 with 1,000 iterations, so tests run fast. A file written with these
    /// settings is refused by [`KeyFile::from_json_bytes`](crate::keyfile::KeyFile::from_json_bytes)
    /// ([`KeyFileError::WeakKdf`](crate::keyfile::KeyFileError::WeakKdf)) and opens only through
    /// [`KeyFile::from_json_bytes_with`](crate::keyfile::KeyFile::from_json_bytes_with) with
    /// [`KdfPolicy::AllowWeakForTests`](crate::keyfile::KdfPolicy::AllowWeakForTests). Never use
    /// it for real wallets.
    pub const fn insecure_fast_for_tests() -> KdfParams {
        KdfParams::Pbkdf2Sha256 { iterations: 1_000 }
    }

    /// The `kdf.name` of these settings.
    pub const fn name(&self) -> &'static str {
        match self {
            KdfParams::Pbkdf2Sha256 { .. } => PBKDF2_NAME,
            KdfParams::Argon2id { .. } => ARGON2ID_NAME,
        }
    }

    /// Whether these settings are below the minimum accepted when opening a file.
    pub fn is_weak(&self) -> bool {
        match *self {
            KdfParams::Pbkdf2Sha256 { iterations } => iterations < PBKDF2_MIN_ITERATIONS,
            KdfParams::Argon2id {
                m_cost_kib, t_cost, ..
            } => {
                m_cost_kib < ARGON2_MIN_M_COST_KIB
                    || u64::from(m_cost_kib) * u64::from(t_cost) < ARGON2_MIN_KIB_PASSES
            }
        }
    }
}

impl fmt::Display for KdfParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KdfParams::Pbkdf2Sha256 { iterations } => {
                write!(f, "{PBKDF2_NAME} with {iterations} iterations")
            }
            KdfParams::Argon2id {
                m_cost_kib,
                t_cost,
                p_cost,
            } => write!(
                f,
                "{ARGON2ID_NAME} with {m_cost_kib} KiB, {t_cost} passes, {p_cost} lanes"
            ),
        }
    }
}

/// Why KDF settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KdfError {
    /// Invalid settings (zero iterations, Argon2 settings Argon2 rejects).
    Invalid { params: KdfParams, reason: String },
    /// Above the maximum this software spends.
    TooExpensive(KdfParams),
}

/// Why a `kdf` JSON object could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KdfJsonError {
    /// Missing or mistyped members (the message says which).
    Malformed(String),
    /// `kdf.name` is not a known KDF.
    UnknownKdf(String),
}

/// Checks KDF settings are usable and within the maximum cost (not the minimum strength).
pub(crate) fn check_usable(kdf: &KdfParams) -> Result<(), KdfError> {
    match *kdf {
        KdfParams::Pbkdf2Sha256 { iterations } => {
            if iterations == 0 {
                return Err(KdfError::Invalid {
                    params: *kdf,
                    reason: "pbkdf2 iterations must be at least 1".to_owned(),
                });
            }
            if iterations > PBKDF2_MAX_ITERATIONS {
                return Err(KdfError::TooExpensive(*kdf));
            }
        }
        KdfParams::Argon2id {
            m_cost_kib,
            t_cost,
            p_cost,
        } => {
            if m_cost_kib > ARGON2_MAX_M_COST_KIB
                || t_cost > ARGON2_MAX_T_COST
                || p_cost > ARGON2_MAX_P_COST
            {
                return Err(KdfError::TooExpensive(*kdf));
            }
            argon2_params(kdf)?;
        }
    }
    Ok(())
}

/// The `argon2` crate's parameters for `kdf` (Argon2id settings; PBKDF2 ones are refused).
fn argon2_params(kdf: &KdfParams) -> Result<argon2::Params, KdfError> {
    let invalid = |reason: String| KdfError::Invalid {
        params: *kdf,
        reason,
    };
    match *kdf {
        KdfParams::Argon2id {
            m_cost_kib,
            t_cost,
            p_cost,
        } => argon2::Params::new(m_cost_kib, t_cost, p_cost, Some(32))
            .map_err(|e| invalid(e.to_string())),
        KdfParams::Pbkdf2Sha256 { .. } => Err(invalid("not argon2id settings".to_owned())),
    }
}

/// The 32-byte AES key: `KDF(password as UTF-8 bytes, salt)`. Checks the settings first.
pub(crate) fn derive_key(
    password: &str,
    kdf: &KdfParams,
    salt: &[u8; SALT_LEN],
) -> Result<Zeroizing<[u8; 32]>, KdfError> {
    check_usable(kdf)?;
    let mut key = Zeroizing::new([0u8; 32]);
    match *kdf {
        KdfParams::Pbkdf2Sha256 { iterations } => {
            pbkdf2::pbkdf2_hmac::<Sha256>(
                password.as_bytes(),
                salt,
                iterations,
                key.as_mut_slice(),
            );
        }
        KdfParams::Argon2id { .. } => {
            let params = argon2_params(kdf)?;
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(password.as_bytes(), salt, key.as_mut_slice())
                .map_err(|e| KdfError::Invalid {
                    params: *kdf,
                    reason: e.to_string(),
                })?;
        }
    }
    Ok(key)
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    let key: &Key<Aes256Gcm> = key.into();
    Aes256Gcm::new(key)
}

/// AES-256-GCM encryption: ciphertext followed by the 16-byte tag. `None` only if AES-GCM refuses
/// (inputs beyond its length limits, impossible here).
pub(crate) fn seal(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
    aad: &[u8],
) -> Option<Vec<u8>> {
    cipher(key)
        .encrypt(
            &(*nonce).into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .ok()
}

/// AES-256-GCM decryption. `None` if the tag does not match (wrong key, or the ciphertext, nonce
/// or associated data changed).
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    cipher(key)
        .decrypt(
            &(*nonce).into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

/// Appends `u32be(len(bytes)) || bytes`.
pub(crate) fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Appends `lp(kdf name) || kdf params`, where the params are `u32be(iterations)` (PBKDF2) or
/// `u32be(m_cost_kib) || u32be(t_cost) || u32be(p_cost)` (Argon2id).
pub(crate) fn put_kdf(out: &mut Vec<u8>, kdf: &KdfParams) {
    lp(out, kdf.name().as_bytes());
    match *kdf {
        KdfParams::Pbkdf2Sha256 { iterations } => out.extend_from_slice(&iterations.to_be_bytes()),
        KdfParams::Argon2id {
            m_cost_kib,
            t_cost,
            p_cost,
        } => {
            out.extend_from_slice(&m_cost_kib.to_be_bytes());
            out.extend_from_slice(&t_cost.to_be_bytes());
            out.extend_from_slice(&p_cost.to_be_bytes());
        }
    }
}

/// The `kdf` object when writing (fields in documented order).
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum KdfJson {
    Pbkdf2(Pbkdf2Json),
    Argon2(Argon2Json),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pbkdf2Json {
    name: String,
    iterations: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Argon2Json {
    name: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

/// The `kdf` object of `kdf` with `salt` (lower-case hex).
pub(crate) fn kdf_to_json(kdf: &KdfParams, salt: &[u8; SALT_LEN]) -> KdfJson {
    let salt = hex::encode(salt);
    match *kdf {
        KdfParams::Pbkdf2Sha256 { iterations } => KdfJson::Pbkdf2(Pbkdf2Json {
            name: PBKDF2_NAME.to_owned(),
            iterations,
            salt,
        }),
        KdfParams::Argon2id {
            m_cost_kib,
            t_cost,
            p_cost,
        } => KdfJson::Argon2(Argon2Json {
            name: ARGON2ID_NAME.to_owned(),
            m_cost_kib,
            t_cost,
            p_cost,
            salt,
        }),
    }
}

/// Reads a `kdf` object: the settings and the salt as written (hex, not yet decoded).
pub(crate) fn kdf_from_json(
    kdf: serde_json::Map<String, serde_json::Value>,
) -> Result<(KdfParams, String), KdfJsonError> {
    let malformed = |e: serde_json::Error| KdfJsonError::Malformed(format!("in `kdf`: {e}"));
    let name = match kdf.get("name") {
        Some(serde_json::Value::String(name)) => name.clone(),
        Some(_) => return Err(KdfJsonError::Malformed("`kdf.name` is not a string".into())),
        None => return Err(KdfJsonError::Malformed("missing field `kdf.name`".into())),
    };
    match name.as_str() {
        PBKDF2_NAME => {
            let k: Pbkdf2Json =
                serde_json::from_value(serde_json::Value::Object(kdf)).map_err(malformed)?;
            Ok((
                KdfParams::Pbkdf2Sha256 {
                    iterations: k.iterations,
                },
                k.salt,
            ))
        }
        ARGON2ID_NAME => {
            let k: Argon2Json =
                serde_json::from_value(serde_json::Value::Object(kdf)).map_err(malformed)?;
            Ok((
                KdfParams::Argon2id {
                    m_cost_kib: k.m_cost_kib,
                    t_cost: k.t_cost,
                    p_cost: k.p_cost,
                },
                k.salt,
            ))
        }
        _ => Err(KdfJsonError::UnknownKdf(name)),
    }
}
