//! The 三包 table import over HTTP: preview, commit, idempotence, and refusal of bad input.

mod common;

use common::{fixture, TestApp, NOT_ACCOUNT_EVENTS};
use serde_json::{json, Value};

/// The fixture's rows as cells, to check the imported tree against the table itself.
fn csv_rows(name: &str) -> Vec<Vec<String>> {
    let text = String::from_utf8(fixture(name)).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

async fn unit_id(app: &TestApp, query: &str) -> String {
    let (status, page) = app.get(&format!("/api/v1/units?{query}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1, "{query}: {page}");
    page["items"][0]["id"].as_str().unwrap().to_owned()
}

async fn holders(app: &TestApp, unit: &str, role: &str) -> (Option<String>, Vec<String>) {
    let (status, res) = app
        .get(&format!("/api/v1/units/{unit}/resolve?role={role}"))
        .await;
    assert_eq!(status, 200, "{res}");
    let at = res["resolved_at"]["name"].as_str().map(str::to_owned);
    let names = res["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["person"]["name"].as_str().unwrap().to_owned())
        .collect();
    (at, names)
}

fn summary(body: &Value) -> [i64; 7] {
    let s = &body["summary"];
    [
        "units_created",
        "units_changed",
        "people_created",
        "people_changed",
        "assignments_created",
        "assignments_changed",
        "assignments_ended",
    ]
    .map(|k| s[k].as_i64().unwrap_or(-1))
}

#[actix_rt::test]
async fn preview_then_commit_then_nothing_to_do() {
    let app = TestApp::new();
    let table = fixture("hewan-17-villages.csv");

    let (status, preview) = app
        .upload("?dry_run=true&township=河湾乡", "hewan.csv", &table)
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["committed"], false);
    assert_eq!(summary(&preview), [71, 0, 87, 0, 91, 0, 0]);
    assert!(preview["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["text"] == "新增村(社区) 河湾乡/第一选区/河湾村"));
    assert_eq!(
        app.count("units") + app.count("people") + app.count(NOT_ACCOUNT_EVENTS),
        0,
        "a preview writes nothing"
    );

    let (status, done) = app.upload("?township=河湾乡", "hewan.csv", &table).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["committed"], true);
    assert_eq!(summary(&done), [71, 0, 87, 0, 91, 0, 0]);
    assert_eq!(
        (
            app.count("units"),
            app.count("people"),
            app.count("assignments")
        ),
        (71, 87, 91)
    );
    let events = app.count(NOT_ACCOUNT_EVENTS);
    assert_eq!(events, 71 + 87 + 91 + 1);
    let batch = done["batch_id"].as_str().unwrap();
    let (_, logged) = app
        .get(&format!("/api/v1/events?batch_id={batch}&per_page=1"))
        .await;
    assert_eq!(logged["total"], events);

    // The same table as the office's Excel file, with title row and merged cells.
    let (status, again) = app
        .upload(
            "?township=河湾乡",
            "hewan.xlsx",
            &fixture("hewan-17-villages.xlsx"),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(summary(&again), [0; 7], "{again}");
    assert_eq!(again["committed"], false);
    assert_eq!(
        app.count(NOT_ACCOUNT_EVENTS),
        events,
        "an import with nothing to change records nothing"
    );
}

#[actix_rt::test]
async fn seventeen_villages_tree_and_role_resolution() {
    let app = TestApp::new();
    let (status, body) = app
        .upload(
            "?township=河湾乡",
            "hewan.xlsx",
            &fixture("hewan-17-villages.xlsx"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = csv_rows("hewan-17-villages.csv");

    let town = unit_id(&app, "level=township&name=河湾乡").await;
    let (_, districts) = app.get(&format!("/api/v1/units?parent_id={town}")).await;
    assert_eq!(districts["total"], 4);
    let mut villages_per_district = Vec::new();
    for d in districts["items"].as_array().unwrap() {
        let (_, v) = app
            .get(&format!(
                "/api/v1/units?parent_id={}",
                d["id"].as_str().unwrap()
            ))
            .await;
        villages_per_district.push(v["total"].as_i64().unwrap());
    }
    villages_per_district.sort();
    assert_eq!(villages_per_district, [4, 4, 4, 5]);
    let (_, groups) = app.get("/api/v1/units?level=group&per_page=1").await;
    assert_eq!(groups["total"], rows.len() as i64);

    // Pick a row and resolve each role from its group upwards.
    let row = &rows[5];
    let (district, leaders, village, cadre, village_cadre, group, group_cadre) = (
        &row[0], &row[1], &row[4], &row[5], &row[8], &row[11], &row[12],
    );
    let village_id = unit_id(&app, &format!("level=village&name={village}")).await;
    let group_id = {
        let (_, page) = app
            .get(&format!(
                "/api/v1/units?parent_id={village_id}&name={group}"
            ))
            .await;
        page["items"][0]["id"].as_str().unwrap().to_owned()
    };
    let district_id = unit_id(&app, &format!("level=district&name={district}")).await;
    let leader_names: Vec<String> = leaders.split('、').map(str::to_owned).collect();
    assert_eq!(leader_names.len(), 2, "two leaders per district");

    assert_eq!(
        holders(&app, &group_id, "group").await,
        (Some(group.clone()), vec![group_cadre.clone()])
    );
    assert_eq!(
        holders(&app, &group_id, "cadre").await,
        (Some(village.clone()), vec![cadre.clone()])
    );
    assert_eq!(
        holders(&app, &group_id, "village").await,
        (Some(village.clone()), vec![village_cadre.clone()])
    );
    assert_eq!(
        holders(&app, &group_id, "leader").await,
        (Some(district.clone()), leader_names.clone())
    );
    assert_eq!(
        holders(&app, &village_id, "cadre").await,
        (Some(village.clone()), vec![cadre.clone()])
    );
    assert_eq!(
        holders(&app, &village_id, "leader").await,
        (Some(district.clone()), leader_names.clone())
    );
    assert_eq!(
        holders(&app, &district_id, "leader").await,
        (Some(district.clone()), leader_names)
    );
    assert_eq!(holders(&app, &district_id, "chief").await, (None, vec![]));
    // A village role never resolves downwards.
    assert_eq!(holders(&app, &district_id, "cadre").await, (None, vec![]));

    // The two people without e-mail came in without one.
    let (_, people) = app.get("/api/v1/people?per_page=500").await;
    let without: Vec<&str> = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["email"].is_null())
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(without.len(), 2, "{without:?}");
}

#[actix_rt::test]
async fn eighteen_districts_one_village_each() {
    let app = TestApp::new();
    let (status, body) = app
        .upload(
            "?township=八渡镇",
            "badu.xlsx",
            &fixture("badu-18-districts.xlsx"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(summary(&body), [1 + 18 + 18, 0, 42, 0, 18 + 18 + 18, 0, 0]);
    let rows = csv_rows("badu-18-districts.csv");
    for row in &rows {
        let district_id = unit_id(&app, &format!("level=district&name={}", row[0])).await;
        let (_, villages) = app
            .get(&format!("/api/v1/units?parent_id={district_id}"))
            .await;
        assert_eq!(villages["total"], 1);
        assert_eq!(villages["items"][0]["name"], row[4].as_str());
        assert_eq!(villages["items"][0]["kind"], "村");
        let village_id = villages["items"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(
            holders(&app, &village_id, "leader").await,
            (Some(row[0].clone()), vec![row[1].clone()])
        );
    }
    // Six leaders, three districts each.
    let (_, leaders) = app
        .get("/api/v1/assignments?role=leader&per_page=100")
        .await;
    assert_eq!(leaders["total"], 18);
    let mut per_person = std::collections::HashMap::<String, usize>::new();
    for a in leaders["items"].as_array().unwrap() {
        *per_person
            .entry(a["person_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_person.len(), 6);
    assert!(per_person.values().all(|&n| n == 3));
}

#[actix_rt::test]
async fn a_changed_table_changes_only_what_changed() {
    let app = TestApp::new();
    let table = String::from_utf8(fixture("hewan-17-villages.csv")).unwrap();
    app.upload("?township=河湾乡", "hewan.csv", table.as_bytes())
        .await;
    // 清水村 gets a new 包村干部, and 韩家兴 a new phone number.
    let row = table.lines().find(|l| l.contains(",清水村,")).unwrap();
    let old_cadre = row.split(',').nth(5).unwrap().to_owned();
    let changed = table
        .lines()
        .map(|l| {
            let mut cells: Vec<String> = l.split(',').map(str::to_owned).collect();
            if cells[4] == "清水村" {
                cells[5..8].clone_from_slice(&[
                    "赵新来".into(),
                    "13700000077".into(),
                    String::new(),
                ]);
            }
            cells.join(",").replace("18526156282", "13926156282")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (status, preview) = app
        .upload(
            "?dry_run=true&township=河湾乡",
            "hewan.csv",
            changed.as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(summary(&preview), [0, 0, 1, 1, 1, 0, 1], "{preview}");
    let texts: Vec<&str> = preview["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("清水村 包村干部: 不再由") && t.contains(&old_cadre)),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("韩家兴") && t.contains("13926156282")),
        "{texts:?}"
    );

    let (_, done) = app
        .upload("?township=河湾乡", "hewan.csv", changed.as_bytes())
        .await;
    assert_eq!(done["committed"], true);
    let qs = unit_id(&app, "level=village&name=清水村").await;
    let (_, cadre) = app
        .get(&format!("/api/v1/units/{qs}/resolve?role=cadre"))
        .await;
    assert_eq!(cadre["holders"][0]["person"]["name"], "赵新来");
}

#[actix_rt::test]
async fn people_already_known_are_matched_not_duplicated() {
    let app = TestApp::new();
    let (status, _) = app
        .post(
            "/api/v1/people",
            json!({ "name": "韩家兴", "phone": "18526156282", "title": "副乡长" }),
        )
        .await;
    assert_eq!(status, 201);
    let (_, preview) = app
        .upload(
            "?dry_run=true&township=河湾乡",
            "hewan.csv",
            &fixture("hewan-17-villages.csv"),
        )
        .await;
    // Matched by name and phone; the table adds the e-mail and keeps the title.
    assert_eq!(summary(&preview)[2..4], [86, 1]);
}

#[actix_rt::test]
async fn bad_tables_are_refused_row_by_row_and_nothing_is_written() {
    let app = TestApp::new();
    let cases: &[(&str, &str, &[&str])] = &[
        ("选区,包村干部\n第一选区,王强\n", "missing", &["缺少必需的列 \"村(社区)\""]),
        (
            "选区,村(社区),包村干部,电话,邮箱\n第一选区,大禾村,王强,1380000,wq@x.cn\n第一选区,纳桑村,李娜,13800000002,lina@\n",
            "contacts",
            &["第2行 D列(电话)", "第3行 E列(邮箱)"],
        ),
        ("选区,村(社区),包村干部,未知列\n第一选区,大禾村,王强,1\n", "unknown header", &["无法识别的列名 \"未知列\""]),
        ("选区,村(社区),包组村干部,村民小组\n第一选区,大禾村,王强,\n", "group cadre without group", &["没有填写村民小组"]),
        ("选区,村(社区),包村干部\n第一选区,大禾村,13800000001\n", "phone in name column", &["不像姓名"]),
    ];
    for (table, what, expected) in cases {
        let (status, body) = app
            .upload("?township=八渡镇", "t.csv", table.as_bytes())
            .await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["code"], "import_invalid", "{what}");
        let details = body["details"].to_string();
        for e in *expected {
            let rendered: Vec<String> = body["details"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    let mut s = String::new();
                    if let Some(r) = d["row"].as_i64() {
                        s.push_str(&format!("第{r}行 "));
                    }
                    if let (Some(c), Some(h)) = (d["column"].as_str(), d["header"].as_str()) {
                        s.push_str(&format!("{c}列({h}) "));
                    }
                    s + d["message"].as_str().unwrap()
                })
                .collect();
            assert!(
                rendered.iter().any(|r| r.contains(e)),
                "{what}: expected {e} in {details}"
            );
        }
    }
    let (status, body) = app.upload("", "t.csv", b"x").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"][0]["field"], "township");
    assert_eq!(
        app.count("units") + app.count("people") + app.count(NOT_ACCOUNT_EVENTS),
        0
    );
}

fn workbook(
    build: impl FnOnce(&mut rust_xlsxwriter::Workbook) -> Result<(), rust_xlsxwriter::XlsxError>,
) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    build(&mut book).unwrap();
    book.save_to_buffer().unwrap()
}

fn write_rows(
    ws: &mut rust_xlsxwriter::Worksheet,
    first_row: u32,
    rows: &[&[&str]],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(first_row + r as u32, c as u16, *v)?;
            }
        }
    }
    Ok(())
}

const HEADER: &[&str] = &["选区", "包片领导", "村(社区)", "包村干部"];

#[actix_rt::test]
async fn spreadsheet_quirks_merged_cells_hidden_sheets_empty_rows() {
    let app = TestApp::new();
    let fmt = rust_xlsxwriter::Format::new();

    // A merge across two columns cannot be attributed: refused with its place.
    let across = workbook(|b| {
        let ws = b.add_worksheet();
        write_rows(ws, 0, &[HEADER, &["第一选区", "", "大禾村", "王强"]])?;
        ws.merge_range(1, 0, 1, 1, "第一选区", &fmt)?;
        Ok(())
    });
    let (status, body) = app.upload("?township=八渡镇", "a.xlsx", &across).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["row"], 2);
    assert!(
        body["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("A2:B2"),
        "{body}"
    );

    // A merge over the header row is refused too.
    let header_merge = workbook(|b| {
        let ws = b.add_worksheet();
        write_rows(ws, 0, &[HEADER, &["", "张伟", "大禾村", "王强"]])?;
        ws.merge_range(0, 0, 1, 0, "选区", &fmt)?;
        Ok(())
    });
    let (status, body) = app
        .upload("?township=八渡镇", "h.xlsx", &header_merge)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["details"].to_string().contains("跨越了表头"), "{body}");

    // A hidden sheet only: nothing to import.
    let only_hidden = workbook(|b| {
        let ws = b.add_worksheet();
        write_rows(ws, 0, &[HEADER, &["第一选区", "张伟", "大禾村", "王强"]])?;
        ws.set_hidden(true);
        let visible = b.add_worksheet().set_name("说明")?;
        visible.set_active(true);
        Ok(())
    });
    let (status, body) = app.upload("?township=八渡镇", "o.xlsx", &only_hidden).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(app.count("units"), 0);

    // A hidden sheet beside the visible table is skipped with a warning; empty rows too.
    let with_hidden = workbook(|b| {
        let hidden = b.add_worksheet().set_name("旧表")?;
        write_rows(
            hidden,
            0,
            &[HEADER, &["第九选区", "不该导入", "旧村", "旧人"]],
        )?;
        hidden.set_hidden(true);
        let ws = b.add_worksheet().set_name("三包表")?;
        ws.set_active(true);
        write_rows(
            ws,
            0,
            &[
                HEADER,
                &["第一选区", "张伟", "大禾村", "王强"],
                &[],
                &["第一选区", "张伟", "纳桑村", "李娜"],
            ],
        )?;
        // A phone typed as a number.
        ws.write_string(0, 4, "包村干部电话")?;
        ws.write_number(1, 4, 13800000001.0)?;
        Ok(())
    });
    let (status, body) = app.upload("?township=八渡镇", "w.xlsx", &with_hidden).await;
    assert_eq!(status, 200, "{body}");
    let warnings = body["warnings"].to_string();
    assert!(
        warnings.contains("隐藏的工作表 \\\"旧表\\\" 未导入"),
        "{warnings}"
    );
    assert!(warnings.contains("第3行为空行"), "{warnings}");
    assert_eq!(summary(&body)[0], 1 + 1 + 2);
    let (_, people) = app.get("/api/v1/people?phone=13800000001").await;
    assert_eq!(people["items"][0]["name"], "王强");
    let (_, none) = app.get("/api/v1/units?name=旧村").await;
    assert_eq!(none["total"], 0);

    // Not a spreadsheet at all.
    let (status, body) = app
        .upload("?township=八渡镇", "x.xlsx", b"PK\x03\x04 this is no zip")
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "import_invalid");
}

#[actix_rt::test]
async fn an_upload_of_fifty_megabytes_is_refused() {
    let app = TestApp::new();
    let big = vec![b'a'; 50 * 1024 * 1024];
    let (status, body) = app.upload("?township=八渡镇", "big.csv", &big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(app.count("units"), 0);
}

#[actix_rt::test]
async fn yaml_export_reimports_without_changes() {
    let app = TestApp::new();
    app.upload(
        "?township=河湾乡",
        "hewan.csv",
        &fixture("hewan-17-villages.csv"),
    )
    .await;
    let (status, exported) = app.get("/api/v1/org/export").await;
    assert_eq!(status, 200);
    let text = exported.as_str().unwrap().to_owned();
    assert!(text.contains("level: township"), "{text}");

    let (status, body) = app.upload("", "org.yaml", text.as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(summary(&body), [0; 7]);

    // Dropping a group's holder from the file ends that assignment, and only that.
    let group_cadre = csv_rows("hewan-17-villages.csv")[0][12].clone();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == format!("- {group_cadre}"))
        .expect("the export lists the group holder");
    assert_eq!(lines[at - 1].trim(), "group:");
    let edited: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != at && *i != at - 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let (status, body) = app.upload("", "org.yml", edited.as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(summary(&body), [0, 0, 0, 0, 0, 0, 1]);

    let (status, body) = app
        .upload("", "org.yaml", b"units:\n  - { name: x, level: planet }\n")
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("YAML"), "{body}");
}
