//! Partner-supplied fields, checked against Huawei's rules (docs/protocol.md §Attributes) once,
//! at the edge, and carried as checked types afterwards.

use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::{
    DefaultIgnorableCodePoint, GeneralCategory, GeneralCategoryGroup, WhiteSpace,
};
use icu_properties::{CodePointMapData, CodePointSetData};
use serde::{Deserialize, Serialize};
use url::Url;

/// Why a field was refused; the message names the field and the rule so the partner can fix it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {rule}")]
pub struct FieldError {
    /// JSON field name.
    pub field: &'static str,
    /// The rule that failed, in words.
    pub rule: &'static str,
}

fn fail<T>(field: &'static str, rule: &'static str) -> Result<T, FieldError> {
    Err(FieldError { field, rule })
}

/// Characters XML 1.0 cannot carry or that are control characters (Unicode Cc), plus the
/// non-characters U+FFFE/U+FFFF.
fn is_control(c: char) -> bool {
    c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}'
}

/// The partner platform's user id (`xUserId` = `xAccountId`): 1 to 128 characters (Huawei's
/// `xaccount_id` limit, docs/protocol.md §Attributes) of any script, but never one that can look
/// like another id (docs/security.md A21): no white space at either end, no control (Cc) or format
/// (Cf) characters (bidi overrides, zero-width joiners, soft hyphens), and in Unicode NFC, so `é`
/// typed two ways is one id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct XUserId(String);

impl XUserId {
    /// Checks and wraps.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let n = s.chars().count();
        if n == 0 || n > 128 {
            return fail("x_user_id", "must be 1 to 128 characters");
        }
        check_unambiguous("x_user_id", s)?;
        Ok(Self(s.to_owned()))
    }

    /// For reading, removing and ending the sessions of an id stored before the rules above
    /// (release 0.1 accepted any id without control characters): such a mapping must stay
    /// reachable so the partner can remove it. Never used to create anything.
    pub fn parse_existing(s: &str) -> Result<Self, FieldError> {
        let n = s.chars().count();
        if n == 0 || n > 128 {
            return fail("x_user_id", "must be 1 to 128 characters");
        }
        if s.chars().any(is_control) {
            return fail("x_user_id", "must not contain control characters");
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Refuses text that renders like other text (docs/security.md A21): white space at either end,
/// control and format characters anywhere, and text not in NFC. Used for identifiers and for
/// names shown to people on confirmation pages.
fn check_unambiguous(field: &'static str, s: &str) -> Result<(), FieldError> {
    let white = CodePointSetData::new::<WhiteSpace>();
    let edge = |c: Option<char>| c.is_some_and(|c| white.contains(c));
    if edge(s.chars().next()) || edge(s.chars().next_back()) {
        return fail(field, "must not start or end with white space");
    }
    let category = CodePointMapData::<GeneralCategory>::new();
    let hidden = GeneralCategoryGroup::Control.union(GeneralCategoryGroup::Format);
    // Default-ignorable code points render as nothing (U+034F, variation selectors, the Hangul
    // fillers U+115F/U+3164); U+2800 renders as a blank without being white space.
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    if s.chars().any(|c| {
        is_control(c)
            || hidden.contains(category.get(c))
            || ignorable.contains(c)
            || c == '\u{2800}'
    }) {
        return fail(
            field,
            "must not contain control or invisible format characters (such as bidi overrides or zero-width characters)",
        );
    }
    if !ComposingNormalizerBorrowed::new_nfc().is_normalized(s) {
        return fail(field, "must be in Unicode normalization form C (NFC)");
    }
    Ok(())
}

/// A name the partner gives for a user, shown only to that user on the confirmation page (never
/// sent to Huawei, never logged): 1 to 64 characters, unambiguous like an id.
pub fn display_name(s: &str) -> Result<String, FieldError> {
    let n = s.chars().count();
    if n == 0 || n > 64 {
        return fail("display_name", "must be 1 to 64 characters");
    }
    check_unambiguous("display_name", s)?;
    Ok(s.to_owned())
}

/// E-mail as Huawei checks it (docs/protocol.md §Attributes): at most 64 characters, a dot-atom
/// local part and a hostname of LDH labels.
pub fn email(s: &str) -> Result<String, FieldError> {
    const RULE: &str = "must be an e-mail address of at most 64 characters (name@example.com)";
    let Some((local, domain)) = s.rsplit_once('@') else {
        return fail("email", RULE);
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let domain_ok = !domain.is_empty()
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if s.len() > 64 || !local_ok || !domain_ok {
        return fail("email", RULE);
    }
    Ok(s.to_owned())
}

/// Mobile number as `country code-number` (docs/protocol.md §Attributes "国家码-手机号码"; Huawei's
/// own checker uses `0086-13812345678`). Huawei has not said whether `86-…` is accepted too
/// (docs/protocol.md Q6), so both a 1–4 digit country code and a leading `00` form pass; at most
/// 32 characters.
pub fn mobile(s: &str) -> Result<String, FieldError> {
    const RULE: &str = "must be country code, '-', number, digits only (e.g. 0086-13812345678), at most 32 characters";
    let Some((cc, number)) = s.split_once('-') else {
        return fail("mobile", RULE);
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if s.len() > 32 || !digits(cc) || cc.len() > 4 || !digits(number) || number.len() < 5 {
        return fail("mobile", RULE);
    }
    Ok(s.to_owned())
}

/// The `name` attribute becomes the proposed Huawei account name, so it follows the account-name
/// rules (docs/protocol.md §Attributes): 5–32 characters of `[A-Za-z0-9_-]`, not starting with a
/// digit, not starting with `op_` or `shadow_`.
pub fn account_name(field: &'static str, s: &str) -> Result<String, FieldError> {
    const RULE: &str = "must be 5-32 characters of letters, digits, '_' or '-', not starting with a digit, 'op_' or 'shadow_'";
    let ok = (5..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !s.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && !s.starts_with("op_")
        && !s.starts_with("shadow_");
    if ok {
        Ok(s.to_owned())
    } else {
        fail(field, RULE)
    }
}

/// A `service` target: an absolute https URL on one of the site's allowed hosts, without
/// credentials, on the default port. Returns the URL as the parser serialized it, so what we
/// checked is exactly what we send (docs/security.md A9).
pub fn service_url(s: &str, allowed_hosts: &[String]) -> Result<Url, FieldError> {
    const RULE: &str = "must be an https URL on one of the site's allowed service hosts";
    if s.len() > 2048
        || s.chars()
            .any(|c| is_control(c) || c == '\\' || c.is_whitespace())
    {
        return fail("service", RULE);
    }
    let Ok(url) = Url::parse(s) else {
        return fail("service", RULE);
    };
    let host_ok = url
        .host_str()
        .is_some_and(|h| allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(h)));
    if url.scheme() != "https"
        || !host_ok
        || !url.username().is_empty()
        || url.password().is_some()
        || url.port().is_some()
    {
        return fail("service", RULE);
    }
    Ok(url)
}

/// A Huawei account id (`domain_id`, docs/protocol.md §Attributes): 1–64 characters of letters,
/// digits, `-`, `_`. A type of its own because a mapping carries four similar strings (domain
/// id and name, IAM user id and name) and only this one keys the reverse index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DomainId(String);

impl DomainId {
    /// Checks and wraps.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            fail(
                "domain_id",
                "must be 1-64 characters of letters, digits, '-' or '_'",
            )
        }
    }

    /// An id read back from the store, which holds only ids that passed [`DomainId::parse`].
    pub(crate) fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for DomainId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for DomainId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Huawei account name as Huawei itself reports it (bind notification): 1–64 characters without
/// control characters. The stricter partner-side rule is [`account_name`].
pub fn reported_name(field: &'static str, s: &str) -> Result<String, FieldError> {
    let n = s.chars().count();
    if (1..=64).contains(&n) && !s.chars().any(is_control) {
        Ok(s.to_owned())
    } else {
        fail(field, "must be 1-64 characters without control characters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_user_id_rules() {
        assert!(XUserId::parse("u1").is_ok());
        assert!(XUserId::parse("用户<&>]]><!---->").is_ok());
        assert!(XUserId::parse("a b").is_ok(), "inner spaces are fine");
        assert!(XUserId::parse("li.lei@example.com").is_ok());
        assert!(XUserId::parse(&"字".repeat(128)).is_ok());
        assert!(XUserId::parse(&"字".repeat(129)).is_err());
        assert!(XUserId::parse("").is_err());
        for bad in ["a\u{0}b", "a\nb", "a\u{7f}", "a\u{85}", "\u{FFFE}"] {
            assert!(XUserId::parse(bad).is_err(), "{bad:?}");
        }
        let rule = |s: &str| XUserId::parse(s).unwrap_err().rule;
        // White space at either end, including non-ASCII spaces.
        for bad in [" u1", "u1 ", "u1\t", "\u{3000}u1", "u1\u{A0}", "\u{2003}"] {
            assert!(rule(bad).contains("white space"), "{bad:?}");
        }
        // Bidi overrides and isolates, zero-width characters, BOM, soft hyphen, tags (all Cf).
        for bad in [
            "admin\u{202E}moc.evil",
            "a\u{2066}b",
            "zero\u{200B}width",
            "a\u{200D}b",
            "\u{FEFF}u1",
            "soft\u{AD}hyphen",
            "tag\u{E0041}",
            // Invisible without being Cf: default-ignorable code points and a blank symbol.
            "admin\u{34F}",
            "admin\u{3164}",
            "admin\u{115F}",
            "admin\u{FE0F}",
            "admin\u{2800}",
        ] {
            assert!(rule(bad).contains("format characters"), "{bad:?}");
        }
        // What release 0.1 stored stays readable and removable, never creatable.
        assert!(XUserId::parse_existing("legacy ").is_ok());
        assert!(XUserId::parse_existing("a\u{200B}b").is_ok());
        assert!(XUserId::parse_existing("a\nb").is_err());
        assert!(XUserId::parse_existing("").is_err());
        // "é" as e + combining acute is not NFC; the precomposed form is.
        assert!(rule("caf\u{65}\u{301}").contains("NFC"));
        assert!(XUserId::parse("caf\u{E9}").is_ok());
        // Hangul jamo sequences compose under NFC.
        assert!(rule("\u{1100}\u{1161}").contains("NFC"));
    }

    #[test]
    fn display_name_rules() {
        assert!(display_name("张三 Zhang San").is_ok());
        assert!(display_name("").is_err());
        assert!(display_name(&"名".repeat(65)).is_err());
        assert!(display_name("Zhang\u{202E}naS").is_err());
        assert!(display_name(" Zhang").is_err());
    }

    #[test]
    fn email_rules() {
        assert!(email("a.b+c&d@example.com").is_ok());
        for bad in [
            "",
            "a",
            "a@",
            "@b.c",
            "a b@c.d",
            "a@-b.c",
            "a<b@c.d",
            &format!("{}@b.cn", "a".repeat(60)),
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mobile_rules() {
        assert!(mobile("0086-13812345678").is_ok());
        assert!(mobile("86-13812345678").is_ok());
        for bad in [
            "13812345678",
            "+86-138",
            "0086-1381234567x",
            "00861-13812345678",
            "0086-",
        ] {
            assert!(mobile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn account_name_rules() {
        assert!(account_name("name", "zhang_san-1").is_ok());
        for bad in [
            "abcd",
            "1abcde",
            "op_abcde",
            "shadow_abc",
            "张三丰abc",
            "a b cde",
            &"a".repeat(33),
        ] {
            assert!(account_name("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn domain_rules() {
        assert!(DomainId::parse("0a1b2c3d4e5f4a5b8c9d0e1f2a3b4c5d").is_ok());
        for bad in ["", "a b", "a/b", &"a".repeat(65), "中"] {
            assert!(DomainId::parse(bad).is_err(), "{bad}");
        }
        assert!(reported_name("user_name", "张三").is_ok());
        assert!(reported_name("user_name", "a\u{1}").is_err());
        assert!(reported_name("user_name", "").is_err());
    }

    #[test]
    fn service_rules() {
        let hosts = vec!["console.huaweicloud.com".to_owned()];
        assert_eq!(
            service_url("https://console.huaweicloud.com/iam/?x='1'", &hosts)
                .unwrap()
                .as_str(),
            "https://console.huaweicloud.com/iam/?x=%271%27"
        );
        for bad in [
            "http://console.huaweicloud.com/",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "https:evil.example",
            "https://console.huaweicloud.com@evil.example/",
            "https://user@console.huaweicloud.com/",
            "https://console.huaweicloud.com.evil.example/",
            "https://console.huaweicloud.com:8443/",
            "https://console.huaweicloud.com/\r\nx",
            "https:\\\\console.huaweicloud.com",
            "javascript:alert(1)",
        ] {
            assert!(service_url(bad, &hosts).is_err(), "{bad}");
        }
    }
}
