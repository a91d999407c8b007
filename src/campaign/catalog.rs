//! Stored workflow versions. A workflow is kept by (id, version) with its source and content
//! hash, so a campaign always runs the exact rules it started with, whatever happens to the
//! file later. Parsed workflows are cached in memory by content hash.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, WriteContext};
use crate::db::schema::workflows;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::workflow::{self, Workflow};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = workflows)]
pub struct StoredWorkflow {
    pub id: String,
    pub version: String,
    pub title: String,
    pub content_hash: String,
    #[serde(skip_serializing)]
    pub source: String,
    pub file_name: String,
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub loaded_at: NaiveDateTime,
    pub loaded_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreOutcome {
    /// A new (id, version) was stored.
    Stored,
    /// The same content was already stored under this version.
    Unchanged,
}

pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parsed workflows by content hash. Parsing and compiling checks costs milliseconds; a tick-off
/// should not pay it.
#[derive(Default, Clone)]
pub struct WorkflowCache {
    parsed: Arc<RwLock<HashMap<String, Arc<Workflow>>>>,
}

impl WorkflowCache {
    fn get(&self, hash: &str) -> Option<Arc<Workflow>> {
        self.parsed.read().ok()?.get(hash).cloned()
    }

    fn put(&self, hash: String, workflow: Arc<Workflow>) {
        if let Ok(mut map) = self.parsed.write() {
            map.insert(hash, workflow);
        }
    }
}

/// Validates and stores a workflow file. Refuses a changed file under a version already stored:
/// a running campaign must never see its rules change underneath it.
pub fn store(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    file_name: &str,
    bytes: &[u8],
) -> Result<(StoredWorkflow, StoreOutcome), AppError> {
    let parsed = workflow::load(file_name, bytes).map_err(|problems| {
        AppError::new(
            crate::error::ErrorKind::Validation,
            "workflow_invalid",
            format!("工作流文件 {file_name} 有 {} 处错误", problems.len()),
        )
        .with_details(serde_json::json!(problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()))
    })?;
    // `load` accepted the bytes, so they are UTF-8; the BOM is not part of the content.
    let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
    let hash = content_hash(&text);
    let id = parsed.id.value.clone();
    let version = parsed.version.value.clone();
    conn.transaction(|conn| {
        crate::db::begin_write(conn)?;
        let existing = find(conn, &id, &version)?;
        if let Some(existing) = existing {
            if existing.content_hash == hash {
                return Ok((existing, StoreOutcome::Unchanged));
            }
            return Err(AppError::conflict(
                "workflow_version_changed",
                format!(
                    "工作流 {id} 版本 {version} 已于 {} 从 {} 载入, 但 {file_name} 的内容与之不同. \
                     已开始的选举按原内容运行; 修改规则请提高 version (例如 \"{version}\" → \"{}\")",
                    existing.loaded_at.format("%Y-%m-%d %H:%M"),
                    existing.file_name,
                    next_version_hint(&version)
                ),
            )
            .with_details(serde_json::json!({
                "id": id,
                "version": version,
                "stored_hash": existing.content_hash,
                "file_hash": hash,
            })));
        }
        let row = StoredWorkflow {
            id: id.clone(),
            version: version.clone(),
            title: parsed.title.clone(),
            content_hash: hash.clone(),
            source: text.clone().into_owned(),
            file_name: file_name.to_owned(),
            loaded_at: ctx.at,
            loaded_by: ctx.actor.clone(),
        };
        diesel::insert_into(workflows::table)
            .values(&row)
            .execute(conn)?;
        audit::record(
            conn,
            ctx,
            "workflow.stored",
            "workflow",
            &format!("{id}@{version}"),
            None::<&()>,
            Some(&row),
        )?;
        Ok((row, StoreOutcome::Stored))
    })
}

/// "2026.1" → "2026.2"; anything else gets a suffix. Only a hint in a message.
fn next_version_hint(version: &str) -> String {
    match version.rsplit_once('.') {
        Some((head, tail)) if tail.parse::<u64>().is_ok() => {
            format!("{head}.{}", tail.parse::<u64>().unwrap_or(0) + 1)
        }
        _ => format!("{version}.1"),
    }
}

pub fn find(
    conn: &mut DbConnection,
    id: &str,
    version: &str,
) -> Result<Option<StoredWorkflow>, AppError> {
    Ok(workflows::table
        .find((id, version))
        .select(StoredWorkflow::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, id: &str, version: &str) -> Result<StoredWorkflow, AppError> {
    find(conn, id, version)?
        .ok_or_else(|| AppError::not_found("工作流", &format!("{id}@{version}")))
}

/// Every stored version, newest load first within each id.
pub fn list(conn: &mut DbConnection) -> Result<Vec<StoredWorkflow>, AppError> {
    Ok(workflows::table
        .order((workflows::id.asc(), workflows::loaded_at.desc()))
        .select(StoredWorkflow::as_select())
        .load(conn)?)
}

/// The latest stored version of a workflow id.
pub fn latest(conn: &mut DbConnection, id: &str) -> Result<StoredWorkflow, AppError> {
    workflows::table
        .filter(workflows::id.eq(id))
        .order(workflows::loaded_at.desc())
        .select(StoredWorkflow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("工作流", id))
}

/// The parsed rules of a stored version.
pub fn parsed(cache: &WorkflowCache, stored: &StoredWorkflow) -> Result<Arc<Workflow>, AppError> {
    if let Some(w) = cache.get(&stored.content_hash) {
        return Ok(w);
    }
    let name = format!("{}@{}", stored.id, stored.version);
    let parsed = workflow::load(&name, stored.source.as_bytes()).map_err(|problems| {
        // Stored sources were valid when stored; only a validator grown stricter gets here.
        AppError::internal(format!(
            "stored workflow {name} no longer validates: {}",
            problems.first().map(|p| p.to_string()).unwrap_or_default()
        ))
    })?;
    let parsed = Arc::new(parsed);
    cache.put(stored.content_hash.clone(), parsed.clone());
    Ok(parsed)
}

/// Stores every `*.yaml` file of a directory, in name order. Any invalid or changed file stops
/// the whole load with every problem listed, so the server never starts on rules it did not
/// take in.
pub fn store_directory(
    conn: &mut DbConnection,
    ctx: &WriteContext,
    dir: &Path,
) -> Result<Vec<(StoredWorkflow, StoreOutcome)>, AppError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        AppError::bad_request(
            "workflows_dir_unreadable",
            format!("无法读取工作流目录 {}: {e}", dir.display()),
        )
    })?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let bytes = std::fs::read(&path).map_err(|e| {
            AppError::bad_request("workflow_unreadable", format!("无法读取 {name}: {e}"))
        })?;
        match store(conn, ctx, &name, &bytes) {
            Ok(stored) => out.push(stored),
            Err(e) => problems.push(e),
        }
    }
    match problems.len() {
        0 => Ok(out),
        1 => Err(problems.remove(0)),
        n => {
            let listed: Vec<String> = problems
                .iter()
                .map(|e| match &e.details {
                    Some(d) => format!("{}\n{}", e.message, d),
                    None => e.message.clone(),
                })
                .collect();
            Err(AppError::bad_request(
                "workflows_invalid",
                format!("{n} 个工作流文件不能载入:\n{}", listed.join("\n")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_hex() {
        assert_eq!(
            content_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn version_hints() {
        assert_eq!(next_version_hint("2026.1"), "2026.2");
        assert_eq!(next_version_hint("v3"), "v3.1");
    }
}
