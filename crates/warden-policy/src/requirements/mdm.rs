//! macOS managed preferences (domain `dev.warden.Warden`): keys
//! `requirements_toml_base64` and `config_toml_base64`. The plist parser and the
//! configuration profile generator are plain Rust, shared by every platform and tested
//! on Linux with real plist files; only reading the live preferences is macOS-only.

use crate::ValueError;
use base64::Engine;
use plist::{Dictionary, Value};
use sha2::{Digest, Sha256};

use crate::PolicyError;

/// The preference domain an MDM profile targets.
pub const DOMAIN: &str = "dev.warden.Warden";
pub const REQUIREMENTS_KEY: &str = "requirements_toml_base64";
pub const CONFIG_KEY: &str = "config_toml_base64";

/// What a managed preferences plist (or a profile's Warden payload) carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedPreferences {
    pub requirements_toml: Option<String>,
    pub config_toml: Option<String>,
}

/// Parse a plist (XML or binary): either the managed preferences of the domain, or a
/// `.mobileconfig` profile holding a payload for it.
pub fn parse_plist(name: &str, bytes: &[u8]) -> Result<ManagedPreferences, PolicyError> {
    let bad = |message: String| PolicyError::Parse {
        path: name.into(),
        message,
    };
    let value = Value::from_reader(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("not a property list: {e}")))?;
    let dict = value
        .as_dictionary()
        .ok_or_else(|| bad("the property list is not a dictionary".into()))?;
    let payload = match dict.get("PayloadContent").and_then(Value::as_array) {
        Some(payloads) => payloads
            .iter()
            .filter_map(Value::as_dictionary)
            .find(|p| p.get("PayloadType").and_then(Value::as_string) == Some(DOMAIN))
            .ok_or_else(|| bad(format!("the profile has no {DOMAIN} payload")))?,
        None => dict,
    };
    Ok(ManagedPreferences {
        requirements_toml: decode_key(payload, REQUIREMENTS_KEY).map_err(&bad)?,
        config_toml: decode_key(payload, CONFIG_KEY).map_err(&bad)?,
    })
}

/// Decode one base64 TOML key (whitespace inside the base64 is ignored).
pub fn decode_value(key: &str, encoded: &str) -> Result<String, ValueError> {
    let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("{key} is not base64: {e}"))?;
    String::from_utf8(bytes).map_err(|_| ValueError(format!("{key} does not decode to UTF-8 text")))
}

fn decode_key(dict: &Dictionary, key: &str) -> Result<Option<String>, String> {
    match dict.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => decode_value(key, s).map(Some).map_err(|e| e.0),
        Some(Value::Data(d)) => String::from_utf8(d.clone())
            .map(Some)
            .map_err(|_| format!("{key} is not UTF-8 text")),
        Some(_) => Err(format!("{key} must be a base64 string")),
    }
}

/// A stable UUID derived from content, so the same input gives the same profile.
fn uuid_from(seed: &[u8]) -> String {
    let h = Sha256::digest(seed);
    let hex: String = h[..16].iter().map(|b| format!("{b:02X}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// A configuration profile (XML plist) an MDM can push: one payload of type
/// `dev.warden.Warden` carrying the requirements (and optional managed config).
pub fn profile(requirements_toml: &str, config_toml: Option<&str>) -> Result<String, PolicyError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let seed = format!("{requirements_toml}\0{}", config_toml.unwrap_or(""));
    let mut payload = Dictionary::new();
    payload.insert("PayloadType".into(), DOMAIN.into());
    payload.insert(
        "PayloadIdentifier".into(),
        format!("{DOMAIN}.requirements").into(),
    );
    payload.insert(
        "PayloadUUID".into(),
        uuid_from(format!("payload{seed}").as_bytes()).into(),
    );
    payload.insert("PayloadVersion".into(), Value::Integer(1.into()));
    payload.insert("PayloadDisplayName".into(), "Warden requirements".into());
    payload.insert(
        REQUIREMENTS_KEY.into(),
        b64.encode(requirements_toml).into(),
    );
    if let Some(config) = config_toml {
        payload.insert(CONFIG_KEY.into(), b64.encode(config).into());
    }
    let mut top = Dictionary::new();
    top.insert(
        "PayloadContent".into(),
        Value::Array(vec![Value::Dictionary(payload)]),
    );
    top.insert("PayloadDisplayName".into(), "Warden (managed)".into());
    top.insert(
        "PayloadDescription".into(),
        "Admin requirements for Warden that users cannot loosen.".into(),
    );
    top.insert(
        "PayloadIdentifier".into(),
        format!("{DOMAIN}.profile").into(),
    );
    top.insert("PayloadScope".into(), "System".into());
    top.insert("PayloadType".into(), "Configuration".into());
    top.insert(
        "PayloadUUID".into(),
        uuid_from(format!("profile{seed}").as_bytes()).into(),
    );
    top.insert("PayloadVersion".into(), Value::Integer(1.into()));
    let mut out = Vec::new();
    Value::Dictionary(top)
        .to_writer_xml(&mut out)
        .map_err(|e| PolicyError::Invalid(format!("cannot write the profile: {e}")))?;
    String::from_utf8(out).map_err(|e| PolicyError::Invalid(e.to_string()))
}

/// The live managed preferences, honoured only where an MDM forced them
/// (`CFPreferencesAppValueIsForced`); a user's `defaults write` is ignored.
#[cfg(target_os = "macos")]
pub fn read_forced() -> Result<ManagedPreferences, PolicyError> {
    let read = |key: &str| -> Result<Option<String>, PolicyError> {
        match macos::forced_string(DOMAIN, key) {
            Some(encoded) => {
                decode_value(key, &encoded)
                    .map(Some)
                    .map_err(|m| PolicyError::Parse {
                        path: format!("managed preferences {DOMAIN}").into(),
                        message: m,
                    })
            }
            None => Ok(None),
        }
    };
    Ok(ManagedPreferences {
        requirements_toml: read(REQUIREMENTS_KEY)?,
        config_toml: read(CONFIG_KEY)?,
    })
}

/// Elsewhere there are no managed preferences.
#[cfg(not(target_os = "macos"))]
pub fn read_forced() -> Result<ManagedPreferences, PolicyError> {
    Ok(ManagedPreferences::default())
}

#[cfg(target_os = "macos")]
mod macos {
    //! CoreFoundation preferences, through its C API.
    use std::ffi::{CStr, CString, c_char, c_void};

    type CFTypeRef = *const c_void;
    type CFStringRef = *const c_void;
    const UTF8: u32 = 0x0800_0100;

    #[link(name = "CoreFoundation", kind = "framework")]
    unsafe extern "C" {
        fn CFStringCreateWithCString(alloc: CFTypeRef, s: *const c_char, enc: u32) -> CFStringRef;
        fn CFPreferencesCopyAppValue(key: CFStringRef, app: CFStringRef) -> CFTypeRef;
        fn CFPreferencesAppValueIsForced(key: CFStringRef, app: CFStringRef) -> u8;
        fn CFGetTypeID(v: CFTypeRef) -> usize;
        fn CFStringGetTypeID() -> usize;
        fn CFStringGetCString(s: CFStringRef, buf: *mut c_char, len: isize, enc: u32) -> u8;
        fn CFStringGetLength(s: CFStringRef) -> isize;
        fn CFRelease(v: CFTypeRef);
    }

    fn cf_string(s: &str) -> Option<CFStringRef> {
        let c = CString::new(s).ok()?;
        // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
        let r = unsafe { CFStringCreateWithCString(std::ptr::null(), c.as_ptr(), UTF8) };
        (!r.is_null()).then_some(r)
    }

    pub fn forced_string(domain: &str, key: &str) -> Option<String> {
        let app = cf_string(domain)?;
        let Some(k) = cf_string(key) else {
            // SAFETY: `app` was created above and is released once.
            unsafe { CFRelease(app) };
            return None;
        };
        // SAFETY: `k` and `app` are valid CFStrings; every object we own is released once.
        unsafe {
            let mut out = None;
            if CFPreferencesAppValueIsForced(k, app) != 0 {
                let value = CFPreferencesCopyAppValue(k, app);
                if !value.is_null() {
                    if CFGetTypeID(value) == CFStringGetTypeID() {
                        let len = CFStringGetLength(value) * 4 + 1;
                        let mut buf = vec![0 as c_char; len as usize];
                        if CFStringGetCString(value, buf.as_mut_ptr(), len, UTF8) != 0 {
                            out = Some(CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned());
                        }
                    }
                    CFRelease(value);
                }
            }
            CFRelease(k);
            CFRelease(app);
            out
        }
    }
}
