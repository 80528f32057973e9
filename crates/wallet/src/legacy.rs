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
        let compact: String = pem.chars().filter(|c| !c.is_whitespace()).collect();
        Ok(RsaKeyInfo {
            bits,
            fingerprint: hex::encode(Sha256::digest(compact.as_bytes())),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // Vectors made with Python `cryptography` 48 (RSA-1024) and OpenSSL 3.0 (RSA-768): PKCS#1 v1.5 over
    // SHA-256 of the UTF-8 data, as the fork's `cryptoModule.sign` makes them.
    const PUB_1024: &str = r#"-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDJm2gigf+jimZ0wBhbtqScYrv1
Mv61QNyfSvK1d5epS9ONsTFu5w7pcy6jS+Ob7cYLY0YBVk+BHmhUzja16wzQKR2R
nlj9WrVgmCvZc2IwvSQ6oFNWgdG+TMttTXCz+kZVVqtaNYG8Fn3ZYucTmuad5/0p
+I4O9iVovNSnggh9BQIDAQAB
-----END PUBLIC KEY-----
"#;
    const SIG_1024: &str = "2d434a6862dfbd48b7d80d6eea10b8cc8adc3962e9f6534c78bcc0981a694b18a1e8c160b8032a960103d106b91168aab9709bf10a631860770acee967904f11dd03321526f803080e828831a0fdcdcbb0bf165c6b49767ea15bc39dec3a710204490881878795f5e73c9dc5b4d7cbd60e8af9638f400d271a7a80e1490c8d22";
    const PUB_768: &str = r#"-----BEGIN PUBLIC KEY-----
MHwwDQYJKoZIhvcNAQEBBQADawAwaAJhAKPEsgh3ISk+YgvW+lFldjLoLJ98bBtM
vcr0bQa5TqikVllDTG5ATX2hvPO+VfNbpmxoB/H2UaUUU4ZF++gNxyNBjuS+2MdN
Ok2tGNS3lzDam73uUmmH8kRaio1u6MeBdQIDAQAB
-----END PUBLIC KEY-----
"#;
    const SIG_768: &str = "308c5fe9dd8969687b00154fbc71477f55bbf21fcdb9cab359704b4f5a755ce176eee4d2ad3ce71848b9a4964ff7ca447fd03fd00d4fa07013d0ebbbd5b847c664cfa0a8ff908269f26686ff0c757b628a18409cc3a972733fb616142215fb63";
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
}
