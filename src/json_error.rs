//! serde's error messages (JSON bodies and query strings), made safe to return and to log.
//!
//! serde quotes what it could not accept: a value (``invalid type: string "li.lei@example.com"``,
//! ``integer `8613812345678` ``) or an unknown field name, and both may be personal data the
//! partner put in the wrong place. The description keeps the rule, the expected names and the
//! position, drops the quoted input, and is bounded in length (an import answers every line).

/// Longest description returned.
const MAX_LEN: usize = 160;

/// What went wrong, without any quoted input, at most [`MAX_LEN`] characters.
pub fn describe(e: &serde_json::Error) -> String {
    describe_message(&e.to_string())
}

/// A query string that did not deserialize, described like [`describe`]. The extractor's text is
/// `Failed to deserialize query string: <field path>: <serde message>`; the field path is input
/// too (an unknown parameter's own name), so only the serde message is kept.
pub fn describe_query(message: &str) -> String {
    let message = message
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(message);
    let serde_message = SERDE_STARTS
        .iter()
        .filter_map(|start| message.find(start))
        .min()
        .map_or("the query string could not be read", |at| &message[at..]);
    describe_message(serde_message)
}

/// How serde's messages begin; what comes before is a field path, not part of the rule.
const SERDE_STARTS: &[&str] = &[
    "unknown field",
    "unknown variant",
    "missing field",
    "duplicate field",
    "invalid type",
    "invalid value",
    "invalid length",
    "invalid digit",
    "number too large",
    "cannot parse",
];

/// [`describe`] for the text of a serde error.
fn describe_message(message: &str) -> String {
    let message = message.to_owned();
    let redacted = if message.starts_with("unknown field") || message.starts_with("unknown variant")
    {
        redact_first_quoted(&message)
    } else if ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|p| message.starts_with(p))
    {
        redact_all_quoted(&message)
    } else {
        message
    };
    match redacted.char_indices().nth(MAX_LEN) {
        Some((cut, _)) => format!("{}…", &redacted[..cut]),
        None => redacted,
    }
}

/// Replaces the text inside every `` `…` `` and `"…"` pair.
fn redact_all_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    for c in message.chars() {
        match open {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None if c == '`' || c == '"' => {
                out.push(c);
                open = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}

/// Replaces the text inside the first `` `…` `` pair only (the unknown name; the expected names
/// after it are ours).
fn redact_first_quoted(message: &str) -> String {
    let Some(start) = message.find('`') else {
        return message.to_owned();
    };
    let Some(len) = message[start + 1..].find('`') else {
        return message.to_owned();
    };
    format!(
        "{}`…`{}",
        &message[..start],
        &message[start + 1 + len + 1..]
    )
}

#[cfg(test)]
mod tests {
    use super::{describe, describe_query};

    #[test]
    fn query_errors_keep_the_rule_and_drop_the_parameter_name() {
        let d = describe_query(
            "Failed to deserialize query string: li.lei@example.com: unknown field `li.lei@example.com`, expected one of `domain_id`, `cursor`",
        );
        assert_eq!(
            d,
            "unknown field `…`, expected one of `domain_id`, `cursor`"
        );
        assert_eq!(
            describe_query(
                "Failed to deserialize query string: limit: invalid digit found in string"
            ),
            "invalid digit found in string"
        );
        assert_eq!(
            describe_query("something else"),
            "the query string could not be read"
        );
    }

    fn error_of(json: &str) -> serde_json::Error {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            x_user_id: String,
        }
        serde_json::from_str::<T>(json).unwrap_err()
    }

    #[test]
    fn quoted_input_never_survives() {
        for (json, secret) in [
            (r#"{"x_user_id": 8613812345678}"#, "8613812345678"),
            (r#""li.lei@example.com""#, "li.lei@example.com"),
            (r#"{"0086-13900000001": 1}"#, "0086-13900000001"),
            (r#"{"x_user_id": ["a"], "x": 1}"#, "\"a\""),
        ] {
            let d = describe(&error_of(json));
            assert!(!d.contains(secret), "{d}");
            assert!(d.contains("line 1"), "{d}");
        }
        let d = describe(&error_of(r#"{"mobile_no": "1"}"#));
        assert!(
            d.starts_with("unknown field `…`, expected `x_user_id`"),
            "{d}"
        );
        let d = describe(&error_of("{}"));
        assert!(d.starts_with("missing field `x_user_id`"), "{d}");
    }

    #[test]
    fn descriptions_are_bounded() {
        let long_name = "n".repeat(5000);
        let d = describe(&error_of(&format!("{{\"{long_name}\": 1}}")));
        assert!(d.chars().count() <= 161, "{}", d.len());
    }
}
