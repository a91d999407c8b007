//! Evidence: the fields a step records when it is ticked off, checked against its `record`
//! spec. Values arrive from phone forms, so numbers written as text are accepted and stored as
//! numbers; everything else that does not fit is refused field by field, in Chinese.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model::{FieldDef, FieldType};
use crate::error::FieldError;

/// Longest text a field may hold; a note, not a document.
pub const MAX_TEXT_CHARS: usize = 2000;

/// One recorded field, independent of where it was declared (a workflow step or an ad-hoc
/// task), so both validate the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(rename = "type")]
    pub kind: FieldKind,
    pub title: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Integer,
    Number,
    Date,
    Datetime,
    Text,
    Boolean,
}

impl FieldKind {
    fn name_zh(self) -> &'static str {
        match self {
            FieldKind::Integer => "整数",
            FieldKind::Number => "数字",
            FieldKind::Date => "日期 (如 2026-12-20)",
            FieldKind::Datetime => "日期时间 (如 2026-12-20T09:00:00+08:00)",
            FieldKind::Text => "文字",
            FieldKind::Boolean => "是/否 (true/false)",
        }
    }
}

impl From<&FieldDef> for FieldSpec {
    fn from(def: &FieldDef) -> Self {
        FieldSpec {
            kind: match def.kind {
                FieldType::Integer => FieldKind::Integer,
                FieldType::Number => FieldKind::Number,
                FieldType::Date => FieldKind::Date,
                FieldType::Datetime => FieldKind::Datetime,
                FieldType::Text => FieldKind::Text,
                FieldType::Boolean => FieldKind::Boolean,
            },
            title: def.title.clone(),
            required: def.required,
            min: def.min,
            max: def.max,
        }
    }
}

pub type RecordSpec = BTreeMap<String, FieldSpec>;

/// Checks submitted evidence and returns it normalised (numbers as numbers, datetimes in UTC,
/// text trimmed, empty optional fields dropped). Every problem is reported, not only the first.
pub fn validate(
    spec: &RecordSpec,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Map::new();
    for name in given.keys() {
        if !spec.contains_key(name) {
            let known: Vec<&str> = spec.keys().map(String::as_str).collect();
            let hint = match super::validate::suggest(name, known.iter().copied()) {
                Some(s) => format!("是不是 \"{s}\"? "),
                None => String::new(),
            };
            errors.push(FieldError::new(
                format!("evidence.{name}"),
                if known.is_empty() {
                    "此步骤不记录任何字段".to_owned()
                } else {
                    format!("未知字段; {hint}可填字段: {}", known.join(", "))
                },
            ));
        }
    }
    for (name, field) in spec {
        let path = format!("evidence.{name}");
        let value = given.get(name).filter(|v| !is_blank(v));
        let Some(value) = value else {
            if field.required {
                errors.push(FieldError::new(path, format!("请填写{}", field.title)));
            }
            continue;
        };
        match normalise(field, value) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(problem) => {
                errors.push(FieldError::new(path, format!("{}: {problem}", field.title)))
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn normalise(field: &FieldSpec, value: &Value) -> Result<Value, String> {
    let wrong = || format!("应为{}", field.kind.name_zh());
    let text = value.as_str().map(str::trim);
    match field.kind {
        FieldKind::Integer => {
            let n = match (value.as_i64(), text) {
                (Some(n), _) => n,
                (None, Some(t)) => t.parse::<i64>().map_err(|_| wrong())?,
                _ => return Err(wrong()),
            };
            within(field, n as f64)?;
            Ok(Value::from(n))
        }
        FieldKind::Number => {
            let n = match (value.as_f64(), text) {
                (Some(n), _) => n,
                (None, Some(t)) => t.parse::<f64>().map_err(|_| wrong())?,
                _ => return Err(wrong()),
            };
            if !n.is_finite() {
                return Err(wrong());
            }
            within(field, n)?;
            Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
        }
        FieldKind::Date => {
            let t = text.ok_or_else(wrong)?;
            let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| wrong())?;
            Ok(Value::from(d.to_string()))
        }
        FieldKind::Datetime => {
            let t = text.ok_or_else(wrong)?;
            let d = DateTime::parse_from_rfc3339(t).map_err(|_| wrong())?;
            Ok(Value::from(
                d.with_timezone(&Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ))
        }
        FieldKind::Text => {
            let t = text.ok_or_else(wrong)?;
            if t.chars().count() > MAX_TEXT_CHARS {
                return Err(format!("不能超过 {MAX_TEXT_CHARS} 字"));
            }
            Ok(Value::from(t))
        }
        FieldKind::Boolean => match (value, text) {
            (Value::Bool(b), _) => Ok(Value::from(*b)),
            (_, Some("true" | "是")) => Ok(Value::from(true)),
            (_, Some("false" | "否")) => Ok(Value::from(false)),
            _ => Err(wrong()),
        },
    }
}

fn within(field: &FieldSpec, n: f64) -> Result<(), String> {
    if let Some(min) = field.min {
        if n < min as f64 {
            return Err(format!("不能小于 {min}"));
        }
    }
    if let Some(max) = field.max {
        if n > max as f64 {
            return Err(format!("不能大于 {max}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> RecordSpec {
        serde_json::from_value(json!({
            "ballots_cast": {"type": "integer", "title": "参加投票人数", "required": true, "min": 0},
            "share": {"type": "number", "title": "比例", "max": 1},
            "held_on": {"type": "date", "title": "会议日期"},
            "at": {"type": "datetime", "title": "时间"},
            "secret_booth": {"type": "boolean", "title": "设立秘密写票处"},
            "remark": {"type": "text", "title": "备注"}
        }))
        .unwrap()
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn accepts_and_normalises_form_values() {
        let out = validate(
            &spec(),
            &map(json!({
                "ballots_cast": " 1203 ",
                "share": "0.5",
                "held_on": "2026-12-20",
                "at": "2026-12-20T09:00:00+08:00",
                "secret_booth": "是",
                "remark": "  顺利  ",
            })),
        )
        .unwrap();
        assert_eq!(out["ballots_cast"], json!(1203));
        assert_eq!(out["share"], json!(0.5));
        assert_eq!(out["at"], json!("2026-12-20T01:00:00Z"));
        assert_eq!(out["secret_booth"], json!(true));
        assert_eq!(out["remark"], json!("顺利"));
    }

    #[test]
    fn reports_every_problem_by_field() {
        let errors = validate(
            &spec(),
            &map(json!({
                "share": 2,
                "held_on": "20.12.2026",
                "secret_booth": "maybe",
                "ballot_cast": 3,
            })),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "evidence.ballot_cast",
                "evidence.ballots_cast",
                "evidence.held_on",
                "evidence.secret_booth",
                "evidence.share"
            ]
        );
        assert!(
            errors[0].message.contains("是不是 \"ballots_cast\""),
            "{errors:?}"
        );
        assert_eq!(errors[1].message, "请填写参加投票人数");
        assert!(errors[2].message.contains("应为日期"));
        assert!(errors[4].message.contains("不能大于 1"));
    }

    #[test]
    fn bounds_and_types_hold_for_integers() {
        let e = validate(&spec(), &map(json!({"ballots_cast": -1}))).unwrap_err();
        assert!(e[0].message.contains("不能小于 0"));
        let e = validate(&spec(), &map(json!({"ballots_cast": 1.5}))).unwrap_err();
        assert!(e[0].message.contains("应为整数"));
        let e = validate(&spec(), &map(json!({"ballots_cast": "十二"}))).unwrap_err();
        assert!(e[0].message.contains("应为整数"));
        let e = validate(
            &spec(),
            &map(json!({"ballots_cast": 1, "remark": "字".repeat(2001)})),
        )
        .unwrap_err();
        assert!(e[0].message.contains("2000"));
    }
}
