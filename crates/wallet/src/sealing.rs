//! Password-based encryption shared by the wallet file ([`crate::keyfile`]) and the node
//! keystore ([`crate::keystore`]): the password KDFs (PBKDF2-HMAC-SHA256, Argon2id), AES-256-GCM,
//! the length-prefixed encoding of associated data, and the JSON shape of the `kdf` object.
//!
//! Both formats call this code so the two cannot drift apart; their own error types are built
//! from [`KdfError`] and [`KdfJsonError`].

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Key, KeyInit, Payload};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keyfile::{
    ARGON2_MAX_M_COST_KIB, ARGON2_MAX_P_COST, ARGON2_MAX_T_COST, ARGON2ID_NAME, KdfParams,
    NONCE_LEN, PBKDF2_MAX_ITERATIONS, PBKDF2_NAME, SALT_LEN,
};

/// AES-GCM tag length, in bytes.
pub(crate) const TAG_LEN: usize = 16;

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
