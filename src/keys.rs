//! Our signing key and certificates: generation (`sso-bridge keygen`), loading and the start-up
//! checks of docs/security.md A12 (RSA ≥ 2048, key matches certificate, not expired, key file
//! private).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

pub use saml::certificate::MIN_RSA_BITS;
/// Warn when a certificate expires within this many days.
pub const EXPIRY_WARNING_DAYS: i32 = 30;

/// Problems with keys and certificates; each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a PEM key or certificate.
    #[error("{path}: not a PEM {what}: {detail}")]
    Parse {
        /// File.
        path: String,
        /// "private key" or "certificate".
        what: &'static str,
        /// OpenSSL's reason.
        detail: String,
    },
    /// Not RSA or too small.
    #[error("{path}: RSA key of at least {MIN_RSA_BITS} bits required (found {found})")]
    Weak {
        /// File.
        path: String,
        /// What was found.
        found: String,
    },
    /// The certificate is not for this key.
    #[error("{cert}: certificate does not match the private key in {key}")]
    Mismatch {
        /// Certificate file.
        cert: String,
        /// Key file.
        key: String,
    },
    /// The certificate has expired (or is not yet valid).
    #[error("{path}: certificate is not valid now (valid {not_before} to {not_after})")]
    NotValidNow {
        /// File.
        path: String,
        /// Start.
        not_before: String,
        /// End.
        not_after: String,
    },
    /// A file to be written exists already.
    #[error("{path}: exists already; refusing to overwrite it")]
    Exists {
        /// File.
        path: String,
    },
    /// Writing failed.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// OpenSSL failed.
    #[error("OpenSSL: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
}

/// Generates an RSA key and a self-signed SHA-256 certificate valid for `days`.
pub fn generate(
    bits: u32,
    days: u32,
    common_name: &str,
) -> Result<(PKey<Private>, X509), KeyError> {
    Ok(saml::certificate::self_signed(bits, days, common_name)?)
}

/// Writes a new key (mode 0600) and certificate, refusing to overwrite either file.
pub fn write_new(
    key_path: &Path,
    cert_path: &Path,
    key: &PKey<Private>,
    cert: &X509,
) -> Result<(), KeyError> {
    for path in [key_path, cert_path] {
        if path.exists() {
            return Err(KeyError::Exists {
                path: path.display().to_string(),
            });
        }
    }
    write_exclusive(key_path, &key.private_key_to_pem_pkcs8()?, 0o600)?;
    write_exclusive(cert_path, &cert.to_pem()?, 0o644)
}

fn write_exclusive(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let err = |source| KeyError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.display().to_string(),
            }
        } else {
            err(e)
        }
    })?;
    file.write_all(bytes).map_err(err)
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Loads a PEM private key and checks it is RSA ≥ 2048 bits.
pub fn load_key(path: &Path) -> Result<PKey<Private>, KeyError> {
    let key = PKey::private_key_from_pem(&read(path)?).map_err(|e| KeyError::Parse {
        path: path.display().to_string(),
        what: "private key",
        detail: e.to_string(),
    })?;
    check_rsa_bits(&key, path)?;
    Ok(key)
}

/// Loads a PEM certificate and checks its key is RSA ≥ 2048 bits.
pub fn load_cert(path: &Path) -> Result<X509, KeyError> {
    let cert = X509::from_pem(&read(path)?).map_err(|e| KeyError::Parse {
        path: path.display().to_string(),
        what: "certificate",
        detail: e.to_string(),
    })?;
    check_rsa_bits(&cert.public_key()?, path)?;
    Ok(cert)
}

fn check_rsa_bits<T: openssl::pkey::HasPublic>(key: &PKey<T>, path: &Path) -> Result<(), KeyError> {
    let weak = |found: String| KeyError::Weak {
        path: path.display().to_string(),
        found,
    };
    if key.rsa().is_err() {
        return Err(weak(format!("{:?} key", key.id())));
    }
    if key.bits() < MIN_RSA_BITS {
        return Err(weak(format!("{} bits", key.bits())));
    }
    Ok(())
}

/// Fails unless `cert` carries the public half of `key`.
pub fn check_pair(
    key: &PKey<Private>,
    cert: &X509,
    key_path: &Path,
    cert_path: &Path,
) -> Result<(), KeyError> {
    if cert.public_key()?.public_eq(key) {
        Ok(())
    } else {
        Err(KeyError::Mismatch {
            cert: cert_path.display().to_string(),
            key: key_path.display().to_string(),
        })
    }
}

/// Fails when `cert` is not valid now; returns the days left otherwise.
pub fn check_validity(cert: &X509, path: &Path) -> Result<i32, KeyError> {
    let now = Asn1Time::days_from_now(0)?;
    if cert.not_after() < now || cert.not_before() > now {
        return Err(KeyError::NotValidNow {
            path: path.display().to_string(),
            not_before: cert.not_before().to_string(),
            not_after: cert.not_after().to_string(),
        });
    }
    Ok(now.diff(cert.not_after())?.days)
}

/// True when the key file can be read by group or others (docs/security.md A12; a warning, not an
/// error, since some secret stores mount files 0640 for a group the service runs in).
#[cfg(unix)]
pub fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

/// Non-unix systems have no mode bits to check.
#[cfg(not(unix))]
pub fn readable_by_others(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_once_and_loads_back() {
        let dir = std::env::temp_dir().join(format!(
            "sso-bridge-keys-{}",
            crate::random::token().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = generate(2048, 3650, "test").unwrap();
        let (kp, cp) = (dir.join("k.pem"), dir.join("c.pem"));
        write_new(&kp, &cp, &key, &cert).unwrap();
        assert!(!readable_by_others(&kp));
        assert!(matches!(
            write_new(&kp, &cp, &key, &cert),
            Err(KeyError::Exists { .. })
        ));
        let key2 = load_key(&kp).unwrap();
        let cert2 = load_cert(&cp).unwrap();
        check_pair(&key2, &cert2, &kp, &cp).unwrap();
        assert!(check_validity(&cert2, &cp).unwrap() >= 3649);
        let (other, _) = generate(2048, 1, "other").unwrap();
        assert!(matches!(
            check_pair(&other, &cert2, &kp, &cp),
            Err(KeyError::Mismatch { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn small_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!(
            "sso-bridge-weak-{}",
            crate::random::token().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = generate(1024, 1, "weak").unwrap();
        let (kp, cp) = (dir.join("k.pem"), dir.join("c.pem"));
        write_new(&kp, &cp, &key, &cert).unwrap();
        assert!(matches!(load_key(&kp), Err(KeyError::Weak { .. })));
        assert!(matches!(load_cert(&cp), Err(KeyError::Weak { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
