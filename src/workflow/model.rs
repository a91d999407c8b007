//! The workflow file as written: the Rust types are the single source of truth for the format.
//! Fields that validation may need to point at carry their place in the file ([`Spanned`]).
//!
//! The same types give the JSON Schema that editors use (`huanjie schema workflow`): the doc
//! comments below become its descriptions, so they are written for the workflow author, in
//! Chinese with the English term. A [`Spanned`] field appears in the schema as its plain value.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::org::Level;

/// The levels as the schema's enum, built from [`Level::ALL`] so the two cannot drift apart.
fn level_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
    schemars::json_schema!({ "type": "string", "enum": names })
}

/// 换届选举工作流 (election workflow): one workflow per file, checked with `huanjie check`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// 工作流标识 (stable id): lowercase letters, digits and hyphens, e.g. `village-committee`.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// 版本 (version): bump when the rules change; running campaigns keep the version they
    /// started with, e.g. `"2026.1"`.
    #[schemars(with = "String")]
    pub version: Spanned<String>,
    /// 标题 (title), e.g. `村民委员会换届选举`.
    pub title: String,
    /// 依据 (basis): the laws and rules the file encodes, with their version and date in force.
    #[serde(default)]
    pub basis: Option<String>,
    /// 说明 (description).
    #[serde(default)]
    pub description: Option<String>,
    /// 锚定日期 (anchor dates), set per campaign, e.g. `election_day: { title: 选举日 }`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, AnchorDef>")]
    pub anchors: BTreeMap<String, Spanned<AnchorDef>>,
    /// 参数 (parameters): province-dependent numbers, set per campaign within bounds; used in
    /// deadlines as `${name}`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, ParamDef>")]
    pub params: BTreeMap<String, Spanned<ParamDef>>,
    /// 角色 (三包 roles): any names, each with the level it sits on.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RoleDef>")]
    pub roles: BTreeMap<String, Spanned<RoleDef>>,
    /// 提醒 (reminders) before due, to the owner; the default for every step, e.g. `[3d, 1d, 0d]`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub reminders: Option<Vec<Spanned<String>>>,
    /// 催办 (escalation) after due, up the chain; the default for every step.
    #[serde(default)]
    #[schemars(with = "Option<Vec<EscalationRule>>")]
    pub escalation: Option<Vec<Spanned<EscalationRule>>>,
    /// 阶段 (stages), in order.
    pub stages: Vec<Stage>,
}

impl Workflow {
    /// Every step, in file order across stages.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.stages.iter().flat_map(|stage| &stage.steps)
    }
}

/// 锚定日期 (anchor date): a date set per campaign that deadlines count from.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnchorDef {
    /// 名称 (title), e.g. `选举日`.
    pub title: String,
    /// 说明 (description).
    #[serde(default)]
    pub description: Option<String>,
}

/// 参数 (parameter): a province-dependent number, set per campaign within bounds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamDef {
    /// 名称 (title), e.g. `正式候选人名单提前公布天数`.
    pub title: String,
    /// 默认值 (default value).
    pub default: i64,
    /// 最小值 (lowest value a campaign may set).
    #[serde(default)]
    pub min: Option<i64>,
    /// 最大值 (highest value a campaign may set).
    #[serde(default)]
    pub max: Option<i64>,
    /// 说明 (description).
    #[serde(default)]
    pub description: Option<String>,
}

/// 角色 (三包 role) and the level it sits on.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    /// 名称 (title), e.g. `包村干部`.
    pub title: String,
    /// 层级 (level) of the role's holders.
    #[schemars(schema_with = "level_schema")]
    pub level: Spanned<String>,
}

/// 催办规则 (escalation rule): whom to notify how long after due.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationRule {
    /// 逾期多久 (time after due), e.g. `0d`, `12h`, `1w`.
    #[schemars(with = "String")]
    pub after: Spanned<String>,
    /// 通知对象 (whom to notify): `owner` or a role id.
    #[schemars(with = "String")]
    pub notify: Spanned<String>,
    /// 重复间隔 (repeat interval) until the task is done, e.g. `2d`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub repeat: Option<Spanned<String>>,
}

/// 阶段 (stage): a group of steps.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// 阶段标识 (stage id), e.g. `registration`.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// 标题 (title), e.g. `选民登记`.
    pub title: String,
    /// 说明 (description).
    #[serde(default)]
    pub description: Option<String>,
    /// 步骤 (steps), in order.
    pub steps: Vec<Step>,
}

/// 步骤 (step): one task per unit of its scope, owned by a role.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// 步骤标识 (step id): lowercase letters, digits and `_`, e.g. `voter_list`.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// 标题 (title), e.g. `公布选民名单`.
    pub title: String,
    /// 说明 (description).
    #[serde(default)]
    pub description: Option<String>,
    /// 范围 (scope): the level whose every unit gets one task of this step.
    #[schemars(schema_with = "level_schema")]
    pub scope: Spanned<String>,
    /// 负责角色 (owner): the role whose holder owns the task, resolved by the 三包 rule.
    #[schemars(with = "String")]
    pub owner: Spanned<String>,
    /// 前置步骤 (needs): steps that must be done before this one can be ticked off.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub needs: Vec<Spanned<String>>,
    /// 开始时间 (opens): earliest moment the task may be completed, e.g. `election_day`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub opens: Option<Spanned<String>>,
    /// 截止时间 (deadline expression), e.g. `election_day - 20d`, `vote.done + 10d`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub due: Option<Spanned<String>>,
    /// 周期 (cron schedule, 6 fields, seconds first) of a recurring step: one task per
    /// occurrence, e.g. `"0 0 17 * * Fri"`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub every: Option<Spanned<String>>,
    /// 周期开始 (first day of a recurring step), e.g. `election_day - 42d`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub from: Option<Spanned<String>>,
    /// 周期结束 (last day of a recurring step), e.g. `election_day - 1d`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub until: Option<Spanned<String>>,
    /// 法定时限 (statutory deadline): completing after it is a violation.
    #[serde(default)]
    pub statutory: Option<Statutory>,
    /// 依据 (basis) of a non-statutory step: practice, a local plan.
    #[serde(default)]
    pub basis: Option<String>,
    /// 记录字段 (evidence the step records), by field id, e.g.
    /// `registered_voters: { type: integer, min: 1, title: 登记选民数, required: true }`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, FieldDef>")]
    pub record: BTreeMap<String, Spanned<FieldDef>>,
    /// 检查 (CEL checks) over the unit's recorded evidence.
    #[serde(default)]
    #[schemars(with = "Vec<Check>")]
    pub checks: Vec<Spanned<Check>>,
    /// 提醒 (reminders) of this step, replacing the workflow's default.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub reminders: Option<Vec<Spanned<String>>>,
    /// 催办 (escalation) of this step, replacing the workflow's default.
    #[serde(default)]
    #[schemars(with = "Option<Vec<EscalationRule>>")]
    pub escalation: Option<Vec<Spanned<EscalationRule>>>,
}

/// 法定时限 (statutory deadline) and where the law says so.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Statutory {
    /// 法律依据 (law), e.g. `村民委员会组织法`.
    pub basis: String,
    /// 条文 (rule), e.g. `选民名单应当在选举日的二十日以前公布`.
    pub rule: String,
}

/// 字段类型 (field type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
// No doc comments on the variants: with them the schema turns the plain `enum` list that
// editors complete from into a `oneOf` of constants.
pub enum FieldType {
    Integer,
    Number,
    Date,
    Datetime,
    Text,
    Boolean,
}

/// 记录字段 (recorded field): one piece of evidence a step records.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// 类型 (type): integer, number, date, datetime, text or boolean.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// 名称 (title), e.g. `登记选民数`.
    pub title: String,
    /// 必填 (required field).
    #[serde(default)]
    pub required: bool,
    /// 最小值 (minimum) of a number.
    #[serde(default)]
    pub min: Option<i64>,
    /// 最大值 (maximum) of a number.
    #[serde(default)]
    pub max: Option<i64>,
}

/// 检查 (check): a CEL expression over the unit's recorded evidence.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// 表达式 (CEL expression), e.g. `vote.ballots_cast * 2 > voter_list.registered_voters`.
    pub expr: String,
    /// 不通过时的提示 (message shown when the check fails).
    pub message: String,
    /// Filled by [`crate::workflow::load`] once the whole file is valid.
    #[serde(skip)]
    pub compiled: Option<super::checks::CompiledExpr>,
}
