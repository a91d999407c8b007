//! `huanjie check`: every shipped workflow passes, and every file of the broken corpus fails
//! with the error it names.

use std::path::{Path, PathBuf};
use std::process::Command;

fn files_in(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// The `# expect:` and optional `# line:` header of a corpus file.
fn expectation(bytes: &[u8]) -> (String, Option<u64>) {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let expect = lines
        .next()
        .and_then(|l| l.strip_prefix("# expect:"))
        .map(|s| s.trim().to_owned())
        .expect("a corpus file starts with `# expect: ...`");
    let line = lines
        .next()
        .and_then(|l| l.strip_prefix("# line:"))
        .map(|n| n.trim().parse().expect("# line: N"));
    (expect, line)
}

#[test]
fn shipped_workflows_pass() {
    let mut files = files_in("workflows");
    files.extend(files_in("tests/fixtures/workflows/good"));
    assert!(!files.is_empty());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        if let Err(problems) = huanjie::workflow::load(&path.display().to_string(), &bytes) {
            let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            panic!("{} should pass:\n{}", path.display(), text.join("\n"));
        }
    }
}

#[test]
fn every_broken_file_fails_with_its_error() {
    let files = files_in("tests/fixtures/workflows/bad");
    assert!(files.len() >= 30, "the corpus has {} files", files.len());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let (expect, line) = expectation(&bytes);
        let name = path.display().to_string();
        let problems = match huanjie::workflow::load(&name, &bytes) {
            Ok(_) => panic!("{name} passed, but should fail with {expect:?}"),
            Err(p) => p,
        };
        let rendered: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            rendered.iter().any(|r| r.contains(&expect)),
            "{name}: expected {expect:?} in:\n{}",
            rendered.join("\n")
        );
        if let Some(line) = line {
            assert!(
                problems.iter().any(|p| p.line == line),
                "{name}: no diagnostic on line {line}:\n{}",
                rendered.join("\n")
            );
        }
        assert!(
            problems.iter().all(|p| p.file == name && p.line > 0),
            "{name}: every diagnostic names file and line: {rendered:?}"
        );
    }
}

#[test]
fn a_ten_megabyte_file_is_refused_cheaply() {
    let mut big = b"id: big\nversion: \"1\"\ntitle: x\nstages: []\n".to_vec();
    big.resize(10 * 1024 * 1024, b'#');
    let problems = huanjie::workflow::load("big.yaml", &big).unwrap_err();
    assert!(problems[0].message.contains("文件过大"), "{problems:?}");
}

#[test]
fn check_reports_every_error_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let good =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/workflows/good/example.yaml");
    let text = std::fs::read_to_string(&good).unwrap();
    let bad = dir.path().join("two-mistakes.yaml");
    std::fs::write(
        &bad,
        text.replacen("needs: [audit]", "needs: [audti]", 1)
            .replacen("owner: village\n", "owner: vilage\n", 1),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_huanjie"))
        .arg("check")
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("example.yaml: 通过"), "{stdout}");
    assert!(stderr.contains("是不是 \"audit\"?"), "{stderr}");
    assert!(stderr.contains("是不是 \"village\"?"), "{stderr}");
    let first = stderr.lines().next().unwrap();
    assert!(first.starts_with(&format!("{}:", bad.display())), "{first}");
    let out = Command::new(env!("CARGO_BIN_EXE_huanjie"))
        .arg("check")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
}
