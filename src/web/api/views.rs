//! The JSON the partner API answers with when it shows stored data: mappings and the event log.
//!
//! Why separate types: the store's [`Mapping`] and [`Event`] are shaped for storage and change
//! with it; the API's JSON is a contract with partners, written down in `openapi/openapi.json`.
//! Each view names its fields and their order itself and is filled by an explicit conversion, and
//! the store's enums are matched exhaustively, so a change to the store is a compile error or a
//! deliberate edit here, never a silent change of the API. The tests below and
//! `tests/it/api_wire.rs` pin the JSON against the document.

use serde::Serialize;

use crate::flow::mappings::{EventPage, MappingPage, SiteMapping};
use crate::store::{Event, EventKind, Mapping, MappingSource};

/// A mapping (OpenAPI `Mapping`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingView<'a> {
    site: &'a str,
    x_user_id: &'a str,
    domain_id: &'a str,
    domain_name: Option<&'a str>,
    user_id: Option<&'a str>,
    user_name: Option<&'a str>,
    source: SourceView,
    created_at: i64,
    updated_at: i64,
}

impl<'a> MappingView<'a> {
    /// The view of `mapping`, stored for `x_user_id` on `site`.
    pub fn new(site: &'a str, x_user_id: &'a str, mapping: &'a Mapping) -> Self {
        Self {
            site,
            x_user_id,
            domain_id: mapping.domain_id.as_str(),
            domain_name: mapping.domain_name.as_deref(),
            user_id: mapping.user_id.as_deref(),
            user_name: mapping.user_name.as_deref(),
            source: mapping.source.into(),
            created_at: mapping.created_at,
            updated_at: mapping.updated_at,
        }
    }
}

impl<'a> From<&'a SiteMapping> for MappingView<'a> {
    fn from(m: &'a SiteMapping) -> Self {
        Self::new(&m.site, &m.x_user_id, &m.mapping)
    }
}

/// A page of mappings (OpenAPI `MappingPage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingPageView<'a> {
    mappings: Vec<MappingView<'a>>,
    next_cursor: Option<&'a str>,
}

impl<'a> From<&'a MappingPage> for MappingPageView<'a> {
    fn from(page: &'a MappingPage) -> Self {
        Self {
            mappings: page.mappings.iter().map(MappingView::from).collect(),
            next_cursor: page.next_cursor.as_deref(),
        }
    }
}

/// Who registered a mapping, or caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceView {
    /// The partner platform, through the API or its import.
    Api,
    /// Huawei's bind-result notification.
    BindNotification,
}

impl From<MappingSource> for SourceView {
    fn from(source: MappingSource) -> Self {
        match source {
            MappingSource::Api => Self::Api,
            MappingSource::BindNotification => Self::BindNotification,
        }
    }
}

/// One entry of the event log (OpenAPI `Event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView<'a> {
    id: &'a str,
    kind: EventKindView,
    site: &'a str,
    x_user_id: &'a str,
    domain_id: &'a str,
    domain_name: Option<&'a str>,
    source: SourceView,
    actor: &'a str,
    at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl<'a> From<&'a Event> for EventView<'a> {
    fn from(e: &'a Event) -> Self {
        Self {
            id: &e.id,
            kind: e.kind.into(),
            site: &e.site,
            x_user_id: &e.x_user_id,
            domain_id: e.domain_id.as_str(),
            domain_name: e.domain_name.as_deref(),
            source: e.source.into(),
            actor: &e.actor,
            at: e.at,
            action: e.action.as_deref(),
            reason: e.reason.as_deref(),
        }
    }
}

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKindView {
    /// A new mapping.
    Bound,
    /// A changed mapping.
    Updated,
    /// A removed mapping.
    Unbound,
    /// A verified notification that changed nothing.
    Unconfirmed,
}

impl From<EventKind> for EventKindView {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::Bound => Self::Bound,
            EventKind::Updated => Self::Updated,
            EventKind::Unbound => Self::Unbound,
            EventKind::Unconfirmed => Self::Unconfirmed,
        }
    }
}

/// A page of events (OpenAPI `EventPage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventPageView<'a> {
    events: Vec<EventView<'a>>,
    next_cursor: Option<&'a str>,
}

impl<'a> From<&'a EventPage> for EventPageView<'a> {
    fn from(page: &'a EventPage) -> Self {
        Self {
            events: page.events.iter().map(EventView::from).collect(),
            next_cursor: page.next_cursor.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::huawei::fields::DomainId;

    use super::*;

    fn mapping() -> SiteMapping {
        SiteMapping {
            site: "cn".into(),
            x_user_id: "u1".into(),
            mapping: Mapping {
                domain_id: DomainId::parse("d-1").unwrap(),
                domain_name: Some("name_01".into()),
                user_id: None,
                user_name: Some("iam_user".into()),
                source: MappingSource::BindNotification,
                created_at: 1,
                updated_at: 2,
            },
        }
    }

    fn unconfirmed() -> Event {
        Event {
            id: "7-0".into(),
            kind: EventKind::Unconfirmed,
            site: "cn".into(),
            x_user_id: "u1".into(),
            domain_id: DomainId::parse("d-1").unwrap(),
            domain_name: None,
            source: MappingSource::BindNotification,
            actor: "huawei".into(),
            at: 3,
            action: Some("bind".into()),
            reason: Some("no_session".into()),
        }
    }

    #[test]
    fn the_json_is_pinned() {
        let m = mapping();
        assert_eq!(
            serde_json::to_string(&MappingView::from(&m))
                .ok()
                .as_deref(),
            Some(
                r#"{"site":"cn","x_user_id":"u1","domain_id":"d-1","domain_name":"name_01","user_id":null,"user_name":"iam_user","source":"bind_notification","created_at":1,"updated_at":2}"#
            )
        );
        let e = unconfirmed();
        assert_eq!(
            serde_json::to_string(&EventView::from(&e)).ok().as_deref(),
            Some(
                r#"{"id":"7-0","kind":"unconfirmed","site":"cn","x_user_id":"u1","domain_id":"d-1","domain_name":null,"source":"bind_notification","actor":"huawei","at":3,"action":"bind","reason":"no_session"}"#
            )
        );
        let page = EventPage {
            events: Vec::new(),
            next_cursor: None,
        };
        assert_eq!(
            serde_json::to_string(&EventPageView::from(&page))
                .ok()
                .as_deref(),
            Some(r#"{"events":[],"next_cursor":null}"#)
        );
    }

    /// Every field a view writes is a property of its schema in the OpenAPI document, and every
    /// property the schema requires is written.
    #[test]
    fn the_views_match_the_openapi_schemas() {
        let doc: Value = serde_json::from_str(super::super::OPENAPI_JSON).unwrap();
        let (m, e) = (mapping(), unconfirmed());
        let mappings = MappingPage {
            mappings: vec![m.clone()],
            next_cursor: Some("dTE".into()),
        };
        let events = EventPage {
            events: vec![e.clone()],
            next_cursor: Some("7-0".into()),
        };
        let views = [
            ("Mapping", serde_json::to_value(MappingView::from(&m))),
            ("Event", serde_json::to_value(EventView::from(&e))),
            (
                "MappingPage",
                serde_json::to_value(MappingPageView::from(&mappings)),
            ),
            (
                "EventPage",
                serde_json::to_value(EventPageView::from(&events)),
            ),
        ];
        for (name, json) in views {
            let json = json.unwrap();
            let written: Vec<&String> = json.as_object().unwrap().keys().collect();
            let schema = &doc["components"]["schemas"][name];
            let properties = schema["properties"].as_object().unwrap();
            for key in &written {
                assert!(
                    properties.contains_key(key.as_str()),
                    "{name}.{key}: not documented"
                );
            }
            for required in schema["required"].as_array().unwrap() {
                let required = required.as_str().unwrap();
                assert!(
                    written.iter().any(|k| k.as_str() == required),
                    "{name}.{required}: required by the document, not written"
                );
            }
        }
    }
}
