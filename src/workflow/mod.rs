//! Declarative workflow files: the format ([`model`]), deadline expressions ([`deadline`]) and
//! validation ([`validate`]). Pure: no HTTP, no SQL.

pub mod checks;
pub mod deadline;
pub mod evidence;
pub mod model;
mod parser_error;
pub mod validate;

pub use model::Workflow;
pub use validate::Diagnostic;

/// Workflow files are short; the bound keeps a hostile file cheap to refuse.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

fn diagnostic(file: &str, line: u64, column: u64, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: file.to_owned(),
        line,
        column,
        step: None,
        message: message.into(),
    }
}

/// Budgets far above any real workflow (a few hundred nodes) and far below what hurts: an
/// alias or merge-key bomb of a few hundred bytes stops within milliseconds.
fn parser_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 50_000;
    budget.max_events = 100_000;
    budget.max_aliases = 2_000;
    budget.max_merge_keys = 2_000;
    budget.max_depth = 64;
    budget.max_total_scalar_bytes = MAX_FILE_BYTES;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// The JSON Schema of the workflow format, generated from [`model`]; `workflows/` ships a copy
/// that editors pick up (`huanjie schema workflow` prints it).
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(Workflow).to_value()
}

/// Reads and validates a workflow file. `file` names it in the diagnostics.
pub fn load(file: &str, bytes: &[u8]) -> Result<Workflow, Vec<Diagnostic>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(vec![diagnostic(
            file,
            1,
            1,
            format!(
                "文件过大 ({} KB), 工作流文件上限为 {} KB",
                bytes.len() / 1024,
                MAX_FILE_BYTES / 1024
            ),
        )]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let column = before.iter().rev().take_while(|b| **b != b'\n').count() as u64 + 1;
        vec![diagnostic(
            file,
            line,
            column,
            "文件不是 UTF-8 编码, 请用 UTF-8 保存",
        )]
    })?;
    let workflow: Workflow =
        serde_saphyr::from_str_with_options(text, parser_options()).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            vec![diagnostic(
                file,
                line,
                column,
                parser_error::message(&e, text),
            )]
        })?;
    let mut workflow = workflow;
    let problems = validate::validate(file, &workflow);
    if problems.is_empty() {
        for check in workflow
            .stages
            .iter_mut()
            .flat_map(|s| &mut s.steps)
            .flat_map(|s| &mut s.checks)
        {
            // Validation compiled every expression already, so this cannot fail.
            check.value.compiled = checks::compile(&check.value.expr).ok().map(|(c, _)| c);
        }
        Ok(workflow)
    } else {
        Err(problems)
    }
}

/// The shipped workflow files, built into the binary so a server started anywhere (the demo,
/// a fresh install without a `workflows/` directory) has the four election types.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "village-committee.yaml",
        include_str!("../../workflows/village-committee.yaml"),
    ),
    (
        "residents-committee.yaml",
        include_str!("../../workflows/residents-committee.yaml"),
    ),
    (
        "township-congress.yaml",
        include_str!("../../workflows/township-congress.yaml"),
    ),
    (
        "party-branch.yaml",
        include_str!("../../workflows/party-branch.yaml"),
    ),
];
