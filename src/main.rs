//! The `huanjie` command: the server and the office's command-line tools.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use huanjie::audit::WriteContext;
use huanjie::clock::{Clock, SystemClock};
use huanjie::config::{Config, Overrides};
use huanjie::error::AppError;
use huanjie::org::import::{self, yaml, ImportReport};

/// A small bundled township (河湾乡, 17 villages in 4 districts) for trying the server out.
const DEMO_TABLE: &[u8] = include_bytes!("../tests/fixtures/hewan-17-villages.csv");
const DEMO_TOWNSHIP: &str = "河湾乡";

#[derive(Parser)]
#[command(
    name = "huanjie",
    version,
    about = "换届: 基层换届选举工作流程服务器 (workflow server for grassroots elections)"
)]
struct Cli {
    /// TOML configuration file. Every setting can also be given as an environment variable
    /// HUANJIE_<KEY> (HUANJIE_DATABASE_URL, HUANJIE_TIMEZONE, HUANJIE_SMTP_HOST …).
    #[arg(long, global = true, value_name = "FILE", env = "HUANJIE_CONFIG")]
    config: Option<PathBuf>,

    /// Directory for the embedded SQLite database and outgoing mail [default: ./data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: DATA_DIR/huanjie.db]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (JSON API under /api/v1, health check at /healthz).
    ///
    /// With no configuration at all it starts on an embedded SQLite file in the data directory.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Load the demo township (河湾乡) when the database has no organisation yet.
        #[arg(long)]
        demo: bool,
    },
    /// Create or upgrade the database schema, then exit (the server also does this at start).
    Migrate,
    /// Import the 三包 responsibility table (XLSX or CSV) or an organisation file (YAML).
    ///
    /// Shows what would be created and changed; without --dry-run it then writes all of it in
    /// one transaction, or nothing if any row is wrong. Importing the same file twice changes
    /// nothing the second time.
    Import {
        /// The table (.xlsx, .csv) or organisation file (.yaml, .yml)
        file: PathBuf,
        /// The township the table belongs to (required for XLSX and CSV)
        #[arg(long, value_name = "NAME")]
        township: Option<String>,
        /// Which worksheet to read [default: the first visible one]
        #[arg(long, value_name = "NAME")]
        sheet: Option<String>,
        /// Only show the changes; write nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Check workflow files: prints every problem with file, line and column; exits non-zero
    /// if there is any.
    Check {
        /// Workflow files (workflows/*.yaml)
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the timetable (工作日程) of a workflow for an election day: one row per step with
    /// its date, weekday, days from election day, owner and legal basis.
    Plan {
        /// The workflow file
        file: PathBuf,
        /// Election day, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        election_day: chrono::NaiveDate,
        /// A parameter value within the workflow's bounds, e.g. candidate_list_days=3
        #[arg(long = "param", value_name = "K=V", value_parser = parse_param)]
        params: Vec<(String, i64)>,
        #[arg(long, value_enum, default_value = "table")]
        format: PlanFormat,
        /// Time zone of the campaign [default: Asia/Shanghai]
        #[arg(long, value_name = "TZ", default_value = "Asia/Shanghai")]
        timezone: chrono_tz::Tz,
    },
    /// Print a JSON Schema, for editors and other tools (workflows/workflow.schema.json is a
    /// copy of `schema workflow`).
    Schema {
        #[command(subcommand)]
        what: SchemaWhat,
    },
    /// Export data in a re-importable form.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Start and list campaigns (一次换届选举).
    Campaign {
        #[command(subcommand)]
        what: CampaignCommand,
    },
    /// Manage user accounts (the first admin included).
    User {
        #[command(subcommand)]
        what: UserCommand,
    },
    /// Create API tokens for scripts and the phone app.
    Token {
        #[command(subcommand)]
        what: TokenCommand,
    },
    /// Print a fresh random session key for `session_key` / HUANJIE_SESSION_KEY.
    GenKey,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. Without --password-stdin it prints a one-time link (valid 24 hours) on
    /// which the user sets their own password; there is never a default password.
    Create {
        #[arg(long, value_name = "NAME")]
        username: String,
        /// Make the user an admin (the election office: everything)
        #[arg(long)]
        admin: bool,
        /// A role, as ROLE or ROLE:UNIT, e.g. leader:第一选区, observer:河湾乡, cadre
        #[arg(long = "role", value_name = "ROLE[:UNIT]")]
        roles: Vec<String>,
        /// The person of the 三包 table this account belongs to (name or id)
        #[arg(long, value_name = "PERSON")]
        person: Option<String>,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users with their roles.
    List,
    /// Print a one-time password reset link for a user (valid 24 hours).
    ResetLink {
        #[arg(long, value_name = "NAME")]
        username: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a bearer token for a user; the token is printed once.
    Create {
        #[arg(long, value_name = "NAME")]
        username: String,
        /// What the token is for, e.g. 手机 or 报表脚本
        #[arg(long, value_name = "LABEL")]
        name: String,
        /// Days until it expires [default: never, until revoked]
        #[arg(long, value_name = "DAYS")]
        days: Option<i64>,
    },
}

#[derive(Subcommand)]
enum CampaignCommand {
    /// Start a campaign: every task of the workflow for every unit under the root, each with its
    /// due date and its 三包 owner, in one transaction.
    Start {
        /// Workflow id, e.g. village-committee
        #[arg(long, value_name = "ID")]
        workflow: String,
        /// Stored version [default: the latest]
        #[arg(long, value_name = "VERSION")]
        version: Option<String>,
        /// The unit the campaign covers: its id, or the name of a township or county
        #[arg(long, value_name = "UNIT")]
        root: String,
        /// Election day, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        election_day: chrono::NaiveDate,
        /// A parameter value within the workflow's bounds, e.g. candidate_list_days=3
        #[arg(long = "param", value_name = "K=V", value_parser = parse_param)]
        params: Vec<(String, i64)>,
        #[arg(long)]
        title: Option<String>,
    },
    /// List campaigns with their progress.
    List,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlanFormat {
    Table,
    Csv,
    Json,
}

fn parse_param(s: &str) -> Result<(String, i64), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("\"{s}\" 应写成 名称=整数"))?;
    let v = v
        .trim()
        .parse()
        .map_err(|_| format!("参数 {k} 的值 \"{v}\" 不是整数"))?;
    Ok((k.trim().to_owned(), v))
}

#[derive(Subcommand)]
enum SchemaWhat {
    /// The workflow file format, as pretty JSON on standard output
    Workflow,
}

#[derive(Subcommand)]
enum ExportWhat {
    /// The organisation and its 三包 assignments as a YAML file
    Org {
        /// Write to this file instead of standard output
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUANJIE_LOG")
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("错误: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let (bind, demo) = match &cli.command {
        Command::Serve { bind, demo } => (bind.clone(), *demo),
        _ => (None, false),
    };
    let overrides = Overrides {
        bind,
        demo,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    // Only commands that touch the database or listen need the configuration.
    let config_file = cli.config.clone();
    let load_config =
        move || Config::load(config_file.as_deref(), &overrides).map_err(|e| e.to_string());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let show = |e: AppError| match &e.cause {
        Some(cause) => format!("{} ({cause})", e.message),
        None => match &e.details {
            Some(details) => format!("{}\n{}", e.message, render_details(details)),
            None => e.message,
        },
    };
    match cli.command {
        Command::Check { files } => Ok(check_files(&files)),
        Command::Schema {
            what: SchemaWhat::Workflow,
        } => {
            let schema = huanjie::workflow::json_schema();
            let text = serde_json::to_string_pretty(&schema)
                .map_err(|e| format!("无法输出 JSON Schema: {e}"))?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            file,
            election_day,
            params,
            format,
            timezone,
        } => {
            let name = file.display().to_string();
            let bytes = std::fs::read(&file).map_err(|e| format!("无法读取 {name}: {e}"))?;
            let workflow = huanjie::workflow::load(&name, &bytes).map_err(|problems| {
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            let params = params.into_iter().collect();
            let rows = huanjie::plan::timetable::timetable(
                &workflow,
                "election_day",
                election_day,
                &params,
                timezone,
            )
            .map_err(|e| format!("{name}: {e}"))?;
            use huanjie::plan::timetable::{to_csv, to_table};
            match format {
                PlanFormat::Table => print!(
                    "{}\n选举日 {election_day}{}",
                    workflow.title,
                    to_table(&rows)
                ),
                PlanFormat::Csv => print!("{}", to_csv(&rows)),
                PlanFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { demo, .. } => {
            let config = load_config()?;
            if let Some(refusal) = config.refusal_to_serve() {
                return Err(refusal);
            }
            let pool = huanjie::db::connect(&config.database_url, config.database_pool_size)
                .map_err(show)?;
            store_workflows(&pool, &config, clock.as_ref()).map_err(show)?;
            if demo {
                load_demo(&pool, clock.as_ref(), config.timezone).map_err(show)?;
            }
            serve(config, pool, clock).map_err(|e| format!("服务器异常退出: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::GenKey => {
            println!("{}", huanjie::auth::secret::new_session_key());
            Ok(ExitCode::SUCCESS)
        }
        Command::User { what } => {
            let config = load_config()?;
            let pool = huanjie::db::connect(&config.database_url, 1).map_err(show)?;
            let mut conn = pool.get().map_err(|e| show(e.into()))?;
            user_command(&mut conn, &config, clock.as_ref(), what).map_err(show)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            what:
                TokenCommand::Create {
                    username,
                    name,
                    days,
                },
        } => {
            let config = load_config()?;
            let pool = huanjie::db::connect(&config.database_url, 1).map_err(show)?;
            let mut conn = pool.get().map_err(|e| show(e.into()))?;
            let ctx = WriteContext::new(cli_actor(), clock.now_naive());
            let user = huanjie::auth::users::find_by_username(&mut conn, &username)
                .map_err(show)?
                .ok_or_else(|| format!("没有用户 {username}"))?;
            let created = huanjie::auth::tokens::create(
                &mut conn,
                &ctx,
                &user.id,
                huanjie::auth::tokens::NewTokenForm {
                    name,
                    expires_in_days: days,
                },
            )
            .map_err(show)?;
            eprintln!("令牌只显示这一次, 请妥善保存:");
            println!("{}", created.secret);
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = load_config()?;
            let pool = huanjie::db::connect(&config.database_url, 1).map_err(show)?;
            drop(pool);
            println!("数据库已是最新结构: {}", config.database_url);
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            file,
            township,
            sheet,
            dry_run,
        } => {
            let config = load_config()?;
            let bytes =
                std::fs::read(&file).map_err(|e| format!("无法读取 {}: {e}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            let plan = import::read_source(
                &bytes,
                name.as_deref(),
                township.as_deref(),
                sheet.as_deref(),
            )
            .map_err(|e| format!("{}: {}", file.display(), show(e)))?;
            let pool = huanjie::db::connect(&config.database_url, 1).map_err(show)?;
            let mut conn = pool.get().map_err(|e| show(e.into()))?;
            let ctx = WriteContext::new(cli_actor(), clock.now_naive());
            let report = import::run(
                &mut conn,
                &ctx,
                &file.display().to_string(),
                &plan,
                !dry_run,
            )
            .map_err(show)?;
            print_report(&report, dry_run);
            Ok(ExitCode::SUCCESS)
        }
        Command::Campaign { what } => {
            let config = load_config()?;
            let pool = huanjie::db::connect(&config.database_url, 1).map_err(show)?;
            store_workflows(&pool, &config, clock.as_ref()).map_err(show)?;
            let mut conn = pool.get().map_err(|e| show(e.into()))?;
            let ctx = WriteContext::new(cli_actor(), clock.now_naive());
            match what {
                CampaignCommand::Start {
                    workflow,
                    version,
                    root,
                    election_day,
                    params,
                    title,
                } => {
                    let root_unit_id = find_root(&mut conn, &root).map_err(show)?;
                    let form = huanjie::campaign::StartForm {
                        title,
                        workflow_id: workflow,
                        workflow_version: version,
                        root_unit_id,
                        anchors: [("election_day".to_owned(), election_day)].into(),
                        unit_anchors: Default::default(),
                        params: params.into_iter().collect(),
                        timezone: None,
                    };
                    let cache = Default::default();
                    let report =
                        huanjie::campaign::start(&mut conn, &cache, &ctx, config.timezone, form)
                            .map_err(show)?;
                    print_start_report(&report);
                }
                CampaignCommand::List => {
                    let cache = Default::default();
                    let now = clock.now_naive();
                    for c in huanjie::campaign::list(&mut conn).map_err(show)? {
                        let p = huanjie::campaign::progress::progress(
                            &mut conn, &cache, &c.id, None, now,
                        )
                        .map_err(show)?;
                        println!(
                            "{}  {}  {}@{}  任务 {} 项: 完成 {}, 待办 {}, 等待 {}, 逾期 {}, 违反法定时限 {}",
                            c.id,
                            c.title,
                            c.workflow_id,
                            c.workflow_version,
                            p.counts.total,
                            p.counts.done,
                            p.counts.open,
                            p.counts.blocked,
                            p.counts.overdue,
                            p.counts.violations
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            what: ExportWhat::Org { output },
        } => {
            let config = load_config()?;
            let pool = huanjie::db::connect(&config.database_url, 1).map_err(show)?;
            let mut conn = pool.get().map_err(|e| show(e.into()))?;
            let text = yaml::to_yaml(&yaml::export(&mut conn).map_err(show)?).map_err(show)?;
            match output {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| format!("无法写入 {}: {e}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `huanjie check`: needs no configuration or database.
fn check_files(files: &[PathBuf]) -> ExitCode {
    let mut failed = 0;
    for path in files {
        let name = path.display().to_string();
        let result = match std::fs::read(path) {
            Ok(bytes) => huanjie::workflow::load(&name, &bytes).map(|_| ()),
            Err(e) => Err(vec![huanjie::workflow::Diagnostic {
                file: name.clone(),
                line: 0,
                column: 0,
                step: None,
                message: format!("无法读取: {e}"),
            }]),
        };
        match result {
            Ok(()) => println!("{name}: 通过"),
            Err(problems) => {
                failed += 1;
                for p in &problems {
                    eprintln!("{p}");
                }
                eprintln!("{name}: {} 处错误", problems.len());
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn user_command(
    conn: &mut huanjie::db::DbConnection,
    config: &Config,
    clock: &dyn Clock,
    what: UserCommand,
) -> Result<(), AppError> {
    use huanjie::auth::{provision, reset, secret, users};
    let ctx = WriteContext::new(cli_actor(), clock.now_naive());
    match what {
        UserCommand::Create {
            username,
            admin,
            roles,
            person,
            password_stdin,
        } => {
            let mut grants = Vec::new();
            if admin {
                grants.push(provision::parse_grant(conn, "admin")?);
            }
            for spec in &roles {
                grants.push(provision::parse_grant(conn, spec)?);
            }
            if grants.is_empty() {
                return Err(AppError::bad_request(
                    "no_role",
                    "请用 --admin 或 --role 给用户至少一个角色",
                ));
            }
            let person_id = match &person {
                Some(p) => Some(provision::find_person(conn, p)?),
                None => None,
            };
            let hash = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| AppError::internal(format!("stdin: {e}")))?;
                let password = line.trim_end_matches(['\r', '\n']);
                secret::check_new_password(&username, password)?;
                Some(secret::hash_password(password)?)
            } else {
                None
            };
            let form = users::NewUserForm {
                username,
                person_id,
                password: None,
                roles: grants,
            };
            let created = users::create(conn, &ctx, form, hash)?;
            let roles: Vec<String> = created.roles.iter().map(|g| g.label()).collect();
            println!(
                "已创建用户 {} ({}), 角色: {}",
                created.user.username,
                created.user.id,
                roles.join(", ")
            );
            if !created.has_password {
                let link = reset::issue(conn, &ctx, &created.user.id, &config.public_url)?;
                println!(
                    "请把这个一次性链接交给本人设置密码 (24 小时内有效):\n{}",
                    link.url
                );
            }
        }
        UserCommand::List => {
            for u in users::list(conn)? {
                let roles: Vec<String> = u.roles.iter().map(|g| g.label()).collect();
                println!(
                    "{}  {}  {}  {}{}",
                    u.user.id,
                    u.user.username,
                    u.person_name.as_deref().unwrap_or("-"),
                    roles.join(","),
                    if u.user.active { "" } else { "  (已停用)" }
                );
            }
        }
        UserCommand::ResetLink { username } => {
            let user = users::find_by_username(conn, &username)?
                .ok_or_else(|| AppError::not_found("用户", &username))?;
            let link = reset::issue(conn, &ctx, &user.id, &config.public_url)?;
            println!("{}", link.url);
        }
    }
    Ok(())
}

/// Who ran a command-line write, for the event log.
fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn render_details(details: &serde_json::Value) -> String {
    match details.as_array() {
        Some(items) => items
            .iter()
            .map(|item| {
                let field = |k: &str| {
                    item.get(k)
                        .map(|v| v.to_string().trim_matches('"').to_owned())
                };
                let mut at = Vec::new();
                if let Some(r) = field("row") {
                    at.push(format!("第{r}行"));
                }
                if let Some(c) = field("column") {
                    at.push(match field("header") {
                        Some(h) => format!("{c}列({h})"),
                        None => format!("{c}列"),
                    });
                }
                if let Some(p) = field("path").or_else(|| field("field")) {
                    at.push(p);
                }
                let message = field("message").unwrap_or_default();
                if at.is_empty() {
                    format!("  - {message}")
                } else {
                    format!("  - {}: {message}", at.join(" "))
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        None => details.to_string(),
    }
}

fn print_report(report: &ImportReport, dry_run: bool) {
    for w in &report.warnings {
        println!("提示: {w}");
    }
    for c in &report.changes {
        println!("  {}", c.text);
    }
    let s = report.summary;
    println!(
        "单元: 新增 {} 修改 {}; 人员: 新增 {} 修改 {}; 包保关系: 新增 {} 修改 {} 结束 {}",
        s.units_created,
        s.units_changed,
        s.people_created,
        s.people_changed,
        s.assignments_created,
        s.assignments_changed,
        s.assignments_ended
    );
    if s.is_empty() {
        println!("与系统中的数据一致, 没有需要修改的内容。");
    } else if dry_run {
        println!("预览 (--dry-run): 未写入任何数据。");
    } else {
        println!(
            "已导入 (批次 {})。",
            report.batch_id.as_deref().unwrap_or("-")
        );
    }
}

/// Stores the workflow files at start; a changed file under an unchanged version stops the
/// server rather than running on rules the campaigns did not start with.
fn store_workflows(
    pool: &huanjie::db::Pool,
    config: &Config,
    clock: &dyn Clock,
) -> Result<(), AppError> {
    use huanjie::campaign::catalog;
    let mut conn = pool.get()?;
    let ctx = WriteContext::new("server", clock.now_naive());
    let dir = match &config.workflows_dir {
        Some(dir) => Some(dir.clone()),
        None if std::path::Path::new("workflows").is_dir() => Some("workflows".into()),
        None => None,
    };
    let stored = match dir {
        Some(dir) => catalog::store_directory(&mut conn, &ctx, &dir)?,
        None => huanjie::workflow::BUILTIN
            .iter()
            .map(|(name, text)| catalog::store(&mut conn, &ctx, name, text.as_bytes()))
            .collect::<Result<_, _>>()?,
    };
    for (stored, outcome) in stored {
        tracing::info!(id = %stored.id, version = %stored.version, ?outcome, "workflow");
    }
    Ok(())
}

/// A unit id, or the name of a township or county.
fn find_root(conn: &mut huanjie::db::DbConnection, root: &str) -> Result<String, AppError> {
    use diesel::prelude::*;
    use huanjie::db::schema::units;
    let found: Vec<String> = units::table
        .filter(units::id.eq(root).or(units::name.eq(root)))
        .filter(
            units::level
                .eq_any(["county", "township"])
                .or(units::id.eq(root)),
        )
        .select(units::id)
        .load(conn)?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(AppError::bad_request(
            "unit_not_found",
            format!("没有名为或编号为 \"{root}\" 的乡镇或县"),
        )),
        _ => Err(AppError::bad_request(
            "unit_ambiguous",
            format!("有多个名为 \"{root}\" 的单元, 请用编号"),
        )),
    }
}

fn print_start_report(report: &huanjie::campaign::StartReport) {
    println!("已开始: {} ({})", report.campaign.title, report.campaign.id);
    println!(
        "共创建任务 {} 项, 其中等待前置步骤 {} 项",
        report.tasks_created, report.blocked
    );
    if !report.unassigned.is_empty() {
        println!(
            "没有负责人的任务 {} 项 (已通知管理员):",
            report.unassigned.len()
        );
        let mut seen = std::collections::BTreeMap::new();
        for u in &report.unassigned {
            *seen
                .entry((u.unit_name.as_str(), u.role.as_str()))
                .or_insert(0) += 1;
        }
        for ((unit, role), n) in seen {
            println!("  {unit}: 角色 {role} 无人担任, {n} 项任务");
        }
    }
}

fn load_demo(
    pool: &huanjie::db::Pool,
    clock: &dyn Clock,
    timezone: chrono_tz::Tz,
) -> Result<(), AppError> {
    use diesel::prelude::*;
    use huanjie::db::schema::units;
    let mut conn = pool.get()?;
    let existing: i64 = units::table.count().get_result(&mut conn)?;
    if existing > 0 {
        tracing::info!("database already holds an organisation; --demo loads nothing");
        return Ok(());
    }
    let plan = import::read_source(
        DEMO_TABLE,
        Some("hewan-17-villages.csv"),
        Some(DEMO_TOWNSHIP),
        None,
    )?;
    let ctx = WriteContext::new("demo", clock.now_naive());
    let report = import::run(&mut conn, &ctx, "demo", &plan, true)?;
    tracing::info!(
        units = report.summary.units_created,
        people = report.summary.people_created,
        "demo township {DEMO_TOWNSHIP} loaded"
    );
    // A running village-committee election, 30 days from today, so every page has data.
    let root_unit_id = find_root(&mut conn, DEMO_TOWNSHIP)?;
    let today = clock.now().with_timezone(&timezone).date_naive();
    let form = huanjie::campaign::StartForm {
        title: None,
        workflow_id: "village-committee".to_owned(),
        workflow_version: None,
        root_unit_id,
        anchors: [(
            "election_day".to_owned(),
            today + chrono::Duration::days(30),
        )]
        .into(),
        unit_anchors: Default::default(),
        params: Default::default(),
        timezone: None,
    };
    let started = huanjie::campaign::start(&mut conn, &Default::default(), &ctx, timezone, form)?;
    tracing::info!(
        campaign = %started.campaign.id,
        tasks = started.tasks_created,
        "demo campaign {} started",
        started.campaign.title
    );
    create_demo_accounts(&mut conn, &ctx)
}

/// Three accounts to try the roles with, each with a random password shown once: the office,
/// a district leader and a village cadre of the demo table.
fn create_demo_accounts(
    conn: &mut huanjie::db::DbConnection,
    ctx: &WriteContext,
) -> Result<(), AppError> {
    use huanjie::auth::{provision, secret, users};
    let accounts = [
        ("admin", None, "admin"),
        ("hanjiaxing", Some("韩家兴"), "leader:第一选区"),
        ("cenwei", Some("岑伟"), "cadre"),
    ];
    let mut lines = Vec::new();
    for (username, person, role) in accounts {
        let password = secret::new_token()[..12].to_owned();
        let person_id = match person {
            Some(p) => Some(provision::find_person(conn, p)?),
            None => None,
        };
        let form = users::NewUserForm {
            username: username.to_owned(),
            person_id,
            password: None,
            roles: vec![provision::parse_grant(conn, role)?],
        };
        users::create(conn, ctx, form, Some(secret::hash_password(&password)?))?;
        lines.push(format!("  {username:<11} {password}  ({role})"));
    }
    eprintln!(
        "\n演示账号 (密码只显示这一次; 忘记时用 huanjie user reset-link --username …):\n{}\n",
        lines.join("\n")
    );
    Ok(())
}

#[actix_web::main]
async fn serve(
    config: Config,
    pool: huanjie::db::Pool,
    clock: Arc<dyn Clock>,
) -> std::io::Result<()> {
    let bind = config.bind;
    tracing::info!(%bind, database = %config.database_url, public_url = %config.public_url, "huanjie listening");
    if config.mode == huanjie::config::Mode::Development {
        tracing::warn!(
            "development mode: session cookies end with the process unless session_key is set"
        );
    }
    let public_url = config.public_url.clone();
    let state = huanjie::web::AppState::new(pool, clock, config);
    let has_admin = state
        .pool
        .get()
        .map_err(std::io::Error::other)
        .and_then(|mut conn| {
            huanjie::auth::users::admin_exists(&mut conn)
                .map_err(|e| std::io::Error::other(e.to_string()))
        })?;
    if !has_admin {
        let token = state.arm_setup_token();
        eprintln!(
            "\n尚无管理员账号。用这个一次性初始化口令创建第一个管理员 (重启后失效):\n  {token}\n\
             POST {public_url}/api/v1/setup {{\"setup_token\": \"…\", \"username\": \"…\", \"password\": \"…\"}}\n\
             或在服务器上运行: huanjie user create --admin --username …\n"
        );
    }
    actix_web::HttpServer::new(move || {
        huanjie::web::app(state.clone()).wrap(actix_web::middleware::Logger::new("%r %s %Dms"))
    })
    .bind(bind)?
    .run()
    .await
}
