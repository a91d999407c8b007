//! Validation of a workflow file (DESIGN §3.2): every problem, each with its place in the file,
//! the step it concerns and, where a name is close to a known one, a suggestion.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use serde_saphyr::Spanned;

use super::deadline::{self, DeadlineExpr, Reference};
use super::model::{EscalationRule, Step, Workflow};
use crate::org::Level;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub step: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(step) = &self.step {
            write!(f, "[{step}] ")?;
        }
        f.write_str(&self.message)
    }
}

/// Levenshtein distance over chars, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The closest known name, if it is close enough to be a typo.
pub fn suggest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = name.chars().count();
    let limit = (len / 3).max(2).min(len.saturating_sub(1));
    known
        .into_iter()
        .map(|k| (distance(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

fn with_suggestion<'a>(
    message: String,
    name: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> String {
    match suggest(name, known) {
        Some(s) => format!("{message}; 是不是 \"{s}\"?"),
        None => message,
    }
}

/// Parses a duration such as `3d`, `12h`, `1w` into hours.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("\"{s}\" 不是时长, 应写成 3d (天), 12h (小时) 或 1w (周)"))?;
    let per = match unit {
        "h" => 1,
        "d" => 24,
        "w" => 24 * 7,
        _ => return Err(format!("\"{s}\" 的单位应为 d (天), h (小时) 或 w (周)")),
    };
    if n > 3650 {
        return Err(format!("时长 \"{s}\" 过大"));
    }
    Ok(n * per)
}

struct Ctx<'a> {
    file: &'a str,
    wf: &'a Workflow,
    steps: BTreeMap<&'a str, &'a Step>,
    out: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    fn at<T>(&mut self, spanned: &Spanned<T>, step: Option<&str>, message: impl Into<String>) {
        self.at_column(spanned, 0, step, message);
    }

    fn at_column<T>(
        &mut self,
        spanned: &Spanned<T>,
        extra: u64,
        step: Option<&str>,
        message: impl Into<String>,
    ) {
        self.out.push(Diagnostic {
            file: self.file.to_owned(),
            line: spanned.referenced.line(),
            column: spanned.referenced.column() + extra,
            step: step.map(str::to_owned),
            message: message.into(),
        });
    }

    fn step_ids(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.steps.keys().copied()
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn level_names() -> Vec<&'static str> {
    Level::ALL.iter().map(|l| l.as_str()).collect()
}

/// Checks a parsed workflow; `file` names it in the diagnostics.
pub fn validate(file: &str, wf: &Workflow) -> Vec<Diagnostic> {
    let mut ctx = Ctx {
        file,
        wf,
        steps: BTreeMap::new(),
        out: Vec::new(),
    };
    check_ids(&mut ctx);
    check_header(&mut ctx);
    let parsed = check_steps(&mut ctx);
    check_cycles(&mut ctx, &parsed);
    check_feasibility(&mut ctx, &parsed);
    ctx.out.sort_by_key(|d| (d.line, d.column));
    ctx.out.dedup();
    ctx.out
}

fn check_ids(ctx: &mut Ctx<'_>) {
    let wf = ctx.wf;
    if wf.id.value.trim().is_empty()
        || !wf
            .id
            .value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        ctx.at(
            &wf.id,
            None,
            "id 应由小写字母、数字和连字符组成, 例如 village-committee",
        );
    }
    if wf.version.value.trim().is_empty() {
        ctx.at(&wf.version, None, "version 不能为空");
    }
    let mut stage_ids: HashMap<&str, u64> = HashMap::new();
    let mut step_lines: HashMap<&str, u64> = HashMap::new();
    for stage in &wf.stages {
        if let Some(first) = stage_ids.insert(&stage.id.value, stage.id.referenced.line()) {
            ctx.at(
                &stage.id,
                None,
                format!("阶段 id \"{}\" 重复 (第 {first} 行已定义)", stage.id.value),
            );
        }
        if stage.steps.is_empty() {
            ctx.at(
                &stage.id,
                None,
                format!("阶段 \"{}\" 没有任何步骤", stage.id.value),
            );
        }
        for step in &stage.steps {
            let id = step.id.value.as_str();
            if !is_identifier(id) {
                ctx.at(&step.id, Some(id), "步骤 id 应由小写字母、数字和下划线组成");
            }
            if let Some(first) = step_lines.insert(id, step.id.referenced.line()) {
                ctx.at(
                    &step.id,
                    Some(id),
                    format!("步骤 id \"{id}\" 重复 (第 {first} 行已定义)"),
                );
            } else {
                ctx.steps.insert(id, step);
            }
        }
    }
    for (name, kind) in wf
        .params
        .keys()
        .map(|k| (k, "参数"))
        .chain(wf.anchors.keys().map(|k| (k, "锚定日期")))
        .chain(wf.roles.keys().map(|k| (k, "角色")))
    {
        if !is_identifier(name) {
            ctx.out.push(Diagnostic {
                file: ctx.file.to_owned(),
                line: 1,
                column: 1,
                step: None,
                message: format!("{kind} \"{name}\" 的标识应由小写字母、数字和下划线组成"),
            });
        }
    }
    for name in wf.anchors.keys() {
        if step_lines.contains_key(name.as_str()) {
            let anchor = &wf.anchors[name];
            ctx.at(anchor, None, format!("锚定日期 \"{name}\" 与步骤 id 重名"));
        }
    }
}

fn check_header(ctx: &mut Ctx<'_>) {
    let wf = ctx.wf;
    for (name, p) in &wf.params {
        let v = &p.value;
        if let (Some(min), Some(max)) = (v.min, v.max) {
            if min > max {
                ctx.at(
                    p,
                    None,
                    format!("参数 \"{name}\" 的 min ({min}) 大于 max ({max})"),
                );
            }
        }
        if v.min.is_some_and(|m| v.default < m) || v.max.is_some_and(|m| v.default > m) {
            ctx.at(
                p,
                None,
                format!(
                    "参数 \"{name}\" 的默认值 {} 超出范围 [{}, {}]",
                    v.default,
                    v.min.map_or("-∞".into(), |m| m.to_string()),
                    v.max.map_or("+∞".into(), |m| m.to_string())
                ),
            );
        }
    }
    let levels = level_names();
    for (name, r) in &wf.roles {
        if Level::parse(&r.value.level.value).is_err() {
            let msg = with_suggestion(
                format!(
                    "角色 \"{name}\" 的层级 \"{}\" 不存在, 应为 {}",
                    r.value.level.value,
                    levels.join(", ")
                ),
                &r.value.level.value,
                levels.iter().copied(),
            );
            ctx.at(&r.value.level, None, msg);
        }
    }
    if let Some(list) = &wf.reminders {
        check_reminders(ctx, list, None);
    }
    if let Some(list) = &wf.escalation {
        check_escalation(ctx, list, None);
    }
}

fn check_reminders(ctx: &mut Ctx<'_>, list: &[Spanned<String>], step: Option<&str>) {
    for r in list {
        if let Err(m) = parse_duration(&r.value) {
            ctx.at(r, step, format!("提醒时间: {m}"));
        }
    }
}

fn check_escalation(ctx: &mut Ctx<'_>, list: &[Spanned<EscalationRule>], step: Option<&str>) {
    let roles: Vec<&str> = ctx.wf.roles.keys().map(String::as_str).collect();
    for rule in list {
        let r = &rule.value;
        if let Err(m) = parse_duration(&r.after.value) {
            ctx.at(&r.after, step, format!("催办 after: {m}"));
        }
        if let Some(repeat) = &r.repeat {
            match parse_duration(&repeat.value) {
                Ok(0) => ctx.at(repeat, step, "催办 repeat 不能为 0"),
                Ok(_) => {}
                Err(m) => ctx.at(repeat, step, format!("催办 repeat: {m}")),
            }
        }
        let notify = r.notify.value.as_str();
        if notify != "owner" && !roles.contains(&notify) {
            let msg = with_suggestion(
                format!("催办对象 \"{notify}\" 既不是 owner 也不是已定义的角色"),
                notify,
                roles.iter().copied().chain(["owner"]),
            );
            ctx.at(&r.notify, step, msg);
        }
    }
}

/// The deadline expressions of one step, parsed.
struct StepDeadlines {
    opens: Option<DeadlineExpr>,
    due: Option<DeadlineExpr>,
    from: Option<DeadlineExpr>,
    until: Option<DeadlineExpr>,
}

impl StepDeadlines {
    fn all(&self) -> impl Iterator<Item = &DeadlineExpr> {
        [&self.opens, &self.due, &self.from, &self.until]
            .into_iter()
            .flatten()
    }
}

fn check_steps<'a>(ctx: &mut Ctx<'a>) -> BTreeMap<&'a str, StepDeadlines> {
    let wf = ctx.wf;
    let levels = level_names();
    let mut parsed = BTreeMap::new();
    let recorded: BTreeMap<&str, BTreeSet<&str>> = ctx
        .steps
        .iter()
        .map(|(id, s)| (*id, s.record.keys().map(String::as_str).collect()))
        .collect();
    for stage in &wf.stages {
        for step in &stage.steps {
            let id = step.id.value.as_str();
            let sid = Some(id);
            let scope = Level::parse(&step.scope.value).ok();
            if scope.is_none() {
                let msg = with_suggestion(
                    format!(
                        "scope \"{}\" 不是层级, 应为 {}",
                        step.scope.value,
                        levels.join(", ")
                    ),
                    &step.scope.value,
                    levels.iter().copied(),
                );
                ctx.at(&step.scope, sid, msg);
            }
            match wf.roles.get(&step.owner.value) {
                None => {
                    let msg = with_suggestion(
                        format!("owner \"{}\" 不是已定义的角色", step.owner.value),
                        &step.owner.value,
                        wf.roles.keys().map(String::as_str),
                    );
                    ctx.at(&step.owner, sid, msg);
                }
                Some(role) => {
                    if let (Some(scope), Ok(role_level)) =
                        (scope, Level::parse(&role.value.level.value))
                    {
                        // The 三包 rule looks upwards only: a group role never answers for a village.
                        if role_level > scope {
                            ctx.at(
                                &step.owner,
                                sid,
                                format!(
                                    "owner \"{}\" 在{}级, 低于本步骤的范围{}级, 无法确定负责人",
                                    step.owner.value,
                                    role_level.title(),
                                    scope.title()
                                ),
                            );
                        }
                    }
                }
            }
            for need in &step.needs {
                if need.value == id {
                    ctx.at(need, sid, "步骤不能依赖自己");
                } else if !ctx.steps.contains_key(need.value.as_str()) {
                    let msg = with_suggestion(
                        format!("needs 中的步骤 \"{}\" 不存在", need.value),
                        &need.value,
                        ctx.step_ids().collect::<Vec<_>>(),
                    );
                    ctx.at(need, sid, msg);
                }
            }
            let d = StepDeadlines {
                opens: parse_deadline(ctx, step.opens.as_ref(), "opens", id),
                due: parse_deadline(ctx, step.due.as_ref(), "due", id),
                from: parse_deadline(ctx, step.from.as_ref(), "from", id),
                until: parse_deadline(ctx, step.until.as_ref(), "until", id),
            };
            match (&step.due, &step.every) {
                (None, None) => ctx.at(&step.id, sid, "步骤需要截止时间 due, 或周期 every"),
                (Some(due), Some(_)) => ctx.at(
                    due,
                    sid,
                    "周期步骤 (every) 不写 due: 每次的截止时间由周期决定",
                ),
                _ => {}
            }
            if let Some(every) = &step.every {
                if let Err(e) = cron::Schedule::from_str(&every.value) {
                    ctx.at(every, sid, format!("every \"{}\" 不是有效的 cron 表达式 (6 段, 秒在最前, 星期用 Mon..Sun): {e}", every.value));
                }
                for (name, value) in [("from", &step.from), ("until", &step.until)] {
                    if value.is_none() {
                        ctx.at(every, sid, format!("周期步骤需要 {name}"));
                    }
                }
            } else {
                for value in [&step.from, &step.until].into_iter().flatten() {
                    ctx.at(value, sid, "from / until 只用于周期步骤 (every)");
                }
            }
            if let Some(list) = &step.reminders {
                check_reminders(ctx, list, sid);
            }
            if let Some(list) = &step.escalation {
                check_escalation(ctx, list, sid);
            }
            for (name, field) in &step.record {
                if !is_identifier(name) {
                    ctx.at(
                        field,
                        sid,
                        format!("记录字段 \"{name}\" 的标识应由小写字母、数字和下划线组成"),
                    );
                }
                if let (Some(min), Some(max)) = (field.value.min, field.value.max) {
                    if min > max {
                        ctx.at(field, sid, format!("记录字段 \"{name}\" 的 min 大于 max"));
                    }
                }
            }
            for check in &step.checks {
                check_expression_fields(ctx, check, id, &recorded);
            }
            parsed.insert(id, d);
        }
    }
    parsed
}

fn parse_deadline(
    ctx: &mut Ctx<'_>,
    value: Option<&Spanned<String>>,
    what: &str,
    step: &str,
) -> Option<DeadlineExpr> {
    let value = value?;
    let expr = match deadline::parse(&value.value) {
        Ok(e) => e,
        Err(e) => {
            ctx.at_column(
                value,
                e.position as u64,
                Some(step),
                format!("{what}: {}\n{}", e.message, e.caret(&value.value)),
            );
            return None;
        }
    };
    let wf = ctx.wf;
    let column = expr.reference_span.start as u64;
    match &expr.reference {
        Reference::Anchor(a) if !wf.anchors.contains_key(a) => {
            let known: Vec<&str> = wf
                .anchors
                .keys()
                .map(String::as_str)
                .chain(ctx.step_ids())
                .collect();
            let msg = with_suggestion(
                format!("{what}: \"{a}\" 既不是锚定日期 (anchors), 也不是 步骤.done / 步骤.due"),
                a,
                known,
            );
            ctx.at_column(value, column, Some(step), msg);
        }
        Reference::Done(s) | Reference::Due(s) if !ctx.steps.contains_key(s.as_str()) => {
            let msg = with_suggestion(
                format!("{what}: 引用的步骤 \"{s}\" 不存在"),
                s,
                ctx.step_ids().collect::<Vec<_>>(),
            );
            ctx.at_column(value, column, Some(step), msg);
        }
        _ => {}
    }
    if let Some(p) = expr.param_ref() {
        if !wf.params.contains_key(p) {
            let msg = with_suggestion(
                format!("{what}: 参数 \"{p}\" 未在 params 中定义"),
                p,
                wf.params.keys().map(String::as_str),
            );
            ctx.at_column(
                value,
                expr.offset.as_ref().map_or(0, |o| o.span.start as u64),
                Some(step),
                msg,
            );
        }
    }
    Some(expr)
}

/// Compiles a check and verifies that every `step.field` it reads is recorded by that step,
/// with a suggestion for the near misses authors make most.
fn check_expression_fields(
    ctx: &mut Ctx<'_>,
    check: &Spanned<super::model::Check>,
    step: &str,
    recorded: &BTreeMap<&str, BTreeSet<&str>>,
) {
    let expr = &check.value.expr;
    match super::checks::compile(expr) {
        Err(e) => {
            ctx.at(
                check,
                Some(step),
                format!(
                    "检查表达式无法编译 (第 {} 个字符): {}\n{}",
                    e.column,
                    e.message,
                    e.caret(expr)
                ),
            );
            return;
        }
        Ok((_, names)) => {
            for name in names.iter().filter(|n| !recorded.contains_key(n.as_str())) {
                let msg = with_suggestion(
                    format!("检查 \"{expr}\" 引用的步骤 \"{name}\" 不存在"),
                    name,
                    recorded.keys().copied(),
                );
                ctx.at(check, Some(step), msg);
            }
        }
    }
    let mut refs = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            // Skip string literals.
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let head: String = chars[start..i].iter().collect();
            let preceded_by_dot = start > 0 && chars[start - 1] == '.';
            if !preceded_by_dot && i < chars.len() && chars[i] == '.' {
                let fstart = i + 1;
                let mut j = fstart;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                refs.push((head, chars[fstart..j].iter().collect::<String>()));
                i = j;
            }
        } else {
            i += 1;
        }
    }
    if refs.is_empty() {
        ctx.at(
            check,
            Some(step),
            format!("检查 \"{expr}\" 没有引用任何记录字段 (写作 步骤.字段)"),
        );
    }
    for (s, field) in refs {
        match recorded.get(s.as_str()) {
            None => {
                let msg = with_suggestion(
                    format!("检查 \"{expr}\" 引用的步骤 \"{s}\" 不存在"),
                    &s,
                    recorded.keys().copied(),
                );
                ctx.at(check, Some(step), msg);
            }
            Some(fields) if !fields.contains(field.as_str()) => {
                let msg = with_suggestion(
                    format!("检查 \"{expr}\" 引用的字段 \"{s}.{field}\" 没有任何步骤记录"),
                    &field,
                    fields.iter().copied(),
                );
                ctx.at(check, Some(step), msg);
            }
            _ => {}
        }
    }
}

/// Cycles through `needs` and deadline references make a plan that can never start.
fn check_cycles(ctx: &mut Ctx<'_>, parsed: &BTreeMap<&str, StepDeadlines>) {
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, step) in &ctx.steps {
        let mut out: Vec<&str> = step
            .needs
            .iter()
            .map(|n| n.value.as_str())
            .filter(|n| ctx.steps.contains_key(n))
            .collect();
        if let Some(d) = parsed.get(id) {
            out.extend(
                d.all()
                    .filter_map(|e| e.step_ref())
                    .filter_map(|s| ctx.steps.get_key_value(s).map(|(k, _)| *k)),
            );
        }
        edges.insert(id, out);
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        marks: &mut HashMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
        found: &mut Vec<Vec<&'a str>>,
    ) {
        marks.insert(node, Mark::Visiting);
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            match marks.get(next) {
                Some(Mark::Visiting) => {
                    let start = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next);
                    found.push(cycle);
                }
                Some(Mark::Done) => {}
                None => visit(next, edges, marks, path, found),
            }
        }
        path.pop();
        marks.insert(node, Mark::Done);
    }
    let mut marks = HashMap::new();
    let mut found = Vec::new();
    for node in edges.keys() {
        if !marks.contains_key(node) {
            visit(node, &edges, &mut marks, &mut Vec::new(), &mut found);
        }
    }
    for cycle in found {
        let first = cycle[0];
        if let Some(step) = ctx.steps.get(first) {
            ctx.at(
                &step.id,
                Some(first),
                format!(
                    "步骤之间形成循环 (needs 或截止时间引用): {}",
                    cycle.join(" → ")
                ),
            );
        }
    }
}

/// A deadline as an offset in hours from an anchor, for the given parameter values; `None`
/// when it depends on a completion (dynamic) or cannot be computed.
fn static_offset(
    ctx: &Ctx<'_>,
    parsed: &BTreeMap<&str, StepDeadlines>,
    expr: &DeadlineExpr,
    params: &HashMap<&str, i64>,
    depth: usize,
) -> Option<(String, i64)> {
    if depth > 64 {
        return None;
    }
    let own = expr
        .offset_hours(|p| {
            params
                .get(p)
                .copied()
                .or_else(|| ctx.wf.params.get(p).map(|d| d.value.default))
        })
        .ok()?;
    match &expr.reference {
        Reference::Anchor(a) => Some((a.clone(), own)),
        Reference::Due(s) => {
            let (anchor, base) = static_offset(
                ctx,
                parsed,
                parsed.get(s.as_str())?.due.as_ref()?,
                params,
                depth + 1,
            )?;
            Some((anchor, base + own))
        }
        Reference::Done(_) => None,
    }
}

/// Describes an offset the way a township timetable does: 选举日前20天, 选举日后3天.
fn describe(ctx: &Ctx<'_>, anchor: &str, hours: i64) -> String {
    let title = ctx
        .wf
        .anchors
        .get(anchor)
        .map_or(anchor, |a| a.value.title.as_str());
    let (days, rem) = (hours.abs() / 24, hours.abs() % 24);
    let amount = if rem == 0 {
        format!("{days}天")
    } else {
        format!("{}小时", hours.abs())
    };
    match hours.signum() {
        0 => format!("{title}当天"),
        -1 => format!("{title}前{amount}"),
        _ => format!("{title}后{amount}"),
    }
}

/// The parameter values to try: every combination of each involved parameter's bounds and
/// default, so a plan is feasible for every value a campaign may choose.
fn param_choices(ctx: &Ctx<'_>, names: &[&str]) -> Vec<HashMap<String, i64>> {
    let mut out = vec![HashMap::new()];
    for name in names {
        let Some(p) = ctx.wf.params.get(*name) else {
            continue;
        };
        let values: BTreeSet<i64> = [Some(p.value.default), p.value.min, p.value.max]
            .into_iter()
            .flatten()
            .collect();
        out = out
            .into_iter()
            .flat_map(|m| {
                values.iter().map(move |v| {
                    let mut m = m.clone();
                    m.insert((*name).to_owned(), *v);
                    m
                })
            })
            .collect();
    }
    out
}

fn params_used<'a>(
    parsed: &'a BTreeMap<&str, StepDeadlines>,
    expr: &'a DeadlineExpr,
    out: &mut Vec<&'a str>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    if let Some(p) = expr.param_ref() {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if let Reference::Due(s) = &expr.reference {
        if let Some(due) = parsed.get(s.as_str()).and_then(|d| d.due.as_ref()) {
            params_used(parsed, due, out, depth + 1);
        }
    }
}

fn check_feasibility(ctx: &mut Ctx<'_>, parsed: &BTreeMap<&str, StepDeadlines>) {
    let mut problems: Vec<(&str, String)> = Vec::new();
    for (id, step) in &ctx.steps {
        let Some(d) = parsed.get(id) else { continue };
        let pairs = step
            .needs
            .iter()
            .filter_map(|n| {
                parsed
                    .get(n.value.as_str())
                    .and_then(|nd| nd.due.as_ref())
                    .map(|e| (n.value.as_str(), e))
            })
            .filter_map(|(n, need_due)| d.due.as_ref().map(|due| ("needs", n, due, need_due)));
        let opens = d
            .opens
            .as_ref()
            .zip(d.due.as_ref())
            .map(|(o, due)| ("opens", *id, due, o));
        for (kind, other, mine, theirs) in pairs.chain(opens) {
            let mut names = Vec::new();
            params_used(parsed, mine, &mut names, 0);
            params_used(parsed, theirs, &mut names, 0);
            for choice in param_choices(ctx, &names) {
                let values: HashMap<&str, i64> =
                    choice.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                let (Some((a1, h1)), Some((a2, h2))) = (
                    static_offset(ctx, parsed, mine, &values, 0),
                    static_offset(ctx, parsed, theirs, &values, 0),
                ) else {
                    break;
                };
                if a1 != a2 || h1 >= h2 {
                    continue;
                }
                let with = if choice.is_empty() {
                    String::new()
                } else {
                    let mut v: Vec<String> =
                        choice.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    v.sort();
                    format!(" (当 {} 时)", v.join(", "))
                };
                let message = if kind == "opens" {
                    format!(
                        "opens ({}) 晚于 due ({}){with}: 这一步永远无法按时完成",
                        describe(ctx, &a2, h2),
                        describe(ctx, &a1, h1)
                    )
                } else {
                    format!(
                        "截止时间 {} 早于它所需步骤 \"{other}\" 的截止时间 {}{with}: 计划不可行",
                        describe(ctx, &a1, h1),
                        describe(ctx, &a2, h2)
                    )
                };
                problems.push((id, message));
                break;
            }
        }
    }
    for (id, message) in problems {
        let step = ctx.steps[id];
        let place = step.due.as_ref().unwrap_or(&step.id);
        let (line, column) = (place.referenced.line(), place.referenced.column());
        ctx.out.push(Diagnostic {
            file: ctx.file.to_owned(),
            line,
            column,
            step: Some(id.to_owned()),
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_typos() {
        assert_eq!(
            suggest("voter_lst", ["voter_list", "vote", "audit"]),
            Some("voter_list")
        );
        assert_eq!(suggest("zzz", ["voter_list", "vote"]), None);
        assert_eq!(suggest("vilage", ["village", "group"]), Some("village"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3d"), Ok(72));
        assert_eq!(parse_duration("0d"), Ok(0));
        assert_eq!(parse_duration("12h"), Ok(12));
        assert_eq!(parse_duration("2w"), Ok(336));
        assert!(parse_duration("3").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
