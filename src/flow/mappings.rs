//! The partner API over account mappings, the event log and user sessions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{Bridge, FlowError, unix};
use crate::config::Site;
use crate::huawei::fields::{self, DomainId, FieldError, XUserId};
use crate::store::{
    BindOutcome, Change, Event, EventId, Mapping, MappingFields, MappingSource, UnbindOutcome,
};

/// Default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// Most lines one import may carry.
pub const MAX_IMPORT_LINES: usize = 10_000;

/// Body of `PUT /api/v1/sites/{site}/mappings/{x_user_id}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingRequest {
    /// Huawei account id.
    pub domain_id: String,
    /// Huawei account name (Create Customer's `domain_name`).
    pub domain_name: String,
    /// Huawei IAM user id.
    pub user_id: Option<String>,
    /// Huawei IAM user name.
    pub user_name: Option<String>,
}

/// One line of an import.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportLine {
    pub(crate) x_user_id: String,
    pub(crate) domain_id: String,
    pub(crate) domain_name: String,
    pub(crate) user_id: Option<String>,
    pub(crate) user_name: Option<String>,
}

/// A stored mapping with the key it is stored under. Not serializable: the API shows it through
/// its own view type (`web::api::views`), so a change to the store cannot change the API's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteMapping {
    /// Site.
    pub site: String,
    /// Partner user.
    pub x_user_id: String,
    /// The mapping.
    pub mapping: Mapping,
}

/// What a PUT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutResult {
    /// New mapping (201).
    Created,
    /// Changed (200).
    Updated,
    /// Identical content was already stored (200, no event).
    Unchanged,
}

/// A page of mappings.
#[derive(Debug, Clone)]
pub struct MappingPage {
    /// The mappings, in x_user_id order.
    pub mappings: Vec<SiteMapping>,
    /// Cursor for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A page of events.
#[derive(Debug, Clone)]
pub struct EventPage {
    /// Events, oldest first.
    pub events: Vec<Event>,
    /// Cursor to pass as `after` next time (the last event seen, or the given cursor).
    pub next_cursor: Option<String>,
}

/// Per-line result of an import.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportLineResult {
    /// 1-based line number.
    pub line: usize,
    /// The user, when the line could be read.
    pub x_user_id: Option<String>,
    /// `created`, `updated`, `unchanged`, `conflict` or `invalid`.
    pub status: String,
    /// Why the line failed.
    pub error: Option<String>,
}

/// Result of an import.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportReport {
    /// Counts per status.
    pub summary: std::collections::BTreeMap<String, usize>,
    /// One entry per non-empty line.
    pub results: Vec<ImportLineResult>,
}

pub(crate) fn validated(
    req_domain_id: &str,
    domain_name: &str,
    user_id: Option<String>,
    user_name: Option<String>,
) -> Result<MappingFields, FieldError> {
    Ok(MappingFields {
        domain_id: DomainId::parse(req_domain_id)?,
        domain_name: Some(fields::account_name("domain_name", domain_name)?),
        user_id: user_id
            .filter(|v| !v.is_empty())
            .map(|v| fields::reported_name("user_id", &v))
            .transpose()?,
        user_name: user_name
            .filter(|v| !v.is_empty())
            .map(|v| fields::reported_name("user_name", &v))
            .transpose()?,
    })
}

/// The store asked for a bind jump the API never passes: a defect, reported as one.
fn no_jump() -> FlowError {
    FlowError::Internal("store reported a missing bind jump for an API change".into())
}

fn limit(raw: Option<usize>) -> Result<usize, FieldError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=crate::store::mappings::MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(FieldError {
            field: "limit",
            rule: "must be between 1 and 1000",
        }),
    }
}

impl Bridge {
    /// A change made through the partner API, now.
    fn api_change<'a>(&self, site: &'a Site, uid: &'a XUserId, actor: &'a str) -> Change<'a> {
        Change {
            site: &site.name,
            x_user_id: uid,
            source: MappingSource::Api,
            actor,
            now: unix(self.clock.now()),
        }
    }

    fn known_site(&self, name: &str) -> Result<&Site, FlowError> {
        self.settings.site(Some(name)).ok_or(FlowError::UnknownSite)
    }

    /// Creates or replaces a mapping (`actor` names the API key).
    pub async fn put_mapping(
        &self,
        site: &str,
        x_user_id: &str,
        req: MappingRequest,
        actor: &str,
    ) -> Result<(PutResult, SiteMapping), FlowError> {
        let site = self.known_site(site)?;
        let uid = XUserId::parse(x_user_id)?;
        let fields = validated(&req.domain_id, &req.domain_name, req.user_id, req.user_name)?;
        let change = self.api_change(site, &uid, actor);
        let (result, mapping) = match self.store.bind_mapping(&change, &fields, None).await? {
            BindOutcome::Created(m) => (PutResult::Created, m),
            BindOutcome::Updated(m) => (PutResult::Updated, m),
            BindOutcome::Unchanged(m) => (PutResult::Unchanged, m),
            BindOutcome::Conflict { .. } => return Err(FlowError::DomainConflict),
            BindOutcome::NoJump => return Err(no_jump()),
        };
        Ok((
            result,
            SiteMapping {
                site: site.name.as_str().to_owned(),
                x_user_id: uid.as_str().to_owned(),
                mapping,
            },
        ))
    }

    /// Reads a mapping.
    pub async fn read_mapping(
        &self,
        site: &str,
        x_user_id: &str,
    ) -> Result<SiteMapping, FlowError> {
        let site = self.known_site(site)?;
        let uid = XUserId::parse_existing(x_user_id)?;
        let mapping = self
            .store
            .get_mapping(&site.name, &uid)
            .await?
            .ok_or(FlowError::MappingNotFound)?;
        Ok(SiteMapping {
            site: site.name.as_str().to_owned(),
            x_user_id: uid.as_str().to_owned(),
            mapping,
        })
    }

    /// Removes a mapping; returns what was removed.
    pub async fn delete_mapping(
        &self,
        site: &str,
        x_user_id: &str,
        actor: &str,
    ) -> Result<SiteMapping, FlowError> {
        let site = self.known_site(site)?;
        let uid = XUserId::parse_existing(x_user_id)?;
        let change = self.api_change(site, &uid, actor);
        match self.store.unbind_mapping(&change, None, None).await? {
            UnbindOutcome::Removed(mapping) => Ok(SiteMapping {
                site: site.name.as_str().to_owned(),
                x_user_id: uid.as_str().to_owned(),
                mapping,
            }),
            UnbindOutcome::NotFound | UnbindOutcome::OtherDomain(_) => {
                Err(FlowError::MappingNotFound)
            }
            UnbindOutcome::NoJump => Err(no_jump()),
        }
    }

    /// Reverse lookup by Huawei account id.
    pub async fn mapping_for_domain(
        &self,
        site: &str,
        domain_id: &str,
    ) -> Result<SiteMapping, FlowError> {
        let site = self.known_site(site)?;
        let domain_id = DomainId::parse(domain_id)?;
        let (uid, mapping) = self
            .store
            .mapping_by_domain(&site.name, &domain_id)
            .await?
            .ok_or(FlowError::MappingNotFound)?;
        Ok(SiteMapping {
            site: site.name.as_str().to_owned(),
            x_user_id: uid,
            mapping,
        })
    }

    /// One page of a site's mappings. The cursor is opaque to clients (base64url of the last
    /// x_user_id), so paging is stable and never repeats an entry.
    pub async fn list_mappings(
        &self,
        site: &str,
        cursor: Option<&str>,
        limit_raw: Option<usize>,
    ) -> Result<MappingPage, FlowError> {
        let site = self.known_site(site)?;
        let limit = limit(limit_raw)?;
        let bad_cursor = || FieldError {
            field: "cursor",
            rule: "must be a next_cursor value from a previous page",
        };
        let after = cursor
            .filter(|c| !c.is_empty())
            .map(|c| {
                URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(bad_cursor)
            })
            .transpose()?;
        let (rows, next) = self
            .store
            .list_mappings(&site.name, after.as_deref(), limit)
            .await?;
        let next_cursor = next.map(|uid| URL_SAFE_NO_PAD.encode(uid));
        Ok(MappingPage {
            mappings: rows
                .into_iter()
                .map(|(x_user_id, mapping)| SiteMapping {
                    site: site.name.as_str().to_owned(),
                    x_user_id,
                    mapping,
                })
                .collect(),
            next_cursor,
        })
    }

    /// Imports NDJSON lines (`{"x_user_id", "domain_id", "domain_name", "user_id"?, "user_name"?}`),
    /// each independently; a bad line is reported and the others go on. Idempotent: running the
    /// same file again reports `unchanged`.
    pub async fn import_mappings(
        &self,
        site: &str,
        body: &str,
        actor: &str,
    ) -> Result<ImportReport, FlowError> {
        let site = self.known_site(site)?;
        // Lazily, twice: counting allocates nothing per line.
        let lines = || {
            body.lines()
                .enumerate()
                .map(|(i, l)| (i + 1, l.trim()))
                .filter(|(_, l)| !l.is_empty())
        };
        let count = lines().count();
        if count > MAX_IMPORT_LINES {
            return Err(FieldError {
                field: "body",
                rule: "must have at most 10000 lines; split the import",
            }
            .into());
        }
        let mut results = Vec::with_capacity(count);
        for (line, text) in lines() {
            results.push(self.import_line(site, line, text, actor).await?);
        }
        let mut summary = std::collections::BTreeMap::new();
        for r in &results {
            *summary.entry(r.status.clone()).or_insert(0) += 1;
        }
        Ok(ImportReport { summary, results })
    }

    async fn import_line(
        &self,
        site: &Site,
        line: usize,
        text: &str,
        actor: &str,
    ) -> Result<ImportLineResult, FlowError> {
        let invalid = |x_user_id: Option<String>, error: String| ImportLineResult {
            line,
            x_user_id,
            status: "invalid".into(),
            error: Some(error),
        };
        let parsed: ImportLine = match serde_json::from_str(text) {
            Ok(p) => p,
            Err(e) => {
                let why = crate::json_error::describe(&e);
                return Ok(invalid(None, format!("not a JSON mapping object: {why}")));
            }
        };
        let uid = match XUserId::parse(&parsed.x_user_id) {
            Ok(u) => u,
            Err(e) => return Ok(invalid(None, e.to_string())),
        };
        let fields = match validated(
            &parsed.domain_id,
            &parsed.domain_name,
            parsed.user_id,
            parsed.user_name,
        ) {
            Ok(f) => f,
            Err(e) => return Ok(invalid(Some(uid.as_str().to_owned()), e.to_string())),
        };
        let change = self.api_change(site, &uid, actor);
        let (status, error) = match self.store.bind_mapping(&change, &fields, None).await? {
            BindOutcome::Created(_) => ("created", None),
            BindOutcome::Updated(_) => ("updated", None),
            BindOutcome::Unchanged(_) => ("unchanged", None),
            BindOutcome::Conflict { .. } => (
                "conflict",
                Some("domain_id is already bound to another user on this site".to_owned()),
            ),
            BindOutcome::NoJump => return Err(no_jump()),
        };
        Ok(ImportLineResult {
            line,
            x_user_id: Some(uid.as_str().to_owned()),
            status: status.into(),
            error,
        })
    }

    /// Events after a cursor, oldest first.
    pub async fn events(
        &self,
        after: Option<&str>,
        limit_raw: Option<usize>,
    ) -> Result<EventPage, FlowError> {
        let limit = limit(limit_raw)?;
        let after = after
            .filter(|a| !a.is_empty())
            .map(|a| {
                EventId::parse(a).ok_or(FieldError {
                    field: "after",
                    rule: "must be a next_cursor value from a previous page",
                })
            })
            .transpose()?;
        let events = self.store.events_after(after, limit).await?;
        let next_cursor = events
            .last()
            .map(|e| e.id.clone())
            .or_else(|| after.map(|a| a.to_string()));
        Ok(EventPage {
            events,
            next_cursor,
        })
    }

    /// Ends every IdP session of a user (the partner platform logged them out).
    pub async fn end_user_sessions(&self, x_user_id: &str) -> Result<usize, FlowError> {
        let uid = XUserId::parse_existing(x_user_id)?;
        Ok(self.store.delete_user_sessions(&uid).await?)
    }
}
