//! The JSON Schema of the workflow format: the copy shipped in `workflows/` is the one the types
//! generate, it describes every shipped workflow, and it refuses what the loader refuses.
//! After an intended change to `src/workflow/model.rs`, regenerate the copy with
//! `huanjie schema workflow > workflows/workflow.schema.json` (or `UPDATE_SNAPSHOTS=1 cargo test`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shipped_path() -> PathBuf {
    root().join("workflows/workflow.schema.json")
}

/// Pretty JSON with a final newline, as `huanjie schema workflow` prints it.
fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap() + "\n"
}

fn workflow_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// A workflow file as the JSON document an editor validates against the schema.
fn as_json(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&huanjie::workflow::json_schema()).expect("a valid JSON Schema")
}

#[test]
fn shipped_schema_is_what_the_types_generate() {
    let generated = pretty(&huanjie::workflow::json_schema());
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(shipped_path(), &generated).unwrap();
    }
    let shipped = std::fs::read_to_string(shipped_path()).unwrap();
    assert!(
        shipped == generated,
        "{} is out of date: regenerate with `huanjie schema workflow > workflows/workflow.schema.json`",
        shipped_path().display()
    );
}

#[test]
fn the_command_prints_the_shipped_schema() {
    let out = Command::new(env!("CARGO_BIN_EXE_huanjie"))
        .args(["schema", "workflow"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, huanjie::workflow::json_schema());
}

#[test]
fn schema_states_the_rules_editors_need() {
    let schema = huanjie::workflow::json_schema();
    let defs = &schema["$defs"];
    assert_eq!(schema["additionalProperties"], json!(false), "Workflow");
    assert_eq!(defs["Step"]["additionalProperties"], json!(false), "Step");
    assert_eq!(
        schema["required"],
        json!(["id", "version", "title", "stages"])
    );
    assert_eq!(
        defs["FieldDef"]["properties"]["type"]["$ref"],
        json!("#/$defs/FieldType")
    );
    assert_eq!(
        defs["FieldType"]["enum"],
        json!(["integer", "number", "date", "datetime", "text", "boolean"])
    );
    // Spanned fields appear as their plain value.
    assert_eq!(schema["properties"]["id"]["type"], json!("string"));
    assert_eq!(
        defs["Step"]["properties"]["needs"]["items"],
        json!({ "type": "string" })
    );
    assert_eq!(
        schema["properties"]["anchors"]["additionalProperties"],
        json!({ "$ref": "#/$defs/AnchorDef" })
    );
    assert_eq!(
        defs["Step"]["properties"]["scope"]["enum"],
        json!(["county", "township", "district", "village", "group"])
    );
    // Editors show the descriptions: every field has one.
    let objects = std::iter::once(&schema).chain(defs.as_object().unwrap().values());
    for object in objects {
        for (name, property) in object["properties"].as_object().into_iter().flatten() {
            let description = property["description"].as_str().unwrap_or_default();
            assert!(!description.is_empty(), "field {name} has no description");
        }
    }
}

#[test]
fn schema_accepts_every_shipped_workflow() {
    let validator = validator();
    let files = workflow_files();
    assert_eq!(files.len(), 4);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=workflow.schema.json\n"),
            "{} names its schema on the first line",
            path.display()
        );
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&text))
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn schema_refuses_unknown_fields_and_types() {
    let validator = validator();
    let text = std::fs::read_to_string(root().join("workflows/village-committee.yaml")).unwrap();
    assert!(validator.is_valid(&as_json(&text)));
    for (what, broken) in [
        ("top-level field", format!("author: 张三\n{text}")),
        (
            "step field",
            text.replacen("        owner: ", "        assignee: x\n        owner: ", 1),
        ),
        (
            "record field type",
            text.replacen("type: integer", "type: integr", 1),
        ),
        ("scope", text.replacen("scope: village", "scope: vilage", 1)),
    ] {
        assert_ne!(broken, text, "{what}: the edit applies");
        assert!(
            !validator.is_valid(&as_json(&broken)),
            "the schema accepts an unknown {what}"
        );
    }
}
