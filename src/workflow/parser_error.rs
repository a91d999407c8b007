//! The YAML parser's errors in Chinese. serde-saphyr reports what went wrong as structured
//! variants (the unknown field and the known ones, the missing field, the expected type); the
//! common ones are said again in the author's language with the same specifics, the rest keep
//! the parser's text behind a Chinese prefix.

use serde_saphyr::{
    DefaultMessageFormatter, Error, Location, MessageFormatter, UserMessageFormatter,
};

use super::validate::suggest;

/// The message for a parser error on `text`, without its place (the diagnostic carries that).
pub(super) fn message(error: &Error, text: &str) -> String {
    let error = cause(error);
    let message = match error {
        Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let known = expected.join(", ");
            match suggest(field, expected.iter().copied()) {
                Some(s) => format!("未知字段 \"{field}\"; 是不是 \"{s}\"? 可用字段: {known}"),
                None => format!("未知字段 \"{field}\"; 可用字段: {known}"),
            }
        }
        Error::SerdeMissingField { field, .. } => format!("缺少必填字段 \"{field}\""),
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            let message = format!("取值 \"{variant}\" 无效, 应为 {} 之一", expected.join(", "));
            match suggest(variant, expected.iter().copied()) {
                Some(s) => format!("{message}; 是不是 \"{s}\"?"),
                None => message,
            }
        }
        Error::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => format!(
            "字段类型不对: 应为{}, 实际为{}",
            expected_type(expected),
            actual_value(unexpected)
        ),
        Error::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => format!(
            "取值不对: 应为{}, 实际为{}",
            expected_type(expected),
            actual_value(unexpected)
        ),
        Error::InvalidScalar { ty, location } => wrong_type(ty, text, *location),
        // The parser saw a scalar where a list or a mapping belongs, or the reverse.
        Error::Unexpected { expected, location } => match *expected {
            "sequence start" => wrong_type("a sequence", text, *location),
            "mapping start" => wrong_type("a map", text, *location),
            "string scalar" => wrong_type("a string", text, *location),
            _ => format!("YAML 格式错误: {}", original(error)),
        },
        Error::InvalidBooleanStrict { .. } => "字段类型不对: 应为布尔值 (true 或 false)".to_owned(),
        Error::NullIntoString { .. } => "值不能为空".to_owned(),
        Error::Eof { .. } => "文件意外结束, 内容不完整".to_owned(),
        Error::DuplicateMappingKey { key, .. } => match key {
            Some(k) => format!("键 \"{k}\" 重复: 同一层中每个键只能写一次"),
            None => "同一层中有重复的键: 每个键只能写一次".to_owned(),
        },
        // The user formatter words a budget breach vaguely; the developer one names the limit.
        Error::Budget { .. } => format!(
            "文件结构过于庞大 (别名展开、合并或嵌套过深), 已拒绝 ({})",
            DefaultMessageFormatter.format_message(error)
        ),
        _ => {
            let original = original(error);
            let hint = if original.contains("tabs disallowed") || original.contains("found a tab") {
                "不能用 Tab 缩进, 请改用空格"
            } else if original.contains("mapping values are not allowed") {
                "此处不能写 \"键: 值\": 多半是缩进不对, 或值里的冒号需要加引号"
            } else if original.contains("recursion limit exceeded") {
                "嵌套层次过深"
            } else {
                ""
            };
            if hint.is_empty() {
                format!("YAML 格式错误: {original}")
            } else {
                format!("YAML 格式错误: {hint} ({original})")
            }
        }
    };
    printable(&message)
}

/// The error itself, without the wrappers that only add a snippet or an alias's place.
fn cause(mut error: &Error) -> &Error {
    while let Error::WithSnippet { error: inner, .. } | Error::AliasError { error: inner, .. } =
        error
    {
        error = inner;
    }
    error
}

/// The parser's own wording (for people, not for the program calling it), first line only.
fn original(error: &Error) -> String {
    let text = UserMessageFormatter.format_message(error);
    text.lines().next().unwrap_or_default().to_owned()
}

/// Serde's name of what a field expects, e.g. `i64`, `a string`, `struct Step`.
fn expected_type(expected: &str) -> String {
    let name = match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize"
        | "isize" => "整数",
        "f32" | "f64" => "数字",
        "a string" | "string" | "str" | "char" => "字符串",
        "a boolean" | "boolean" | "bool" => "布尔值 (true 或 false)",
        "a sequence" => "列表",
        "a map" => "映射 (键: 值)",
        s if s.starts_with("struct ") => "映射 (键: 值)",
        other => return format!(" {other}"),
    };
    name.to_owned()
}

/// Serde's description of the value found (its `Unexpected`), e.g. `string "abc"`,
/// ``integer `5` ``, `sequence`.
fn actual_value(unexpected: &str) -> String {
    let unquote = |s: &str| s.trim_matches('`').to_owned();
    if let Some(rest) = unexpected.strip_prefix("string ") {
        format!("字符串 {rest}")
    } else if let Some(rest) = unexpected.strip_prefix("integer ") {
        format!("整数 {}", unquote(rest))
    } else if let Some(rest) = unexpected.strip_prefix("floating point ") {
        format!("小数 {}", unquote(rest))
    } else if let Some(rest) = unexpected.strip_prefix("boolean ") {
        format!("布尔值 {}", unquote(rest))
    } else {
        match unexpected {
            "sequence" => "列表".to_owned(),
            "map" => "映射".to_owned(),
            "unit value" | "Option value" => "空值".to_owned(),
            other => format!(" {other}"),
        }
    }
}

/// A type error that names only the type expected: the value found is read from the file.
fn wrong_type(expected: &str, text: &str, location: Location) -> String {
    let expected = expected_type(expected);
    match found_at(text, location) {
        // Digits that fail as an integer are too large for one.
        Some(value) if expected == "整数" && unquoted(&value).parse::<i128>().is_ok() => {
            format!("整数 {} 超出范围", unquoted(&value))
        }
        Some(value) => format!("字段类型不对: 应为{expected}, 实际为{value}"),
        None => format!("字段类型不对: 应为{expected}"),
    }
}

fn unquoted(value: &str) -> &str {
    value.trim().trim_matches('"')
}

/// What is written at `location`: a scalar as written (quoted), or the kind of collection;
/// with a leading space where a quoted value follows Chinese text.
fn found_at(text: &str, location: Location) -> Option<String> {
    let line = text
        .lines()
        .nth(usize::try_from(location.line()).ok()?.checked_sub(1)?)?;
    let start = usize::try_from(location.column()).ok()?.checked_sub(1)?;
    let rest: String = line.chars().skip(start).collect();
    let value = match rest.chars().next()? {
        '[' => return Some("列表".to_owned()),
        '{' => return Some("映射".to_owned()),
        '-' if rest.len() == 1 || rest.starts_with("- ") => return Some("列表".to_owned()),
        q @ ('"' | '\'') => {
            let end = rest[1..].find(q)? + 2;
            rest[..end].to_owned()
        }
        // A plain scalar ends at a flow indicator or a comment.
        _ => {
            let end = rest
                .char_indices()
                .find(|&(i, c)| {
                    matches!(c, ',' | '}' | ']') || (c == '#' && rest[..i].ends_with(' '))
                })
                .map_or(rest.len(), |(i, _)| i);
            let value = rest[..end].trim();
            if value.is_empty() {
                return None;
            }
            if value.ends_with(':') || value.contains(": ") {
                return Some("映射".to_owned());
            }
            format!("\"{value}\"")
        }
    };
    Some(format!(" {value}"))
}

/// Control characters from the file are shown escaped, never sent to the terminal.
fn printable(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    const HEAD: &str =
        "id: t\nversion: \"1\"\ntitle: t\nroles: { cadre: { title: c, level: village } }\n";
    const STEP: &str = "stages:\n  - id: s\n    title: s\n    steps:\n      - id: a\n        title: a\n        scope: village\n        owner: cadre\n        due: election_day\n";

    /// The one diagnostic of a file that fails to parse, as `file:line:col: message`.
    fn error(text: &str) -> String {
        let problems = crate::workflow::load("t.yaml", text.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        problems[0].to_string()
    }

    #[test]
    fn unknown_fields_name_the_known_ones_and_the_likely_one() {
        let e = error(&format!("{HEAD}{STEP}        dew: x\n"));
        assert!(
            e.starts_with("t.yaml:14:9: 未知字段 \"dew\"; 是不是 \"due\"? 可用字段: id, title, "),
            "{e}"
        );
        let e = error(&format!("author: x\n{HEAD}stages: []\n"));
        assert!(
            e.ends_with("未知字段 \"author\"; 可用字段: id, version, title, basis, description, anchors, params, roles, reminders, escalation, stages"),
            "{e}"
        );
    }

    #[test]
    fn missing_fields() {
        assert_eq!(error(HEAD), "t.yaml:4:1: 缺少必填字段 \"stages\"");
    }

    #[test]
    fn wrong_types_show_what_was_written() {
        let record = |field: &str| {
            error(&format!(
                "{HEAD}{STEP}        record: {{ n: {{ type: integer, title: 选民数, {field} }} }}\n"
            ))
        };
        assert!(
            record("required: maybe")
                .ends_with("字段类型不对: 应为布尔值 (true 或 false), 实际为 \"maybe\""),
            "{}",
            record("required: maybe")
        );
        // The column counts characters, so Chinese text before the value does not shift it.
        assert!(record("min: 五").ends_with("字段类型不对: 应为整数, 实际为 \"五\""));
        assert!(record("min: 99999999999999999999").ends_with("整数 99999999999999999999 超出范围"));
        let e = error(&format!("{HEAD}{STEP}        needs: audit\n"));
        assert_eq!(e, "t.yaml:14:16: 字段类型不对: 应为列表, 实际为 \"audit\"");
        let e = error(&format!("{HEAD}{STEP}        basis: [a]\n"));
        assert!(e.ends_with("字段类型不对: 应为字符串, 实际为列表"), "{e}");
        let e = error(&format!(
            "{HEAD}stages:\n  - id: s\n    title:\n    steps: []\n"
        ));
        assert_eq!(e, "t.yaml:7:10: 值不能为空");
    }

    #[test]
    fn unknown_variants_list_the_known_ones() {
        let e = error(&format!(
            "{HEAD}{STEP}        record: {{ n: {{ type: Integer, title: n }} }}\n"
        ));
        assert!(
            e.ends_with("取值 \"Integer\" 无效, 应为 integer, number, date, datetime, text, boolean 之一; 是不是 \"integer\"?"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_keys() {
        let e = error(&format!("{HEAD}{STEP}        title: b\n"));
        assert_eq!(
            e,
            "t.yaml:14:9: 键 \"title\" 重复: 同一层中每个键只能写一次"
        );
    }

    #[test]
    fn other_errors_keep_the_parser_text_behind_a_chinese_prefix() {
        let e = error(&format!("{HEAD}stages: *nowhere\n"));
        assert_eq!(e, "t.yaml:5:9: YAML 格式错误: reference to unknown value");
        let e = error("id: t\nroles:\n\tcadre: x\n");
        assert!(
            e.contains("YAML 格式错误: 不能用 Tab 缩进, 请改用空格 (tabs disallowed"),
            "{e}"
        );
        let e = error("id: t\n\tversion: \"1\"\n");
        assert!(
            e.contains("不能用 Tab 缩进, 请改用空格 (while scanning"),
            "{e}"
        );
    }

    #[test]
    fn control_characters_from_the_file_are_escaped() {
        let e = error(&format!("\"du\\ae\": x\n{HEAD}stages: []\n"));
        assert!(!e.contains('\u{7}') && e.contains("du\\u{7}e"), "{e}");
    }
}
