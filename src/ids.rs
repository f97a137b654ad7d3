//! The one place that makes the XML ids of what we sign (Response, Assertion, LogoutResponse)
//! and of a session (NameID, SessionIndex). Injected like the [`crate::clock`], so a test can fix
//! them and compare a signed Response byte for byte with a golden file.

use std::sync::atomic::{AtomicU64, Ordering};

use openssl::error::ErrorStack;

/// Source of new XML ids (`_` followed by 40 lowercase hex characters: an NCName).
pub trait XmlIds: Send + Sync + 'static {
    /// A new id.
    fn next_id(&self) -> Result<String, ErrorStack>;
}

/// 160-bit random ids from OpenSSL's CSPRNG: what every real bridge uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl XmlIds for RandomIds {
    fn next_id(&self) -> Result<String, ErrorStack> {
        crate::random::xml_id()
    }
}

/// Ids counting up from 1 (`_000…001`), for reproducible output in tests. Never for service:
/// an id an attacker can predict lets them prepare a replay or a wrapped signature.
#[derive(Debug, Default)]
pub struct SequentialIds {
    issued: AtomicU64,
}

impl XmlIds for SequentialIds {
    fn next_id(&self) -> Result<String, ErrorStack> {
        let n = self.issued.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(format!("_{n:040x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sources_make_ncname_ids_of_the_same_shape() {
        let seq = SequentialIds::default();
        assert_eq!(seq.next_id().unwrap(), format!("_{}1", "0".repeat(39)));
        assert_eq!(seq.next_id().unwrap(), format!("_{}2", "0".repeat(39)));
        let random = RandomIds.next_id().unwrap();
        assert_eq!(random.len(), 41);
        assert_ne!(random, RandomIds.next_id().unwrap());
    }
}
