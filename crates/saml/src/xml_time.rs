//! `xs:dateTime` as SAML uses it: always UTC, written with milliseconds like Huawei's samples
//! (`2018-10-30T08:21:41.740Z`).

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Formats `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses an `xs:dateTime` with an explicit zone (`Z` or `±hh:mm`). SAML requires UTC
/// (saml-core §1.3.3), and a time without a zone is ambiguous, so it is refused.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_with_millis() {
        assert_eq!(
            format(datetime!(2018-10-30 08:21:41.740 UTC)),
            "2018-10-30T08:21:41.740Z"
        );
    }

    #[test]
    fn parses_huawei_sample_and_refuses_zoneless() {
        assert_eq!(
            parse("2018-11-26T09:11:58.446Z"),
            Some(datetime!(2018-11-26 09:11:58.446 UTC))
        );
        assert_eq!(
            parse("2018-11-26T17:11:58Z"),
            Some(datetime!(2018-11-26 17:11:58 UTC))
        );
        assert_eq!(parse("2018-11-26T09:11:58"), None);
        assert_eq!(parse("yesterday"), None);
    }
}
