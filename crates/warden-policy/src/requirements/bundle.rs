//! Signed requirements bundles: a requirements TOML served over HTTPS with an ed25519
//! signature. A bundle whose signature does not verify never applies; the last good copy
//! is cached so an outage keeps the fleet's requirements.

use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::{RequirementsFile, parse_requirements};
use crate::PolicyError;

/// Where to fetch a bundle and the key that must have signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleConfig {
    /// `https://...` (plain `http://` only for a loopback address, for tests).
    pub url: String,
    /// The ed25519 public key, base64 (32 bytes).
    pub public_key: String,
}

/// The bundle as served: the requirements text and a signature over its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedBundle {
    pub requirements: String,
    /// base64 ed25519 signature of `requirements` (UTF-8 bytes).
    pub signature: String,
}

impl BundleConfig {
    /// Refuse URLs that are not HTTPS (except loopback, for tests).
    pub fn check_url(&self) -> Result<(), PolicyError> {
        match crate::config::http::https_or_loopback_problem(&self.url) {
            None => Ok(()),
            Some(problem) => Err(PolicyError::Requirements(format!(
                "bundle url {} {problem}",
                self.url
            ))),
        }
    }
}

/// Verify a served bundle's bytes; on success return its requirements.
pub fn verify_bundle(config: &BundleConfig, body: &[u8]) -> Result<RequirementsFile, PolicyError> {
    let bad = |why: String| PolicyError::Requirements(format!("bundle {}: {why}", config.url));
    let b64 = base64::engine::general_purpose::STANDARD;
    let key: [u8; 32] = b64
        .decode(config.public_key.trim())
        .map_err(|e| bad(format!("public_key is not base64: {e}")))?
        .try_into()
        .map_err(|_| bad("public_key must be 32 bytes".into()))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|e| bad(format!("bad public_key: {e}")))?;
    let bundle: SignedBundle =
        serde_json::from_slice(body).map_err(|e| bad(format!("not a signed bundle: {e}")))?;
    let signature: [u8; 64] = b64
        .decode(bundle.signature.trim())
        .map_err(|e| bad(format!("signature is not base64: {e}")))?
        .try_into()
        .map_err(|_| bad("signature must be 64 bytes".into()))?;
    key.verify(
        bundle.requirements.as_bytes(),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| bad("the signature does not verify; the bundle is ignored".into()))?;
    parse_requirements(&config.url, &bundle.requirements)
}

/// An admin's signing key from its file's text: the 32-byte ed25519 seed, base64
/// (`warden admin keygen` writes it).
fn signing_key(source: &str, text: &str) -> Result<SigningKey, PolicyError> {
    let bad = |why: &str| PolicyError::Invalid(format!("{source}: {why}"));
    let seed: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| bad("not a signing key (base64 of 32 bytes expected)"))?
        .try_into()
        .map_err(|_| bad("not a signing key (32 bytes expected)"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The text of a key file for the 32-byte `seed`.
pub fn signing_key_text(seed: &[u8; 32]) -> String {
    format!(
        "{}\n",
        base64::engine::general_purpose::STANDARD.encode(seed)
    )
}

/// The public key (base64, for `[bundle] public_key`) of the signing key in `key_text`.
pub fn public_key_of(key_source: &str, key_text: &str) -> Result<String, PolicyError> {
    let key = signing_key(key_source, key_text)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes()))
}

/// Sign a requirements file for serving as a bundle. The requirements must load: a
/// mistake is reported with its file, line and key, and nothing is signed.
pub fn sign_bundle(
    requirements_source: &str,
    requirements: &str,
    key_source: &str,
    key_text: &str,
) -> Result<SignedBundle, PolicyError> {
    parse_requirements(requirements_source, requirements)?;
    let key = signing_key(key_source, key_text)?;
    Ok(SignedBundle {
        requirements: requirements.to_string(),
        signature: base64::engine::general_purpose::STANDARD
            .encode(key.sign(requirements.as_bytes()).to_bytes()),
    })
}
