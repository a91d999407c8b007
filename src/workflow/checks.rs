//! Check expressions: CEL over the evidence recorded in a unit (DESIGN §3.1).
//!
//! Each step's recorded fields are one CEL map named after the step, so
//! `vote.ballots_cast * 2 > voter_list.registered_voters` reads the way a clerk says it.
//! Expressions are compiled when the file loads; a failing check is a finding, never a reason to refuse the evidence.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use cel::{Context, ExecutionError, Program, Value};
use serde::Serialize;
use serde_json::Value as Json;

/// A compiled check expression, shared by every task that evaluates it.
#[derive(Clone)]
pub struct CompiledExpr(Arc<Program>);

impl fmt::Debug for CompiledExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CompiledExpr")
    }
}

/// Why an expression does not compile: the 1-based character position inside it and the
/// problem, in words a workflow author can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub column: usize,
    pub message: String,
}

impl CompileError {
    /// The expression with a caret under the failing character.
    pub fn caret(&self, expr: &str) -> String {
        let pad: String = expr
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c.is_ascii() { ' ' } else { '\u{3000}' })
            .collect();
        format!("    {expr}\n    {pad}^")
    }
}

/// Compiles one expression and returns it with the top-level names it reads.
pub fn compile(expr: &str) -> Result<(CompiledExpr, Vec<String>), CompileError> {
    match Program::compile(expr) {
        Ok(program) => {
            let mut names: Vec<String> = program
                .references()
                .variables()
                .into_iter()
                .map(str::to_owned)
                .collect();
            names.sort();
            Ok((CompiledExpr(Arc::new(program)), names))
        }
        Err(errors) => {
            let first = errors.errors.first();
            let column = first.map_or(1, |e| e.pos.1.max(1) as usize);
            let raw = first.map_or_else(|| errors.to_string(), |e| e.msg.clone());
            Err(CompileError {
                column,
                message: describe_syntax_error(&raw),
            })
        }
    }
}

/// The parser lists every token it could have accepted; that list helps nobody writing a
/// check, so it is cut and the rest is put in Chinese.
fn describe_syntax_error(raw: &str) -> String {
    let text = raw.strip_prefix("Syntax error: ").unwrap_or(raw);
    let text = match text.find(" expecting ") {
        Some(i) => &text[..i],
        None => text,
    };
    if let Some(rest) = text.strip_prefix("token recognition error at: ") {
        return format!("无法识别的字符 {rest} (字符串没有结束, 或用了全角符号?)");
    }
    if let Some(rest) = text.strip_prefix("extraneous input ") {
        return format!("多余的 {rest}");
    }
    if let Some(rest) = text.strip_prefix("mismatched input ") {
        if rest.starts_with("'<EOF>'") {
            return "表达式不完整".to_owned();
        }
        return format!("此处不应出现 {rest}");
    }
    if let Some(rest) = text.strip_prefix("no viable alternative at input ") {
        return format!("无法理解 {rest}");
    }
    format!("语法错误: {text}")
}

/// The evidence of one unit: step id → the fields recorded when the step was ticked off.
pub type Evidence = BTreeMap<String, serde_json::Map<String, Json>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// The evidence contradicts the rule; the check's message says what.
    Failed,
    /// A field the rule reads is not recorded yet, or the rule cannot be evaluated.
    Undecided,
}

/// The result of one check on one task, kept with the task and shown to the person ticking it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub expr: String,
    pub outcome: Outcome,
    pub message: String,
}

/// Evaluates a compiled check against the evidence.
pub fn evaluate(compiled: &CompiledExpr, evidence: &Evidence) -> Result<bool, String> {
    let mut context = Context::default();
    for (step, fields) in evidence {
        let map: HashMap<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.clone(), json_to_cel(v)))
            .collect();
        context.add_variable_from_value(step.as_str(), map);
    }
    match compiled.0.execute(&context) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("结果不是真假值 ({other:?})")),
        Err(e) => Err(describe_execution_error(&e)),
    }
}

fn describe_execution_error(error: &ExecutionError) -> String {
    match error {
        ExecutionError::UndeclaredReference(name) => format!("步骤 {name} 尚未记录"),
        ExecutionError::NoSuchKey(key) => format!("字段 {key} 尚未填写"),
        other => format!("无法计算: {other}"),
    }
}

fn json_to_cel(value: &Json) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => Value::List(Arc::new(items.iter().map(json_to_cel).collect())),
        Json::Object(map) => {
            let map: HashMap<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), json_to_cel(v)))
                .collect();
            Value::from(map)
        }
    }
}

/// Runs every check of a step and reports those that did not pass.
pub fn findings<'a>(
    checks: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a CompiledExpr>)>,
    evidence: &Evidence,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (expr, message, compiled) in checks {
        let Some(compiled) = compiled else { continue };
        match evaluate(compiled, evidence) {
            Ok(true) => {}
            Ok(false) => out.push(Finding {
                expr: expr.to_owned(),
                outcome: Outcome::Failed,
                message: message.to_owned(),
            }),
            Err(reason) => out.push(Finding {
                expr: expr.to_owned(),
                outcome: Outcome::Undecided,
                message: format!("{message} (无法判断: {reason})"),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evidence(value: Json) -> Evidence {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn compiles_and_names_the_steps_it_reads() {
        let (_, names) = compile("vote.ballots_cast * 2 > voter_list.registered_voters").unwrap();
        assert_eq!(names, ["vote", "voter_list"]);
    }

    #[test]
    fn syntax_errors_point_at_the_character() {
        let expr = "vote.ballots_cast * > 2";
        let e = compile(expr).unwrap_err();
        assert_eq!(e.column, 21);
        assert!(e.message.contains("多余的 '>'"), "{}", e.message);
        assert!(e.caret(expr).ends_with(&format!("{}^", " ".repeat(24))));
        let e = compile("vote.note == 'x").unwrap_err();
        assert!(e.message.contains("无法识别"), "{}", e.message);
        assert!(compile("vote.ballots_cast >")
            .unwrap_err()
            .message
            .contains("不完整"));
    }

    #[test]
    fn evaluates_against_evidence() {
        let (c, _) = compile("vote.ballots_cast * 2 > voter_list.registered_voters").unwrap();
        let ok = evidence(
            json!({"vote": {"ballots_cast": 16}, "voter_list": {"registered_voters": 30}}),
        );
        let short = evidence(
            json!({"vote": {"ballots_cast": 15}, "voter_list": {"registered_voters": 30}}),
        );
        assert_eq!(evaluate(&c, &ok), Ok(true));
        assert_eq!(evaluate(&c, &short), Ok(false));
        let missing = evidence(json!({"vote": {"ballots_cast": 15}}));
        assert!(evaluate(&c, &missing).unwrap_err().contains("voter_list"));
        let no_field = evidence(json!({"vote": {}, "voter_list": {"registered_voters": 30}}));
        assert!(evaluate(&c, &no_field)
            .unwrap_err()
            .contains("ballots_cast"));
    }

    #[test]
    fn findings_list_failures_and_undecided_checks() {
        let (a, _) = compile("vote.women_elected >= 1").unwrap();
        let (b, _) = compile("vote.secret_booth").unwrap();
        let (c, _) = compile("vote.ballots_cast > 0").unwrap();
        let ev = evidence(json!({"vote": {"women_elected": 0, "ballots_cast": 3}}));
        let found = findings(
            [
                ("vote.women_elected >= 1", "应有妇女成员", Some(&a)),
                ("vote.secret_booth", "应设秘密写票处", Some(&b)),
                ("vote.ballots_cast > 0", "有人投票", Some(&c)),
            ],
            &ev,
        );
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].outcome, Outcome::Failed);
        assert_eq!(found[0].message, "应有妇女成员");
        assert_eq!(found[1].outcome, Outcome::Undecided);
        assert!(found[1].message.contains("secret_booth"));
    }

    #[test]
    fn numbers_keep_their_kind() {
        let (c, _) = compile("m.share > 0.5 && m.count == 3").unwrap();
        let ev = evidence(json!({"m": {"share": 0.75, "count": 3}}));
        assert_eq!(evaluate(&c, &ev), Ok(true));
    }
}
