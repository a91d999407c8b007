//! The `huanjie` binary: help, configuration errors, import, export and a real server.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;

/// A session key for the servers the tests start (production mode needs one).
const TEST_SESSION_KEY: &str =
    "LnXRVOi2HXvGUmulVWySUYE4DzKeyMV5Hs3AOlLoG0qZRhGXoix0K/Qp9LGaYB+Tun6VZPksaNQfxmse/5+jKw==";

/// The binary, untouched by any `HUANJIE_*` setting of the environment running the tests,
/// with a session key.
fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_huanjie"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("HUANJIE_")) {
        cmd.env_remove(k);
    }
    cmd.env("HUANJIE_SESSION_KEY", TEST_SESSION_KEY);
    cmd
}

/// Creates the admin `office` from the command line and returns a fresh API token for it.
fn office_token(dir: &std::path::Path, db_args: &[&str]) -> String {
    let mut child = binary()
        .current_dir(dir)
        .args(db_args)
        .args([
            "user",
            "create",
            "--admin",
            "--username",
            "office",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("换届办公室2026\n".as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("admin"), "{}", text(&out.stdout));
    cli_token(dir, db_args, "office")
}

fn cli_token(dir: &std::path::Path, db_args: &[&str], username: &str) -> String {
    let out = binary()
        .current_dir(dir)
        .args(db_args)
        .args(["token", "create", "--username", username, "--name", "测试"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    assert!(token.starts_with("hj_"), "{token}");
    token
}

fn huanjie(db: &huanjie::db::DatabaseUrl, args: &[&str]) -> Output {
    binary()
        .args(["--database-url", &db.to_string_unmasked()])
        .args(args)
        .output()
        .expect("run huanjie")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

trait Unmasked {
    fn to_string_unmasked(&self) -> String;
}

impl Unmasked for huanjie::db::DatabaseUrl {
    fn to_string_unmasked(&self) -> String {
        match self {
            huanjie::db::DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            huanjie::db::DatabaseUrl::Postgres(u) => u.clone(),
        }
    }
}

fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn help_explains_every_subcommand() {
    let out = Command::new(env!("CARGO_BIN_EXE_huanjie"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = text(&out.stdout);
    for sub in ["serve", "migrate", "import", "export"] {
        assert!(help.contains(sub), "{sub} missing from:\n{help}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_huanjie"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = text(&out.stdout);
    for flag in ["--bind", "--data-dir", "--config", "--demo", "HUANJIE_"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn a_bad_setting_stops_the_program_and_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_huanjie"))
        .args(["--data-dir", dir.path().to_str().unwrap(), "migrate"])
        .env("HUANJIE_TIMEZONE", "Asia/Shanhai")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("timezone")
            && err.contains("HUANJIE_TIMEZONE")
            && err.contains("Asia/Shanhai"),
        "{err}"
    );

    let config = dir.path().join("huanjie.toml");
    std::fs::write(
        &config,
        "[smtp]\nhost = \"mail.example.cn\"\nport = 99999\nfrom = \"xjb@example.cn\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_huanjie"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            dir.path().to_str().unwrap(),
            "migrate",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("smtp.port"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn import_preview_commit_export_and_reimport() {
    let (_db, url) = TestDb::create();
    let table = fixture_path("badu-18-districts.xlsx");

    let out = huanjie(
        &url,
        &["import", &table, "--township", "八渡镇", "--dry-run"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let preview = text(&out.stdout);
    assert!(
        preview.contains("新增选区(片区) 八渡镇/第一选区"),
        "{preview}"
    );
    assert!(preview.contains("未写入任何数据"), "{preview}");

    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("org.yaml");
    let out = huanjie(&url, &["export", "org", "-o", exported.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&exported)
            .unwrap()
            .lines()
            .filter(|l| l.contains("level:"))
            .count(),
        0,
        "a preview wrote nothing"
    );

    let out = huanjie(&url, &["import", &table, "--township", "八渡镇"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("已导入"));
    let out = huanjie(
        &url,
        &[
            "import",
            &fixture_path("badu-18-districts.csv"),
            "--township",
            "八渡镇",
        ],
    );
    assert!(
        text(&out.stdout).contains("没有需要修改的内容"),
        "{}",
        text(&out.stdout)
    );

    let out = huanjie(&url, &["export", "org", "-o", exported.to_str().unwrap()]);
    assert!(out.status.success());
    let yaml = std::fs::read_to_string(&exported).unwrap();
    assert_eq!(yaml.matches("level: district").count(), 18);
    let out = huanjie(&url, &["import", exported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("没有需要修改的内容"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_bad_table_fails_with_rows_and_columns() {
    let (_db, url) = TestDb::create();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "选区,村(社区),包村干部,电话\n第一选区,大禾村,王强,12345\n第一选区,,李娜,\n",
    )
    .unwrap();
    let out = huanjie(
        &url,
        &["import", bad.to_str().unwrap(), "--township", "八渡镇"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("第2行 D列(电话)"), "{err}");
    assert!(err.contains("第3行 B列(村(社区))"), "{err}");
    let out = huanjie(&url, &["import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("township"),
        "{}",
        text(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    http_get_as(port, path, None)
}

fn http_get_as(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Kills the server even when an assertion fails.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `huanjie serve` with `args` on a free port and waits until it listens.
fn start_server(dir: &std::path::Path, args: &[&str]) -> (Server, u16) {
    let port = free_port();
    let mut cmd = binary();
    cmd.current_dir(dir)
        .args(args)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let server = Server(cmd.spawn().unwrap());
    // Waiting for the server to start listening, not for a deadline.
    let started = Instant::now();
    while http_get(port, "/healthz").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

fn json_body(body: &str) -> serde_json::Value {
    serde_json::from_str(body.trim()).unwrap_or_else(|_| {
        // Chunked transfer: the JSON sits between the chunk-size lines.
        let json = body
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_default();
        serde_json::from_str(json).unwrap()
    })
}

#[test]
fn the_server_answers_over_http_with_the_demo_township() {
    let (_db, url) = TestDb::create();
    let data = tempfile::tempdir().unwrap();
    let db_url = url.to_string_unmasked();
    let (_server, port) = start_server(
        data.path(),
        &[
            "--database-url",
            &db_url,
            "--data-dir",
            data.path().to_str().unwrap(),
            "serve",
        ],
    );
    let (status, body) = http_get(port, "/healthz").unwrap();
    assert_eq!(status, 200);
    assert_eq!(json_body(&body)["database"], url.backend_name());
    let path = "/api/v1/units?level=village&per_page=1";
    let (status, body) = http_get(port, path).unwrap();
    assert_eq!(status, 401, "nobody gets in without credentials");
    assert_eq!(json_body(&body)["code"], "unauthorized");
    let token = office_token(data.path(), &["--database-url", &db_url]);
    let (status, body) = http_get_as(port, path, Some(&token)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(json_body(&body)["total"], 0, "no demo unless asked");
}

#[test]
fn with_no_configuration_the_server_runs_on_sqlite_in_the_data_dir() {
    let data = tempfile::tempdir().unwrap();
    // --demo loads the bundled township into the fresh embedded database.
    let (_server, port) = start_server(data.path(), &["serve", "--demo"]);
    assert!(
        data.path().join("data/huanjie.db").exists(),
        "the default is ./data/huanjie.db"
    );
    let (_, body) = http_get(port, "/healthz").unwrap();
    assert_eq!(json_body(&body)["database"], "sqlite");
    // The demo made an admin with a random password; a token for it comes from the CLI.
    let token = cli_token(data.path(), &[], "admin");
    let http_get = |port, path: &str| http_get_as(port, path, Some(&token));
    let (status, body) = http_get(port, "/api/v1/units?level=village&per_page=1").unwrap();
    assert_eq!(status, 200);
    assert_eq!(json_body(&body)["total"], 17);
    let (_, body) = http_get(port, "/api/v1/campaigns").unwrap();
    let campaigns = json_body(&body);
    assert_eq!(
        campaigns["items"].as_array().unwrap().len(),
        1,
        "a demo campaign runs"
    );
    let id = campaigns["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = http_get(port, &format!("/api/v1/campaigns/{id}/progress")).unwrap();
    assert_eq!(status, 200);
    assert!(
        json_body(&body)["counts"]["total"].as_u64().unwrap() > 500,
        "{body}"
    );
    let (status, body) = http_get(port, "/api/v1/units?level=planet").unwrap();
    assert_eq!(status, 422);
    assert!(body.contains("\"code\""), "{body}");
}

#[test]
fn the_server_stores_its_workflows_and_refuses_a_changed_file_under_the_same_version() {
    let (_db, url) = TestDb::create();
    let db_url = url.to_string_unmasked();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("workflows")).unwrap();
    let file = dir.path().join("workflows/village-committee.yaml");
    let original = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/village-committee.yaml"),
    )
    .unwrap();
    std::fs::write(&file, &original).unwrap();
    {
        let (_server, port) = start_server(dir.path(), &["--database-url", &db_url, "serve"]);
        let token = office_token(dir.path(), &["--database-url", &db_url]);
        let (status, body) = http_get_as(port, "/api/v1/workflows", Some(&token)).unwrap();
        assert_eq!(status, 200);
        let items = json_body(&body)["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1, "only the directory's file: {body}");
        assert_eq!(items[0]["id"], "village-committee");
    }

    std::fs::write(
        &file,
        original.replace("election_day - 20d", "election_day - 19d"),
    )
    .unwrap();
    let mut child = binary()
        .current_dir(dir.path())
        .args(["--database-url", &db_url, "serve"])
        .args(["--bind", &format!("127.0.0.1:{}", free_port())])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the server started on a changed workflow file");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("village-committee"), "{stderr}");
    assert!(stderr.contains("提高 version"), "{stderr}");
}

#[test]
fn without_a_workflows_directory_the_server_stores_the_built_in_workflows() {
    let data = tempfile::tempdir().unwrap();
    let (_server, port) = start_server(data.path(), &["serve"]);
    let token = office_token(data.path(), &[]);
    let (_, body) = http_get_as(port, "/api/v1/workflows", Some(&token)).unwrap();
    let body = json_body(&body);
    let mut ids: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "party-branch",
            "residents-committee",
            "township-congress",
            "village-committee"
        ]
    );
}

#[test]
fn a_campaign_starts_from_the_command_line() {
    let (_db, url) = TestDb::create();
    let table = format!(
        "{}/tests/fixtures/hewan-17-villages.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = huanjie(&url, &["import", &table, "--township", "河湾乡"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let start = [
        "campaign",
        "start",
        "--workflow",
        "village-committee",
        "--root",
        "河湾乡",
        "--election-day",
        "2026-12-20",
        "--param",
        "candidate_list_days=7",
    ];
    let out = huanjie(&url, &start);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}{}", stdout, text(&out.stderr));
    assert!(
        stdout.contains("已开始: 河湾乡 村民委员会换届选举"),
        "{stdout}"
    );
    assert!(stdout.contains("共创建任务"), "{stdout}");
    assert!(stdout.contains("角色 chief 无人担任"), "{stdout}");
    let out = huanjie(&url, &["campaign", "list"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("village-committee@2026.1"), "{stdout}");

    let mut bad = start.to_vec();
    bad[5] = "无名乡";
    let out = huanjie(&url, &bad);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("无名乡"));
    let mut bad = start.to_vec();
    bad[9] = "candidate_list_days=9";
    let out = huanjie(&url, &bad);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("超出允许范围"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn production_refuses_to_start_without_a_session_key() {
    let data = tempfile::tempdir().unwrap();
    let out = binary()
        .current_dir(data.path())
        .env_remove("HUANJIE_SESSION_KEY")
        .args(["serve", "--bind", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("session_key"), "{err}");
    assert!(err.contains("huanjie gen-key"), "{err}");
    assert!(
        !data.path().join("data/huanjie.db").exists(),
        "refused before touching data"
    );

    let out = binary().arg("gen-key").output().unwrap();
    let key = text(&out.stdout).trim().to_owned();
    assert_eq!(key.len(), 88, "64 bytes, base64: {key}");
}

#[test]
fn the_first_start_prints_a_setup_token_and_users_come_from_the_command_line() {
    let (_db, url) = TestDb::create();
    let db_url = url.to_string_unmasked();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = binary()
        .current_dir(data.path())
        .args([
            "--database-url",
            &db_url,
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _server = Server(child);
    // The token is the line after the notice; read until it appears.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let mut token = None;
    while let Some(Ok(line)) = lines.next() {
        if line.contains("一次性初始化口令") {
            token = lines
                .next()
                .and_then(|l| l.ok())
                .map(|l| l.trim().to_owned());
            break;
        }
    }
    let token = token.expect("the server prints a setup token when there is no admin");
    assert_eq!(token.len(), 43);
    while http_get(port, "/healthz").is_none() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let body =
        format!(r#"{{"setup_token":"{token}","username":"office","password":"换届办公室2026"}}"#);
    let (status, answer) = http_post_json(port, "/api/v1/setup", &body).unwrap();
    assert_eq!(status, 201, "{answer}");
    let (status, _) = http_post_json(port, "/api/v1/setup", &body).unwrap();
    assert_eq!(status, 403, "the setup token works once");

    // More users from the command line: roles by unit name, a reset link instead of a password.
    let table = format!(
        "{}/tests/fixtures/hewan-17-villages.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = huanjie(&url, &["import", &table, "--township", "河湾乡"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = huanjie(
        &url,
        &[
            "user",
            "create",
            "--username",
            "hanjiaxing",
            "--person",
            "韩家兴",
            "--role",
            "leader:第一选区",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("leader:第一选区"), "{stdout}");
    assert!(stdout.contains("/password-reset?token="), "{stdout}");
    let out = huanjie(
        &url,
        &["user", "create", "--username", "x", "--role", "leader"],
    );
    assert!(!out.status.success(), "a leader needs a unit");
    let out = huanjie(&url, &["user", "list"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("office") && stdout.contains("韩家兴"),
        "{stdout}"
    );
}

fn http_post_json(port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response))
}
