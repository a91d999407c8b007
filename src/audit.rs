//! The append-only event log: who changed what, when, with the values before and after.
//! Both migrations add triggers that refuse UPDATE and DELETE on the table.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::db::schema::events;
use crate::db::DbConnection;
use crate::error::AppError;

/// Who is writing and when; passed to every write so no write goes unrecorded.
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub actor: String,
    pub at: NaiveDateTime,
    /// Groups the events of one import or bulk operation.
    pub batch_id: Option<String>,
}

impl WriteContext {
    pub fn new(actor: impl Into<String>, at: NaiveDateTime) -> Self {
        WriteContext {
            actor: actor.into(),
            at,
            batch_id: None,
        }
    }

    pub fn in_batch(mut self, batch_id: impl Into<String>) -> Self {
        self.batch_id = Some(batch_id.into());
        self
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub batch_id: Option<String>,
}

impl NewEvent {
    pub fn new<B: Serialize, A: Serialize>(
        ctx: &WriteContext,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        before: Option<&B>,
        after: Option<&A>,
    ) -> NewEvent {
        fn json<T: Serialize>(v: Option<&T>) -> Option<String> {
            v.map(|v| serde_json::to_string(v).unwrap_or_default())
        }
        NewEvent {
            at: ctx.at,
            actor: ctx.actor.clone(),
            action: action.to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.to_owned(),
            before_json: json(before),
            after_json: json(after),
            batch_id: ctx.batch_id.clone(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i64,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    #[serde(rename = "before", serialize_with = "as_json")]
    pub before_json: Option<String>,
    #[serde(rename = "after", serialize_with = "as_json")]
    pub after_json: Option<String>,
    pub batch_id: Option<String>,
}

fn as_json<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    let value: Value = v
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    value.serialize(s)
}

/// Records one write.
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<(), AppError> {
    let event = NewEvent::new(ctx, action, entity_type, entity_id, before, after);
    diesel::insert_into(events::table)
        .values(&event)
        .execute(conn)?;
    Ok(())
}

/// Records many writes with multi-row inserts.
pub fn record_all(conn: &mut DbConnection, batch: &[NewEvent]) -> Result<(), AppError> {
    crate::db::insert_all!(conn, events::table, batch);
    Ok(())
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub batch_id: Option<String>,
    pub actor: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &EventFilter,
    page: &crate::pagination::PageRequest,
) -> Result<crate::pagination::Page<Event>, AppError> {
    let query = || {
        let mut q = events::table.into_boxed();
        if let Some(v) = &filter.entity_type {
            q = q.filter(events::entity_type.eq(v.clone()));
        }
        if let Some(v) = &filter.entity_id {
            q = q.filter(events::entity_id.eq(v.clone()));
        }
        if let Some(v) = &filter.batch_id {
            q = q.filter(events::batch_id.eq(v.clone()));
        }
        if let Some(v) = &filter.actor {
            q = q.filter(events::actor.eq(v.clone()));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let items = query()
        .order(events::id.asc())
        .limit(page.limit())
        .offset(page.offset())
        .select(Event::as_select())
        .load(conn)?;
    Ok(page.page(items, total))
}

/// Every event about the given entities, oldest first.
pub fn for_entities(
    conn: &mut DbConnection,
    entity_type: &str,
    ids: &[String],
) -> Result<Vec<Event>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            events::table
                .filter(events::entity_type.eq(entity_type))
                .filter(events::entity_id.eq_any(chunk))
                .select(Event::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}
