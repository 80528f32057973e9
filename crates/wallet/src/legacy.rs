//! Legacy RSA records: the supply-chain fork of the records app (system C) signs its records with RSA keys
//! (RSA-1024, PKCS#1 v1.5 signatures over SHA-256 of the UTF-8 data). ferrochain keeps such a record as a
//! node-signed record whose payload is the whole RSA envelope (ADR 0018):
//! `{"ferrochain_legacy_rsa":1,"senderPK":"<PEM>","signature":"<hex>","data":"<the signed text>"}`, so anyone
//! can check the author's own RSA signature later from the chain alone ([`LegacyRsaRecord::verify`]), offline.
//! RSA is not part of consensus: the chain's rule is the node's Ed25519 signature over the record; the RSA
//! signature is checked when the record is accepted and again by every reader.
//!
//! Keys under [`MIN_RSA_BITS`] are refused. RSA-1024 itself is weak by today's standards (breakable by a
//! well-funded attacker); views label these records "legacy RSA".

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 1024;
/// The largest RSA modulus accepted, in bits (bounds the cost of a check).
pub const MAX_RSA_BITS: usize = 8192;
/// The largest PEM text accepted, in bytes.
pub const MAX_PEM_BYTES: usize = 4096;

/// Why a legacy RSA record is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    /// `senderPK` is not an RSA public key in PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`).
    #[error("senderPK is not an RSA public key in PEM: {0}")]
    BadKey(String),
    /// The key is smaller than [`MIN_RSA_BITS`] or larger than [`MAX_RSA_BITS`].
    #[error(
        "the RSA key has {bits} bits; keys of {MIN_RSA_BITS} to {MAX_RSA_BITS} bits are accepted"
    )]
    KeySize {
        /// The key's size.
        bits: usize,
    },
    /// The signature text holds characters above U+00FF (it must be the raw signature bytes read as latin-1).
    #[error("signature is not the raw signature bytes read as latin-1")]
    BadSignatureText,
    /// The signature does not verify for this key and data.
    #[error("the RSA signature (PKCS#1 v1.5, SHA-256) does not verify for this key and data")]
    BadSignature,
}

/// An RSA-signed record of the fork: the author's key, the signature and the signed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyRsaRecord {
    /// The author's public key, PEM, as sent.
    pub sender_pem: String,
    /// The raw PKCS#1 v1.5 signature.
    pub signature: Vec<u8>,
    /// The signed text (the fork's `"<item>|<receiver's PEM>"`).
    pub data: String,
}

/// SHA-256 of a PEM text with whitespace removed, hex.
fn fingerprint(pem: &str) -> String {
    let compact: String = pem.chars().filter(|c| !c.is_whitespace()).collect();
    hex::encode(Sha256::digest(compact.as_bytes()))
}

/// What a verified legacy record says about its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaKeyInfo {
    /// The modulus size, in bits.
    pub bits: usize,
    /// SHA-256 of the key's PEM text with whitespace removed, hex (a short name for the key).
    pub fingerprint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    ferrochain_legacy_rsa: u32,
    #[serde(rename = "senderPK")]
    sender_pk: String,
    signature: String,
    data: String,
}

impl LegacyRsaRecord {
    /// The record as the fork posts it: `signature` is the raw signature decoded as latin-1 (each char one
    /// byte).
    ///
    /// # Errors
    /// [`LegacyError::BadSignatureText`].
    pub fn from_fork(
        sender_pem: &str,
        signature_latin1: &str,
        data: &str,
    ) -> Result<Self, LegacyError> {
        let signature = signature_latin1
            .chars()
            .map(|c| u8::try_from(u32::from(c)).map_err(|_| LegacyError::BadSignatureText))
            .collect::<Result<Vec<u8>, _>>()?;
        Ok(LegacyRsaRecord {
            sender_pem: sender_pem.to_string(),
            signature,
            data: data.to_string(),
        })
    }

    /// Checks the key (PEM, size) and the author's signature over `data`.
    ///
    /// # Errors
    /// [`LegacyError`] saying what is wrong.
    pub fn verify(&self) -> Result<RsaKeyInfo, LegacyError> {
        if self.sender_pem.len() > MAX_PEM_BYTES {
            return Err(LegacyError::BadKey(format!(
                "longer than {MAX_PEM_BYTES} bytes"
            )));
        }
        let pem = self.sender_pem.trim();
        let key = if pem.contains("BEGIN RSA PUBLIC KEY") {
            rsa::PublicKey::from_pkcs1_pem(pem).map_err(|e| LegacyError::BadKey(e.to_string()))?
        } else {
            rsa::PublicKey::from_public_key_pem(pem)
                .map_err(|e| LegacyError::BadKey(e.to_string()))?
        };
        let bits = key.size() * 8;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(LegacyError::KeySize { bits });
        }
        key.pkcs1v15_verify::<Sha256>(self.data.as_bytes(), &self.signature)
            .map_err(|_| LegacyError::BadSignature)?;
        Ok(RsaKeyInfo {
            bits,
            fingerprint: fingerprint(pem),
        })
    }

    /// The payload of the node-signed record that carries this envelope (compact JSON).
    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(&Envelope {
            ferrochain_legacy_rsa: 1,
            sender_pk: self.sender_pem.clone(),
            signature: hex::encode(&self.signature),
            data: self.data.clone(),
        })
        .unwrap_or_default()
    }

    /// The envelope a record payload carries, if it is one (not yet verified: call [`Self::verify`]).
    pub fn from_payload(payload: &[u8]) -> Option<Self> {
        let e: Envelope = serde_json::from_slice(payload).ok()?;
        (e.ferrochain_legacy_rsa == 1).then_some(())?;
        Some(LegacyRsaRecord {
            sender_pem: e.sender_pk,
            signature: hex::decode(e.signature).ok()?,
            data: e.data,
        })
    }
}

/// PBKDF2 iterations of the fork's wallet files.
pub const FORK_WALLET_ITERATIONS: u32 = 1_000_000;

/// Why the fork's wallet file cannot be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForkWalletError {
    /// The file is shorter than nonce, tag and salt.
    #[error("not a wallet file of the records app's fork: {0} bytes, at least 49 expected")]
    TooShort(usize),
    /// Wrong password, or the file was changed (the AES-EAX tag does not match).
    #[error("wrong password, or the file is damaged")]
    WrongPassword,
    /// The decrypted text is not an RSA private key in PEM.
    #[error("the file does not hold an RSA private key: {0}")]
    NotAKey(String),
    /// The key is smaller than [`MIN_RSA_BITS`] or larger than [`MAX_RSA_BITS`].
    #[error(
        "the RSA key has {bits} bits; keys of {MIN_RSA_BITS} to {MAX_RSA_BITS} bits are accepted"
    )]
    KeySize {
        /// The key's size.
        bits: usize,
    },
}

/// An RSA private key of the fork, opened from its wallet file; it signs records as the fork does.
pub struct LegacyRsaKey {
    key: rsa::PrivateKey,
    pem: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for LegacyRsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyRsaKey").finish_non_exhaustive()
    }
}

impl LegacyRsaKey {
    /// Opens the fork's wallet file: `nonce (16) ‖ tag (16) ‖ ciphertext ‖ salt (16)`, AES-256-EAX under the
    /// first 32 bytes of PBKDF2-HMAC-SHA512(password, salt, 1,000,000 iterations, 64 bytes); the plaintext is the
    /// private key in PEM. Slow on purpose (the KDF): run it off async workers.
    ///
    /// # Errors
    /// [`ForkWalletError`].
    pub fn open_fork_wallet(file: &[u8], password: &str) -> Result<LegacyRsaKey, ForkWalletError> {
        LegacyRsaKey::open_with_iterations(file, password, FORK_WALLET_ITERATIONS)
    }

    /// [`Self::open_fork_wallet`] with another iteration count (tests).
    ///
    /// # Errors
    /// [`ForkWalletError`].
    pub fn open_with_iterations(
        file: &[u8],
        password: &str,
        iterations: u32,
    ) -> Result<LegacyRsaKey, ForkWalletError> {
        use eax::aead::{Aead, KeyInit};
        if file.len() < 49 {
            return Err(ForkWalletError::TooShort(file.len()));
        }
        let (nonce, rest) = file.split_at(16);
        let (tag, rest) = rest.split_at(16);
        let (ciphertext, salt) = rest.split_at(rest.len() - 16);
        let mut derived = zeroize::Zeroizing::new([0u8; 64]);
        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), salt, iterations, &mut *derived);
        let cipher = eax::Eax::<aes::Aes256>::new_from_slice(&derived[..32])
            .map_err(|_| ForkWalletError::WrongPassword)?;
        let mut sealed = ciphertext.to_vec();
        sealed.extend_from_slice(tag);
        let nonce = eax::Nonce::<eax::aead::consts::U16>::try_from(nonce)
            .map_err(|_| ForkWalletError::WrongPassword)?;
        let plain = zeroize::Zeroizing::new(
            cipher
                .decrypt(&nonce, sealed.as_slice())
                .map_err(|_| ForkWalletError::WrongPassword)?,
        );
        let pem = zeroize::Zeroizing::new(
            String::from_utf8(plain.to_vec())
                .map_err(|_| ForkWalletError::NotAKey("not text".into()))?,
        );
        LegacyRsaKey::from_pem(&pem)
    }

    /// A key from its private PEM (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`).
    ///
    /// # Errors
    /// [`ForkWalletError::NotAKey`], [`ForkWalletError::KeySize`].
    pub fn from_pem(pem: &str) -> Result<LegacyRsaKey, ForkWalletError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let pem = pem.trim();
        let key = if pem.contains("BEGIN RSA PRIVATE KEY") {
            rsa::PrivateKey::from_pkcs1_pem(pem)
                .map_err(|e| ForkWalletError::NotAKey(e.to_string()))?
        } else {
            rsa::PrivateKey::from_pkcs8_pem(pem)
                .map_err(|e| ForkWalletError::NotAKey(e.to_string()))?
        };
        let bits = key.size() * 8;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(ForkWalletError::KeySize { bits });
        }
        Ok(LegacyRsaKey {
            key,
            pem: zeroize::Zeroizing::new(pem.to_string()),
        })
    }

    /// The key's size and fingerprint (as [`LegacyRsaRecord::verify`] reports them).
    pub fn info(&self) -> RsaKeyInfo {
        RsaKeyInfo {
            bits: self.key.size() * 8,
            fingerprint: fingerprint(&self.public_pem()),
        }
    }

    /// The private key in PEM (to keep it in a file of one's own; handle with care).
    pub fn private_pem(&self) -> &str {
        &self.pem
    }

    /// The public key in PEM (`BEGIN PUBLIC KEY`), as the fork sends it as `senderPK`.
    pub fn public_pem(&self) -> String {
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        self.key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// Signs `data` as the fork does (PKCS#1 v1.5 over SHA-256 of the UTF-8 text): the record to post.
    pub fn sign(&self, data: &str) -> LegacyRsaRecord {
        let signature = self
            .key
            .pkcs1v15_sign::<Sha256>(data.as_bytes())
            .unwrap_or_default();
        LegacyRsaRecord {
            sender_pem: self.public_pem(),
            signature,
            data: data.to_string(),
        }
    }
}

impl LegacyRsaRecord {
    /// The signature as the fork sends it: the raw bytes read as latin-1 text.
    pub fn signature_latin1(&self) -> String {
        self.signature.iter().map(|&b| char::from(b)).collect()
    }
}

/// The `format` of the file in which ferrochain keeps an imported legacy key.
pub const IMPORTED_KEY_FORMAT: &str = "ferrochain-legacy-rsa-key";

impl LegacyRsaKey {
    /// The key in a file of ferrochain's own (JSON, version 1): the private PEM sealed with AES-256-GCM under
    /// a key from `kdf` and `password` (as the wallet file, `docs/wallet-format.md`), the public PEM in clear.
    ///
    /// # Errors
    /// [`ForkWalletError::NotAKey`] if the KDF settings cannot be used.
    pub fn to_sealed_json(
        &self,
        password: &str,
        kdf: crate::KdfParams,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Vec<u8>, ForkWalletError> {
        let mut salt = [0u8; crate::sealing::SALT_LEN];
        let mut nonce = [0u8; crate::sealing::NONCE_LEN];
        rng.fill_bytes(&mut salt);
        rng.fill_bytes(&mut nonce);
        let key = crate::sealing::derive_key(password, &kdf, &salt)
            .map_err(|_| ForkWalletError::NotAKey("unusable KDF settings".into()))?;
        let public = self.public_pem();
        let sealed = crate::sealing::seal(&key, &nonce, self.pem.as_bytes(), public.as_bytes())
            .ok_or_else(|| ForkWalletError::NotAKey("sealing failed".into()))?;
        let json = serde_json::json!({
            "format": IMPORTED_KEY_FORMAT,
            "version": 1,
            "public_key": public,
            "kdf": crate::sealing::kdf_to_json(&kdf, &salt),
            "cipher": "aes-256-gcm",
            "nonce": hex::encode(nonce),
            "ciphertext": hex::encode(sealed),
        });
        Ok(serde_json::to_vec_pretty(&json).unwrap_or_default())
    }

    /// Opens a file written by [`Self::to_sealed_json`].
    ///
    /// # Errors
    /// [`ForkWalletError::WrongPassword`], [`ForkWalletError::NotAKey`] for a file of another shape.
    pub fn from_sealed_json(bytes: &[u8], password: &str) -> Result<LegacyRsaKey, ForkWalletError> {
        let bad =
            |m: &str| ForkWalletError::NotAKey(format!("not an imported legacy key file: {m}"));
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| bad("not JSON"))?;
        if v["format"] != IMPORTED_KEY_FORMAT || v["version"] != 1 {
            return Err(bad("format or version"));
        }
        let kdf = v["kdf"].as_object().cloned().ok_or_else(|| bad("kdf"))?;
        let (kdf, salt_hex) = crate::sealing::kdf_from_json(kdf).map_err(|_| bad("kdf"))?;
        let salt: [u8; crate::sealing::SALT_LEN] = hex::decode(salt_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("salt"))?;
        let nonce: [u8; crate::sealing::NONCE_LEN] = v["nonce"]
            .as_str()
            .and_then(|t| hex::decode(t).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("nonce"))?;
        let ciphertext = v["ciphertext"]
            .as_str()
            .and_then(|t| hex::decode(t).ok())
            .ok_or_else(|| bad("ciphertext"))?;
        let public = v["public_key"].as_str().ok_or_else(|| bad("public_key"))?;
        let key = crate::sealing::derive_key(password, &kdf, &salt).map_err(|_| bad("kdf"))?;
        let plain = crate::sealing::open(&key, &nonce, &ciphertext, public.as_bytes())
            .ok_or(ForkWalletError::WrongPassword)?;
        let pem = String::from_utf8(plain.to_vec()).map_err(|_| bad("not text"))?;
        LegacyRsaKey::from_pem(&pem)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // Vectors made with Python `cryptography` 48 (RSA-1024) and OpenSSL 3.0 (RSA-768): PKCS#1 v1.5 over
    // SHA-256 of the UTF-8 data, as the fork's `cryptoModule.sign` makes them.
    const PUB_1024: &str = crate::testing::RSA_1024_PUBLIC_PEM;
    const SIG_1024: &str = "2d434a6862dfbd48b7d80d6eea10b8cc8adc3962e9f6534c78bcc0981a694b18a1e8c160b8032a960103d106b91168aab9709bf10a631860770acee967904f11dd03321526f803080e828831a0fdcdcbb0bf165c6b49767ea15bc39dec3a710204490881878795f5e73c9dc5b4d7cbd60e8af9638f400d271a7a80e1490c8d22";
    const PUB_768: &str = r#"-----BEGIN PUBLIC KEY-----
MHwwDQYJKoZIhvcNAQEBBQADawAwaAJhAKPEsgh3ISk+YgvW+lFldjLoLJ98bBtM
vcr0bQa5TqikVllDTG5ATX2hvPO+VfNbpmxoB/H2UaUUU4ZF++gNxyNBjuS+2MdN
Ok2tGNS3lzDam73uUmmH8kRaio1u6MeBdQIDAQAB
-----END PUBLIC KEY-----
"#;
    const SIG_768: &str = "308c5fe9dd8969687b00154fbc71477f55bbf21fcdb9cab359704b4f5a755ce176eee4d2ad3ce71848b9a4964ff7ca447fd03fd00d4fa07013d0ebbbd5b847c664cfa0a8ff908269f26686ff0c757b628a18409cc3a972733fb616142215fb63";
    const PRIVATE_1024: &str = crate::testing::RSA_1024_PRIVATE_PEM;
    const DATA: &str = r#"pallet 7 shipped|-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDihpxy
-----END PUBLIC KEY-----"#;

    fn record(pem: &str, sig_hex: &str, data: &str) -> LegacyRsaRecord {
        LegacyRsaRecord {
            sender_pem: pem.to_string(),
            signature: hex::decode(sig_hex).unwrap(),
            data: data.to_string(),
        }
    }

    #[test]
    fn the_vector_verifies_and_any_change_fails() {
        let r = record(PUB_1024, SIG_1024, DATA);
        let info = r.verify().unwrap();
        assert_eq!(info.bits, 1024);
        assert_eq!(info.fingerprint.len(), 64);
        let mut other = r.clone();
        other.data.push('!');
        assert_eq!(other.verify(), Err(LegacyError::BadSignature));
        let mut other = r.clone();
        other.signature[5] ^= 1;
        assert_eq!(other.verify(), Err(LegacyError::BadSignature));
        // The envelope round-trips through a record payload.
        assert_eq!(
            LegacyRsaRecord::from_payload(&r.to_payload()),
            Some(r.clone())
        );
        assert_eq!(LegacyRsaRecord::from_payload(b"{}"), None);
        // The fork sends the signature as latin-1 text.
        let latin1: String = r.signature.iter().map(|&b| char::from(b)).collect();
        assert_eq!(
            LegacyRsaRecord::from_fork(PUB_1024, &latin1, DATA).unwrap(),
            r
        );
        assert_eq!(
            LegacyRsaRecord::from_fork(PUB_1024, "\u{100}", DATA),
            Err(LegacyError::BadSignatureText)
        );
    }

    #[test]
    fn small_keys_and_junk_keys_are_refused() {
        let small = record(PUB_768, SIG_768, DATA).verify();
        assert!(
            matches!(
                small,
                Err(LegacyError::KeySize { bits: 768 }) | Err(LegacyError::BadKey(_))
            ),
            "{small:?}"
        );
        let junk = record(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            SIG_1024,
            DATA,
        );
        assert!(matches!(junk.verify(), Err(LegacyError::BadKey(_))));
        let ed = record("deadbeef", SIG_1024, DATA);
        assert!(matches!(ed.verify(), Err(LegacyError::BadKey(_))));
    }

    /// A wallet file in the fork's layout, made here with the same primitives (few iterations for speed).
    fn fork_file(pem: &str, password: &str, iterations: u32) -> Vec<u8> {
        use eax::aead::{Aead, KeyInit};
        let salt = [7u8; 16];
        let nonce = [9u8; 16];
        let mut derived = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), &salt, iterations, &mut derived);
        let cipher = eax::Eax::<aes::Aes256>::new_from_slice(&derived[..32]).unwrap();
        let sealed = cipher
            .encrypt(
                &eax::Nonce::<eax::aead::consts::U16>::from(nonce),
                pem.as_bytes(),
            )
            .unwrap();
        let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
        [&nonce[..], tag, ciphertext, &salt[..]].concat()
    }

    #[test]
    fn the_forks_wallet_file_opens_with_its_password_and_signs_records_the_fork_way() {
        let file = fork_file(PRIVATE_1024, "hunter22", 1000);
        let key = LegacyRsaKey::open_with_iterations(&file, "hunter22", 1000).unwrap();
        assert_eq!(key.public_pem().trim(), PUB_1024.trim());
        let record = LegacyRsaRecord {
            sender_pem: PUB_1024.to_string(),
            signature: hex::decode(SIG_1024).unwrap(),
            data: DATA.to_string(),
        };
        assert_eq!(key.info(), record.verify().unwrap());
        let record = key.sign(DATA);
        assert_eq!(
            hex::encode(&record.signature),
            SIG_1024,
            "PKCS#1 v1.5 is deterministic"
        );
        assert_eq!(record.verify().unwrap().bits, 1024);
        assert_eq!(
            LegacyRsaKey::open_with_iterations(&file, "wrong", 1000).err(),
            Some(ForkWalletError::WrongPassword)
        );
        let mut damaged = file.clone();
        damaged[40] ^= 1;
        assert_eq!(
            LegacyRsaKey::open_with_iterations(&damaged, "hunter22", 1000).err(),
            Some(ForkWalletError::WrongPassword)
        );
        assert_eq!(
            LegacyRsaKey::open_with_iterations(&file[..20], "hunter22", 1000).err(),
            Some(ForkWalletError::TooShort(20))
        );
    }

    #[test]
    fn an_imported_key_is_kept_sealed_and_reopens_only_with_its_password() {
        let key = LegacyRsaKey::from_pem(PRIVATE_1024).unwrap();
        let mut rng = rand::rng();
        let bytes = key
            .to_sealed_json(
                "pw-of-ours",
                crate::KdfParams::insecure_fast_for_tests(),
                &mut rng,
            )
            .unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            !text.contains("PRIVATE KEY"),
            "the private key is not in clear"
        );
        let back = LegacyRsaKey::from_sealed_json(&bytes, "pw-of-ours").unwrap();
        assert_eq!(back.public_pem(), key.public_pem());
        assert_eq!(
            LegacyRsaKey::from_sealed_json(&bytes, "other").err(),
            Some(ForkWalletError::WrongPassword)
        );
    }
}
