//! Signed requirements bundles: a requirements TOML served over HTTPS with an ed25519
//! signature. A bundle whose signature does not verify never applies; the last good copy
//! is cached so an outage keeps the fleet's requirements.

use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
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
        let loopback = ["http://127.0.0.1", "http://[::1]", "http://localhost"]
            .iter()
            .any(|p| self.url.starts_with(p));
        if self.url.starts_with("https://") || loopback {
            Ok(())
        } else {
            Err(PolicyError::Requirements(format!(
                "bundle url {} must use https://",
                self.url
            )))
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
