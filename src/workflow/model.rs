//! The workflow file as written: the Rust types are the single source of truth for the format.
//! Fields that validation may need to point at carry their place in the file ([`Spanned`]).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Stable id, e.g. `village-committee`.
    pub id: Spanned<String>,
    /// Bumped when the rules change; running campaigns keep the version they started with.
    pub version: Spanned<String>,
    pub title: String,
    /// The laws and rules the file encodes, with their version and date in force.
    #[serde(default)]
    pub basis: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub anchors: BTreeMap<String, Spanned<AnchorDef>>,
    #[serde(default)]
    pub params: BTreeMap<String, Spanned<ParamDef>>,
    #[serde(default)]
    pub roles: BTreeMap<String, Spanned<RoleDef>>,
    /// Before due, to the owner; the default for every step.
    #[serde(default)]
    pub reminders: Option<Vec<Spanned<String>>>,
    /// After due, up the chain; the default for every step.
    #[serde(default)]
    pub escalation: Option<Vec<Spanned<EscalationRule>>>,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorDef {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A province-dependent number, set per campaign within bounds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamDef {
    pub title: String,
    pub default: i64,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    pub title: String,
    pub level: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRule {
    pub after: Spanned<String>,
    /// `owner` or a role id.
    pub notify: Spanned<String>,
    #[serde(default)]
    pub repeat: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub id: Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The level whose every unit gets one task of this step.
    pub scope: Spanned<String>,
    /// The role whose holder owns the task, resolved by the 三包 rule.
    pub owner: Spanned<String>,
    /// Steps that must be done before this one can be ticked off.
    #[serde(default)]
    pub needs: Vec<Spanned<String>>,
    /// Earliest moment the task may be completed.
    #[serde(default)]
    pub opens: Option<Spanned<String>>,
    #[serde(default)]
    pub due: Option<Spanned<String>>,
    /// Cron schedule (6 fields, seconds first) of a recurring step: one task per occurrence.
    #[serde(default)]
    pub every: Option<Spanned<String>>,
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default)]
    pub until: Option<Spanned<String>>,
    /// A legal deadline: completing after it is a violation.
    #[serde(default)]
    pub statutory: Option<Statutory>,
    /// Where a non-statutory step comes from (practice, a local plan).
    #[serde(default)]
    pub basis: Option<String>,
    /// The evidence the step records.
    #[serde(default)]
    pub record: BTreeMap<String, Spanned<FieldDef>>,
    /// CEL expressions over the unit's recorded evidence.
    #[serde(default)]
    pub checks: Vec<Spanned<Check>>,
    #[serde(default)]
    pub reminders: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub escalation: Option<Vec<Spanned<EscalationRule>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statutory {
    pub basis: String,
    pub rule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Integer,
    Number,
    Date,
    Datetime,
    Text,
    Boolean,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub title: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub expr: String,
    pub message: String,
    /// Filled by [`crate::workflow::load`] once the whole file is valid.
    #[serde(skip)]
    pub compiled: Option<super::checks::CompiledExpr>,
}
