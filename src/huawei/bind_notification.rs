//! Huawei's bind-result notification (docs/protocol.md §Bind-result): a browser-delivered form with
//! `bindRequest` (Base64 of a JSON body), `SigAlg` and `Signature`, signed with the site's SP
//! key. Pure: no HTTP, no store.
//!
//! What exactly Huawei signs is undocumented (docs/protocol.md Q2). We verify over the
//! `bindRequest` value as received (its Base64 text) first, the most natural reading of "verify
//! against the bindRequest parameter value", and over the decoded JSON bytes second; either is
//! accepted, and which one matched is reported so the log pins it down on the first real
//! notification.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::{PKey, Public};
use serde_json::Value;

use crate::huawei::fields::{self, FieldError, XUserId};
use crate::store::MappingFields;
use saml::redirect::SigAlg;

/// Longest `bindRequest` accepted (Huawei's example is ~110 characters).
pub const MAX_BIND_REQUEST: usize = 8 * 1024;
/// Longest `Signature` accepted (RSA-4096 is 684 Base64 characters).
pub const MAX_SIGNATURE: usize = 2048;
/// Longest `SigAlg` accepted.
pub const MAX_SIG_ALG: usize = 128;

/// Why a notification was refused; [`NotificationError::code`] is stable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotificationError {
    /// The form is not `application/x-www-form-urlencoded` UTF-8, or repeats a field.
    #[error("notification form is malformed: {0}")]
    BadForm(&'static str),
    /// A form field is missing.
    #[error("notification form lacks {0}")]
    Missing(&'static str),
    /// A form field is longer than its cap.
    #[error("notification field {0} is too long")]
    TooLong(&'static str),
    /// `SigAlg` is not allow-listed.
    #[error("notification SigAlg is not allowed")]
    AlgorithmNotAllowed,
    /// The signature is not Base64 or does not verify with the site's SP keys.
    #[error("notification signature does not verify")]
    BadSignature,
    /// `bindRequest` is not Base64 of a JSON object.
    #[error("bindRequest is not Base64 JSON: {0}")]
    BadPayload(String),
    /// A required JSON field is missing or has the wrong type.
    #[error("bindRequest lacks a valid {0}")]
    MissingField(&'static str),
    /// `bindAction` is neither 0 nor 1.
    #[error("bindRequest has an unknown bindAction")]
    BadAction,
    /// A value breaks a field rule.
    #[error(transparent)]
    Field(#[from] FieldError),
}

impl NotificationError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadForm(_) => "notification_malformed",
            Self::Missing(_) => "notification_incomplete",
            Self::TooLong(_) => "notification_too_large",
            Self::AlgorithmNotAllowed => "sig_alg_not_allowed",
            Self::BadSignature => "bad_signature",
            Self::BadPayload(_) => "notification_malformed",
            Self::MissingField(_) | Self::BadAction | Self::Field(_) => "notification_incomplete",
        }
    }
}

/// The three form fields, URL-decoded, each at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindForm {
    /// `bindRequest` (Base64 text).
    pub bind_request: String,
    /// `SigAlg` URI.
    pub sig_alg: String,
    /// `Signature` (Base64 text).
    pub signature: String,
}

impl BindForm {
    /// Parses an urlencoded body, refusing repeated fields and oversized values. Unknown fields
    /// are ignored (they are not signed and never read).
    pub fn parse(body: &[u8]) -> Result<Self, NotificationError> {
        let mut bind_request = None;
        let mut sig_alg = None;
        let mut signature = None;
        for (name, value) in form_urlencoded::parse(body) {
            let (slot, label, cap) = match name.as_ref() {
                "bindRequest" => (&mut bind_request, "bindRequest", MAX_BIND_REQUEST),
                "SigAlg" => (&mut sig_alg, "SigAlg", MAX_SIG_ALG),
                "Signature" => (&mut signature, "Signature", MAX_SIGNATURE),
                _ => continue,
            };
            if slot.is_some() {
                return Err(NotificationError::BadForm(label));
            }
            if value.len() > cap {
                return Err(NotificationError::TooLong(label));
            }
            *slot = Some(value.into_owned());
        }
        Ok(Self {
            bind_request: bind_request.ok_or(NotificationError::Missing("bindRequest"))?,
            sig_alg: sig_alg.ok_or(NotificationError::Missing("SigAlg"))?,
            signature: signature.ok_or(NotificationError::Missing("Signature"))?,
        })
    }
}

/// What the notification asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindAction {
    /// `bindAction` 0: bind.
    Bind,
    /// `bindAction` 1: unbind.
    Unbind,
}

/// Which bytes the signature covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedOver {
    /// The Base64 text of `bindRequest` as received.
    Base64Text,
    /// The decoded JSON bytes.
    JsonBytes,
}

impl SignedOver {
    /// For the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base64Text => "base64_text",
            Self::JsonBytes => "json_bytes",
        }
    }
}

/// A verified, decoded notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Partner user.
    pub x_user_id: XUserId,
    /// Huawei side.
    pub fields: MappingFields,
    /// Bind or unbind.
    pub action: BindAction,
    /// Which bytes the signature covered.
    pub signed_over: SignedOver,
    /// Digest of the signed JSON payload: the same whichever bytes the signature covered, so it
    /// identifies the notification for replay detection.
    pub digest: String,
}

/// Verifies the signature with the site's SP signing keys, then decodes the JSON.
pub fn verify(form: &BindForm, keys: &[PKey<Public>]) -> Result<Notification, NotificationError> {
    let alg =
        SigAlg::from_uri(&form.sig_alg).map_err(|_| NotificationError::AlgorithmNotAllowed)?;
    let signature = STANDARD
        .decode(form.signature.trim())
        .map_err(|_| NotificationError::BadSignature)?;
    if signature.is_empty() {
        return Err(NotificationError::BadSignature);
    }
    // No trimming: with the JSON-bytes reading of the signature, whitespace around the Base64
    // text would be unsigned, and a replay with a space appended would look like a new message.
    let json = STANDARD
        .decode(&form.bind_request)
        .map_err(|e| NotificationError::BadPayload(format!("base64: {e}")))?;
    let signed_over = if alg.verify_any(keys, form.bind_request.as_bytes(), &signature) {
        SignedOver::Base64Text
    } else if alg.verify_any(keys, &json, &signature) {
        SignedOver::JsonBytes
    } else {
        return Err(NotificationError::BadSignature);
    };
    let (x_user_id, fields, action) = decode_payload(&json)?;
    Ok(Notification {
        x_user_id,
        fields,
        action,
        signed_over,
        digest: crate::random::token_digest(&String::from_utf8_lossy(&json)),
    })
}

/// Reads `xUserId`, `domainId`, `bindAction` (required; string or number), and `domainName`,
/// `userName`, `userId` when present. Unknown fields are ignored.
pub(crate) fn decode_payload(
    json: &[u8],
) -> Result<(XUserId, MappingFields, BindAction), NotificationError> {
    let value: Value = serde_json::from_slice(json).map_err(|e| {
        NotificationError::BadPayload(format!("json: {}", crate::json_error::describe(&e)))
    })?;
    let obj = value
        .as_object()
        .ok_or_else(|| NotificationError::BadPayload("not a JSON object".into()))?;
    let text = |name: &'static str| -> Result<Option<String>, NotificationError> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(NotificationError::MissingField(name)),
        }
    };
    let x_user_id =
        XUserId::parse(&text("xUserId")?.ok_or(NotificationError::MissingField("xUserId"))?)?;
    let domain_id = fields::DomainId::parse(
        &text("domainId")?.ok_or(NotificationError::MissingField("domainId"))?,
    )?;
    let action = match text("bindAction")?
        .ok_or(NotificationError::MissingField("bindAction"))?
        .trim()
    {
        "0" => BindAction::Bind,
        "1" => BindAction::Unbind,
        _ => return Err(NotificationError::BadAction),
    };
    let optional =
        |name: &'static str, field: &'static str| -> Result<Option<String>, NotificationError> {
            Ok(text(name)?
                .filter(|v| !v.is_empty())
                .map(|v| fields::reported_name(field, &v))
                .transpose()?)
        };
    Ok((
        x_user_id,
        MappingFields {
            domain_id,
            domain_name: optional("domainName", "domain_name")?,
            user_id: optional("userId", "user_id")?,
            user_name: optional("userName", "user_name")?,
        },
        action,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::hash::MessageDigest;
    use openssl::sign::Signer;

    /// Huawei's published example (docs/protocol.md §Bind-result), case restored.
    const EXAMPLE: &str = "eyJkb21haW5OYW1lIjoieW9uZ3poaSIsImRvbWFpbklkIjoieW9uZ3poaWlkIiwieFVzZXJJZCI6Inlvbmd6aGl4IiwiYmluZEFjdGlvbiI6MX0=";

    fn signed(key: &PKey<openssl::pkey::Private>, data: &[u8]) -> String {
        let mut s = Signer::new(MessageDigest::sha256(), key).unwrap();
        s.update(data).unwrap();
        STANDARD.encode(s.sign_to_vec().unwrap())
    }

    fn keypair() -> (PKey<openssl::pkey::Private>, Vec<PKey<Public>>) {
        let (key, cert) = crate::keys::generate(2048, 1, "sp").unwrap();
        (key, vec![cert.public_key().unwrap()])
    }

    #[test]
    fn decodes_huawei_example_signed_either_way() {
        let (key, keys) = keypair();
        let json = STANDARD.decode(EXAMPLE).unwrap();
        for (data, over) in [
            (EXAMPLE.as_bytes().to_vec(), SignedOver::Base64Text),
            (json, SignedOver::JsonBytes),
        ] {
            let form = BindForm {
                bind_request: EXAMPLE.into(),
                sig_alg: saml::ns::RSA_SHA256.into(),
                signature: signed(&key, &data),
            };
            let n = verify(&form, &keys).unwrap();
            assert_eq!(n.signed_over, over);
            assert_eq!(n.x_user_id.as_str(), "yongzhix");
            assert_eq!(n.fields.domain_id, "yongzhiid");
            assert_eq!(n.fields.domain_name.as_deref(), Some("yongzhi"));
            assert_eq!(
                n.action,
                BindAction::Unbind,
                "the example's bindAction is the number 1"
            );
        }
    }

    #[test]
    fn refuses_tampering_other_keys_and_weak_algorithms() {
        let (key, keys) = keypair();
        let form = BindForm {
            bind_request: EXAMPLE.into(),
            sig_alg: saml::ns::RSA_SHA256.into(),
            signature: signed(&key, EXAMPLE.as_bytes()),
        };
        let mut tampered = form.clone();
        tampered.bind_request = STANDARD.encode(
            br#"{"domainName":"yongzhi","domainId":"other","xUserId":"yongzhix","bindAction":1}"#,
        );
        assert_eq!(
            verify(&tampered, &keys),
            Err(NotificationError::BadSignature)
        );
        let (_, other_keys) = keypair();
        assert_eq!(
            verify(&form, &other_keys),
            Err(NotificationError::BadSignature)
        );
        let mut sha1 = form.clone();
        sha1.sig_alg = "http://www.w3.org/2000/09/xmldsig#rsa-sha1".into();
        assert_eq!(
            verify(&sha1, &keys),
            Err(NotificationError::AlgorithmNotAllowed)
        );
        let mut empty = form;
        empty.signature = String::new();
        assert_eq!(verify(&empty, &keys), Err(NotificationError::BadSignature));
    }

    #[test]
    fn payload_rules() {
        let ok = |j: &str| decode_payload(j.as_bytes());
        assert!(ok(r#"{"xUserId":"u","domainId":"d","bindAction":"0","extra":[1]}"#).is_ok());
        assert_eq!(
            ok(r#"{"xUserId":"u","domainId":"d","bindAction":0}"#)
                .unwrap()
                .2,
            BindAction::Bind
        );
        for (bad, field) in [
            (r#"{"domainId":"d","bindAction":0}"#, "xUserId"),
            (r#"{"xUserId":"u","bindAction":0}"#, "domainId"),
            (r#"{"xUserId":"u","domainId":"d"}"#, "bindAction"),
            (
                r#"{"xUserId":{"a":1},"domainId":"d","bindAction":0}"#,
                "xUserId",
            ),
        ] {
            assert_eq!(
                ok(bad).unwrap_err(),
                NotificationError::MissingField(field),
                "{bad}"
            );
        }
        assert_eq!(
            ok(r#"{"xUserId":"u","domainId":"d","bindAction":2}"#).unwrap_err(),
            NotificationError::BadAction
        );
        assert!(matches!(ok("[1]"), Err(NotificationError::BadPayload(_))));
        assert!(matches!(
            ok(r#"{"xUserId":"u","domainId":"d e","bindAction":0}"#),
            Err(NotificationError::Field(_))
        ));
    }

    #[test]
    fn form_rules() {
        assert!(BindForm::parse(b"bindRequest=a&SigAlg=b&Signature=c&x=1").is_ok());
        assert_eq!(
            BindForm::parse(b"bindRequest=a&SigAlg=b"),
            Err(NotificationError::Missing("Signature"))
        );
        assert_eq!(
            BindForm::parse(b"bindRequest=a&bindRequest=a&SigAlg=b&Signature=c"),
            Err(NotificationError::BadForm("bindRequest"))
        );
        let long = format!(
            "bindRequest={}&SigAlg=b&Signature=c",
            "a".repeat(MAX_BIND_REQUEST + 1)
        );
        assert_eq!(
            BindForm::parse(long.as_bytes()),
            Err(NotificationError::TooLong("bindRequest"))
        );
        // '+' in a form value is a space; Huawei URL-encodes Base64 '+' as %2B.
        assert_eq!(
            BindForm::parse(b"bindRequest=a%2Bb&SigAlg=b&Signature=c")
                .unwrap()
                .bind_request,
            "a+b"
        );
    }
}
