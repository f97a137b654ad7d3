//! Account mappings: (site, x_user_id) → Huawei account, with a reverse index
//! (site, domain_id) → x_user_id and an ordered event log. Every change touches the mapping, the
//! reverse index, the listing index and the log in one atomic step (a Lua script in Redis, one
//! critical section in memory), so they never disagree.

use serde::{Deserialize, Serialize};

use crate::config::SiteName;
use crate::huawei::fields::{DomainId, XUserId};

/// Where a mapping came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingSource {
    /// Registered by the partner platform through the API (or its bulk import).
    Api,
    /// Reported by Huawei's bind-result notification.
    BindNotification,
}

impl MappingSource {
    /// The snake_case name used in JSON and the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::BindNotification => "bind_notification",
        }
    }

    /// Parses [`MappingSource::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api" => Some(Self::Api),
            "bind_notification" => Some(Self::BindNotification),
            _ => None,
        }
    }
}

/// The Huawei side of a mapping, as supplied by the partner or Huawei.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingFields {
    /// Huawei account id (`domain_id` = `customer_id`).
    pub domain_id: DomainId,
    /// Huawei account name; needed later for token exchange (docs/protocol.md §Mapping).
    pub domain_name: Option<String>,
    /// Huawei IAM user id.
    pub user_id: Option<String>,
    /// Huawei IAM user name.
    pub user_name: Option<String>,
}

/// A stored mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Huawei account id.
    pub domain_id: DomainId,
    /// Huawei account name.
    pub domain_name: Option<String>,
    /// Huawei IAM user id.
    pub user_id: Option<String>,
    /// Huawei IAM user name.
    pub user_name: Option<String>,
    /// Who registered it first.
    pub source: MappingSource,
    /// Unix time of creation.
    pub created_at: i64,
    /// Unix time of the last change.
    pub updated_at: i64,
}

impl Mapping {
    /// A new mapping created now.
    pub fn new(fields: MappingFields, source: MappingSource, now: i64) -> Self {
        Self {
            domain_id: fields.domain_id,
            domain_name: fields.domain_name,
            user_id: fields.user_id,
            user_name: fields.user_name,
            source,
            created_at: now,
            updated_at: now,
        }
    }

    /// True when the Huawei-side content equals `other`'s (timestamps and source aside).
    pub fn same_content(&self, other: &Self) -> bool {
        self.domain_id == other.domain_id
            && self.domain_name == other.domain_name
            && self.user_id == other.user_id
            && self.user_name == other.user_name
    }
}

/// Result of a bind (create or replace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindOutcome {
    /// A new mapping.
    Created(Mapping),
    /// An existing mapping changed.
    Updated(Mapping),
    /// The same content was already stored; nothing changed, no event.
    Unchanged(Mapping),
    /// The domain_id belongs to another partner user on this site; nothing changed.
    Conflict {
        /// The x_user_id that holds the domain_id.
        owner: String,
    },
    /// The change needed a pending bind jump and none was live; nothing changed.
    NoJump,
}

/// Result of an unbind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnbindOutcome {
    /// The mapping was removed.
    Removed(Mapping),
    /// There was no mapping.
    NotFound,
    /// The mapping names another domain_id than the one given; nothing changed.
    OtherDomain(Mapping),
    /// The change needed a pending bind jump and none was live; nothing changed.
    NoJump,
}

/// Kind of change in the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A new mapping.
    Bound,
    /// A changed mapping.
    Updated,
    /// A removed mapping.
    Unbound,
    /// A verified bind-result notification that changed nothing because it was not tied to a
    /// jump this bridge made for that user in that browser (docs/security.md A15); `reason` says
    /// why.
    Unconfirmed,
}

impl EventKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bound => "bound",
            Self::Updated => "updated",
            Self::Unbound => "unbound",
            Self::Unconfirmed => "unconfirmed",
        }
    }

    /// Parses [`EventKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bound" => Some(Self::Bound),
            "updated" => Some(Self::Updated),
            "unbound" => Some(Self::Unbound),
            "unconfirmed" => Some(Self::Unconfirmed),
            _ => None,
        }
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log (opaque cursor, ordered).
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// Site.
    pub site: String,
    /// Partner user.
    pub x_user_id: String,
    /// Huawei account id.
    pub domain_id: DomainId,
    /// Huawei account name, when known.
    pub domain_name: Option<String>,
    /// What caused it (`api` or `bind_notification`).
    pub source: MappingSource,
    /// Who caused it: `api:<key fingerprint>`, `import:<key fingerprint>` or `huawei`.
    pub actor: String,
    /// Unix time.
    pub at: i64,
    /// For `unconfirmed`: what the notification asked for (`bind` or `unbind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// For `unconfirmed`: why it was not applied (see [`UnconfirmedReason`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why a verified notification was not applied (docs/security.md A15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnconfirmedReason {
    /// The browser carried no live bridge session.
    NoSession,
    /// The browser's session is of another site.
    OtherSite,
    /// The browser's session is of another partner user.
    OtherUser,
    /// The session has no pending jump: no assertion was issued in it within the bind window,
    /// or that jump's notification was already applied.
    NoPendingJump,
}

impl UnconfirmedReason {
    /// The snake_case name used in the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoSession => "no_session",
            Self::OtherSite => "other_site",
            Self::OtherUser => "other_user",
            Self::NoPendingJump => "no_pending_jump",
        }
    }
}

/// An `unconfirmed` event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconfirmed<'a> {
    /// Site and partner user named by the notification; source and actor are Huawei's.
    pub change: Change<'a>,
    /// The Huawei account it named.
    pub fields: &'a MappingFields,
    /// `bind` or `unbind`.
    pub action: &'a str,
    /// Why it was not applied.
    pub reason: UnconfirmedReason,
}

/// Who is changing a mapping, for the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<'a> {
    /// Site.
    pub site: &'a SiteName,
    /// Partner user.
    pub x_user_id: &'a XUserId,
    /// Source recorded on new mappings and in the event.
    pub source: MappingSource,
    /// Actor recorded in the event.
    pub actor: &'a str,
    /// Unix time.
    pub now: i64,
}

/// An event-log position `<millis>-<seq>`, the shape of Redis stream ids, used by both backends
/// so cursors look the same whichever store runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventId(pub u64, pub u64);

impl EventId {
    /// Parses `<millis>-<seq>`; anything else is not a cursor.
    pub fn parse(s: &str) -> Option<Self> {
        let (ms, seq) = s.split_once('-')?;
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(Self(ms.parse().ok()?, seq.parse().ok()?))
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

/// Largest page of mappings or events.
pub const MAX_PAGE: usize = 1000;
