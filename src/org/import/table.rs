//! The 三包 responsibility table as township offices keep it in Excel (or saved as CSV).
//!
//! The reader is lenient where clerks vary and strict where a guess could assign the wrong
//! person:
//! - header names are matched after removing spaces and folding full-width characters, with
//!   the common variants (联系电话 for 电话, 社区 for 村(社区) …);
//! - a title row above the header is skipped;
//! - vertically merged cells (a district spanning its villages) are filled down; a merge across
//!   columns is refused, since it cannot be said which column it belongs to;
//! - a 电话 or 邮箱 column belongs to the nearest person column on its left that has a name in
//!   that row, or to the role it names (包片领导电话);
//! - a cell may name several people (张伟、李娜): the first is the primary holder, and the
//!   contact cells list their numbers in the same order;
//! - fully empty rows and hidden sheets are skipped with a warning.

use std::collections::BTreeMap;
use std::io::Cursor;

use super::{Location, OrgPlan, PlannedPerson, PlannedUnit, Problem};
use crate::org::contact::{parse_email, parse_phone};
use crate::org::Level;

/// Larger tables are not 三包 tables; the bound keeps a hostile upload cheap.
pub const MAX_ROWS: usize = 20_000;
const MAX_COLUMNS: usize = 200;
/// Bound on the unpacked size of an XLSX, against zip bombs.
const MAX_XLSX_UNPACKED: u64 = 200 * 1024 * 1024;
/// How far down the header row may be (below title and note rows).
const HEADER_SEARCH_ROWS: usize = 10;

/// A sheet as cells of text, row 0 being Excel's row 1.
#[derive(Debug, Default, Clone)]
pub struct Sheet {
    pub rows: Vec<Vec<String>>,
    /// Merged regions as inclusive (first_row, first_col, last_row, last_col), 0-based.
    pub merges: Vec<(usize, usize, usize, usize)>,
    pub warnings: Vec<String>,
}

/// Which reader a file needs, by its first bytes rather than its name.
pub fn is_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads a CSV file: UTF-8 (with or without BOM) or GB18030, as Excel on Chinese Windows saves.
pub fn read_csv(bytes: &[u8]) -> Result<Sheet, Vec<Problem>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => {
            let (decoded, _, had_errors) = encoding_rs::GB18030.decode(bytes);
            if had_errors {
                return Err(vec![Problem::general(
                    "文件既不是 UTF-8 也不是 GBK 编码的文本, 请另存为 CSV UTF-8 或 Excel 文件",
                )]);
            }
            decoded.into_owned()
        }
    };
    if text.contains('\0') {
        return Err(vec![Problem::general("文件含有二进制内容, 不是 CSV 文本")]);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut sheet = Sheet::default();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            vec![Problem::new(
                Location {
                    row: Some(i + 1),
                    ..Default::default()
                },
                format!("CSV 格式错误: {e}"),
            )]
        })?;
        if sheet.rows.len() >= MAX_ROWS {
            return Err(vec![Problem::general(format!("表格超过 {MAX_ROWS} 行"))]);
        }
        sheet
            .rows
            .push(record.iter().map(|c| c.to_owned()).collect());
    }
    Ok(sheet)
}

/// Reads one worksheet of an XLSX workbook: the named one, or the first visible one.
pub fn read_xlsx(bytes: &[u8], sheet_name: Option<&str>) -> Result<Sheet, Vec<Problem>> {
    use calamine::{Data, Reader, SheetVisible, Xlsx};
    check_unpacked_size(bytes)?;
    let fail = |m: String| vec![Problem::general(m)];
    let mut book: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| fail(format!("无法读取 Excel 文件: {e}")))?;
    let sheets = book.sheets_metadata().to_vec();
    let mut warnings = Vec::new();
    let chosen = match sheet_name {
        Some(name) => sheets.iter().find(|s| s.name == name).ok_or_else(|| {
            fail(format!(
                "工作簿中没有名为 \"{name}\" 的工作表; 现有: {}",
                sheets
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?,
        None => {
            let mut visible = sheets.iter().filter(|s| {
                s.visible == SheetVisible::Visible && s.typ == calamine::SheetType::WorkSheet
            });
            let first = visible
                .next()
                .ok_or_else(|| fail("工作簿中没有可见的工作表".into()))?;
            let others = visible.count();
            if others > 0 {
                warnings.push(format!(
                    "工作簿有 {} 个可见工作表, 只导入第一个 \"{}\"",
                    others + 1,
                    first.name
                ));
            }
            first
        }
    };
    for hidden in sheets
        .iter()
        .filter(|s| s.visible != SheetVisible::Visible && s.name != chosen.name)
    {
        warnings.push(format!("隐藏的工作表 \"{}\" 未导入", hidden.name));
    }
    let name = chosen.name.clone();
    let range = book
        .worksheet_range(&name)
        .map_err(|e| fail(format!("无法读取工作表 \"{name}\": {e}")))?;
    let (row0, col0) = range
        .start()
        .map(|(r, c)| (r as usize, c as usize))
        .unwrap_or((0, 0));
    let (height, width) = range.get_size();
    if row0 + height > MAX_ROWS {
        return Err(fail(format!("表格超过 {MAX_ROWS} 行")));
    }
    if col0 + width > MAX_COLUMNS {
        return Err(fail(format!("表格超过 {MAX_COLUMNS} 列")));
    }
    let mut rows = vec![Vec::new(); row0 + height];
    for (r, row) in range.rows().enumerate() {
        let mut cells = vec![String::new(); col0];
        for cell in row {
            cells.push(match cell {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                // Phone numbers typed into Excel become numbers; write them back without ".0".
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
                Data::Float(f) => f.to_string(),
                Data::Int(i) => i.to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTime(d) => d.to_string(),
                Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                Data::Error(e) => format!("#ERROR {e}"),
            });
        }
        rows[row0 + r] = cells;
    }
    let merges = book
        .merge_cells_by_sheet_name(&name)
        .map_err(|e| fail(format!("无法读取合并单元格: {e}")))?
        .into_iter()
        .map(|d| {
            (
                d.start.0 as usize,
                d.start.1 as usize,
                d.end.0 as usize,
                d.end.1 as usize,
            )
        })
        .collect();
    Ok(Sheet {
        rows,
        merges,
        warnings,
    })
}

fn check_unpacked_size(bytes: &[u8]) -> Result<(), Vec<Problem>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| vec![Problem::general(format!("Excel 文件已损坏: {e}"))])?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| vec![Problem::general(format!("Excel 文件已损坏: {e}"))])?;
        total = total.saturating_add(entry.size());
    }
    if total > MAX_XLSX_UNPACKED {
        return Err(vec![Problem::general(
            "Excel 文件解压后过大, 不像是三包责任表",
        )]);
    }
    Ok(())
}

/// What a header means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    District,
    Village,
    Group,
    Person(Role),
    /// A phone column; `Some(role)` when the header names the role it belongs to.
    Phone(Option<Role>),
    Email(Option<Role>),
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Chief,
    Leader,
    Cadre,
    VillageCadre,
    GroupCadre,
}

impl Role {
    fn id(self) -> &'static str {
        match self {
            Role::Chief => "chief",
            Role::Leader => "leader",
            Role::Cadre => "cadre",
            Role::VillageCadre => "village",
            Role::GroupCadre => "group",
        }
    }

    fn level(self) -> Level {
        match self {
            Role::Chief => Level::Township,
            Role::Leader => Level::District,
            Role::Cadre | Role::VillageCadre => Level::Village,
            Role::GroupCadre => Level::Group,
        }
    }
}

const DISTRICT: &[&str] = &["选区", "片区", "选区名称"];
const VILLAGE: &[&str] = &[
    "村(社区)",
    "村(居)",
    "村/社区",
    "村社区",
    "村居",
    "村",
    "社区",
    "村名",
    "村(社区)名称",
    "单位",
];
const GROUP: &[&str] = &["村民小组", "居民小组", "小组", "组", "组名"];
const PERSONS: &[(Role, &[&str])] = &[
    (Role::Chief, &["第一责任人"]),
    (Role::Leader, &["包片领导", "包选区领导", "包片", "片长"]),
    (Role::Cadre, &["包村干部", "包村", "驻村干部"]),
    (Role::VillageCadre, &["村干部", "村级负责人"]),
    (Role::GroupCadre, &["包组村干部", "包组干部", "包组"]),
];
const PHONE: &[&str] = &["电话", "联系电话", "手机", "手机号", "手机号码", "电话号码"];
const EMAIL: &[&str] = &["邮箱", "电子邮箱", "邮件", "电子邮件", "email", "e-mail"];
const IGNORED: &[&str] = &["序号", "备注", "编号", "职务", "说明"];

/// Folds full-width forms to ASCII, drops all white space and lowercases, so 村（社区） and
/// 村 (社区) read the same.
pub fn normalise_header(raw: &str) -> String {
    raw.chars()
        .filter_map(|c| match c {
            '\u{3000}' => None,
            c if c.is_whitespace() => None,
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
            c => Some(c),
        })
        .collect::<String>()
        .to_lowercase()
}

fn classify(header: &str) -> Option<Column> {
    let h = normalise_header(header);
    if h.is_empty() {
        return Some(Column::Ignored);
    }
    let is = |names: &[&str]| names.iter().any(|n| normalise_header(n) == h);
    if is(DISTRICT) {
        return Some(Column::District);
    }
    if is(VILLAGE) {
        return Some(Column::Village);
    }
    if is(GROUP) {
        return Some(Column::Group);
    }
    if is(PHONE) {
        return Some(Column::Phone(None));
    }
    if is(EMAIL) {
        return Some(Column::Email(None));
    }
    if is(IGNORED) {
        return Some(Column::Ignored);
    }
    for (role, names) in PERSONS {
        if is(names) {
            return Some(Column::Person(*role));
        }
    }
    // "包片领导电话", "包村干部邮箱": a contact column that names its role.
    for (role, names) in PERSONS {
        for name in names.iter().map(|n| normalise_header(n)) {
            if let Some(rest) = h.strip_prefix(&name) {
                if PHONE.iter().any(|p| normalise_header(p) == rest) {
                    return Some(Column::Phone(Some(*role)));
                }
                if EMAIL.iter().any(|e| normalise_header(e) == rest) {
                    return Some(Column::Email(Some(*role)));
                }
            }
        }
    }
    None
}

/// Excel's column letters: 0 → A, 26 → AA.
pub fn column_letter(mut index: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push((b'A' + (index % 26) as u8) as char);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.iter().rev().collect()
}

struct Header {
    row: usize,
    columns: Vec<(usize, Column, String)>,
}

fn find_header(sheet: &Sheet, problems: &mut Vec<Problem>) -> Option<Header> {
    let limit = sheet.rows.len().min(HEADER_SEARCH_ROWS);
    let row = (0..limit).find(|&r| {
        sheet.rows[r]
            .iter()
            .any(|c| matches!(classify(c), Some(Column::District | Column::Village)))
    });
    let Some(row) = row else {
        problems.push(Problem::general(format!(
            "前 {HEADER_SEARCH_ROWS} 行中找不到表头: 需要有 \"选区\" 和 \"村(社区)\" 列"
        )));
        return None;
    };
    let mut columns = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (c, text) in sheet.rows[row].iter().enumerate() {
        let at = Location {
            row: Some(row + 1),
            column: Some(column_letter(c)),
            header: Some(text.trim().to_owned()),
            path: None,
        };
        match classify(text) {
            Some(Column::Ignored) => {}
            Some(col) => {
                if !matches!(col, Column::Phone(None) | Column::Email(None)) {
                    let key = format!("{col:?}");
                    if let Some(first) = seen.insert(key, column_letter(c)) {
                        problems.push(Problem::new(at.clone(), format!("与 {first} 列重复")));
                    }
                }
                columns.push((c, col, text.trim().to_owned()));
            }
            None => problems.push(Problem::new(at, format!("无法识别的列名 \"{}\"; 可用: 选区, 包片领导, 村(社区), 包村干部, 村干部, 村民小组, 包组村干部, 电话, 邮箱 (不需要的列请删除, 或命名为 备注)", text.trim()))),
        }
    }
    let has = |want: Column| columns.iter().any(|(_, c, _)| *c == want);
    for (want, name) in [(Column::District, "选区"), (Column::Village, "村(社区)")] {
        if !has(want) {
            problems.push(Problem::new(
                Location {
                    row: Some(row + 1),
                    ..Default::default()
                },
                format!("缺少必需的列 \"{name}\""),
            ));
        }
    }
    if has(Column::Person(Role::GroupCadre)) && !has(Column::Group) {
        problems.push(Problem::new(
            Location {
                row: Some(row + 1),
                ..Default::default()
            },
            "有 \"包组村干部\" 列但缺少 \"村民小组\" 列",
        ));
    }
    if !columns
        .iter()
        .any(|(_, c, _)| matches!(c, Column::Person(_)))
    {
        problems.push(Problem::new(
            Location {
                row: Some(row + 1),
                ..Default::default()
            },
            "表中没有任何人员列 (包片领导, 包村干部, 村干部, 包组村干部)",
        ));
    }
    for (c, col, text) in &columns {
        if let Column::Phone(Some(role)) | Column::Email(Some(role)) = col {
            if !has(Column::Person(*role)) {
                problems.push(Problem::new(
                    Location {
                        row: Some(row + 1),
                        column: Some(column_letter(*c)),
                        header: Some(text.clone()),
                        path: None,
                    },
                    "该联系方式列对应的人员列不存在",
                ));
            }
        }
    }
    Some(Header { row, columns })
}

/// Fills vertically merged cells down and refuses merges that span columns.
fn unmerge(sheet: &mut Sheet, header_row: usize, problems: &mut Vec<Problem>) {
    for &(r0, c0, r1, c1) in &sheet.merges.clone() {
        if r1 < header_row {
            continue; // a title above the table
        }
        let range = format!(
            "{}{}:{}{}",
            column_letter(c0),
            r0 + 1,
            column_letter(c1),
            r1 + 1
        );
        if c1 > c0 {
            problems.push(Problem::new(
                Location {
                    row: Some(r0 + 1),
                    column: Some(column_letter(c0)),
                    ..Default::default()
                },
                format!("合并单元格 {range} 跨越多列, 无法判断属于哪一列, 请取消合并"),
            ));
            continue;
        }
        if r0 <= header_row {
            problems.push(Problem::new(
                Location {
                    row: Some(r0 + 1),
                    column: Some(column_letter(c0)),
                    ..Default::default()
                },
                format!("合并单元格 {range} 跨越了表头, 请取消合并"),
            ));
            continue;
        }
        let value = sheet
            .rows
            .get(r0)
            .and_then(|r| r.get(c0))
            .cloned()
            .unwrap_or_default();
        for r in r0 + 1..=r1.min(sheet.rows.len().saturating_sub(1)) {
            let row = &mut sheet.rows[r];
            if row.len() <= c0 {
                row.resize(c0 + 1, String::new());
            }
            row[c0] = value.clone();
        }
    }
}

/// Splits a cell naming several people or several numbers.
fn split_list(cell: &str) -> Vec<String> {
    cell.split(|c: char| {
        matches!(c, '、' | ',' | '，' | ';' | '；' | '/' | '\n') || c.is_whitespace()
    })
    .map(str::trim)
    .filter(|s| !s.is_empty())
    .map(str::to_owned)
    .collect()
}

/// The people a row names for one role, each with the cell it came from.
#[derive(Debug, Clone)]
struct Named {
    names: Vec<String>,
    at: Location,
}

#[derive(Default)]
struct UnitAcc {
    roles: BTreeMap<Role, Named>,
    children: Vec<(String, UnitAcc)>,
    first_row: usize,
    parent_row: Option<(String, usize)>,
}

impl UnitAcc {
    fn child(&mut self, name: &str, row: usize) -> &mut UnitAcc {
        let index = match self.children.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.children.push((
                    name.to_owned(),
                    UnitAcc {
                        first_row: row,
                        ..Default::default()
                    },
                ));
                self.children.len() - 1
            }
        };
        &mut self.children[index].1
    }

    fn set_role(&mut self, role: Role, named: Named, unit: &str, problems: &mut Vec<Problem>) {
        match self.roles.get(&role) {
            Some(first) if first.names != named.names => problems.push(Problem::new(
                named.at.clone(),
                format!(
                    "\"{unit}\" 的{}在第{}行为 {}, 此处为 {}",
                    crate::org::role_title(role.id()).unwrap_or(role.id()),
                    first.at.row.unwrap_or(0),
                    first.names.join("、"),
                    named.names.join("、")
                ),
            )),
            Some(_) => {}
            None => {
                self.roles.insert(role, named);
            }
        }
    }
}

struct PersonAcc {
    phone: Option<(String, Location)>,
    email: Option<(String, Location)>,
    at: Location,
}

/// Gives the roles a unit of a level speaks for, with the people named for them.
type RolesFor<'a> = dyn Fn(&UnitAcc, Level) -> BTreeMap<String, Vec<usize>> + 'a;

/// Reads a sheet into the plan for one township.
pub fn to_plan(mut sheet: Sheet, township: &str) -> Result<OrgPlan, Vec<Problem>> {
    let mut problems = Vec::new();
    let township = township.trim();
    if township.is_empty() {
        return Err(vec![Problem::general("请指定乡镇名称 (--township)")]);
    }
    let Some(header) = find_header(&sheet, &mut problems) else {
        return Err(problems);
    };
    unmerge(&mut sheet, header.row, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut warnings = std::mem::take(&mut sheet.warnings);
    let mut root = UnitAcc::default();
    let mut people: Vec<(String, PersonAcc)> = Vec::new();
    let present: Vec<Role> = header
        .columns
        .iter()
        .filter_map(|(_, c, _)| {
            if let Column::Person(r) = c {
                Some(*r)
            } else {
                None
            }
        })
        .collect();

    for (r, cells) in sheet.rows.iter().enumerate().skip(header.row + 1) {
        let excel_row = r + 1;
        let cell = |c: usize| cells.get(c).map(|s| s.trim()).unwrap_or("");
        if header.columns.iter().all(|(c, _, _)| cell(*c).is_empty()) {
            if cells.iter().any(|c| !c.trim().is_empty()) {
                warnings.push(format!("第{excel_row}行只有备注等列有内容, 已跳过"));
            } else if r + 1 < sheet.rows.len() {
                warnings.push(format!("第{excel_row}行为空行, 已跳过"));
            }
            continue;
        }
        let at = |c: usize, header: &str| Location {
            row: Some(excel_row),
            column: Some(column_letter(c)),
            header: Some(header.to_owned()),
            path: None,
        };
        let find = |want: Column| {
            header
                .columns
                .iter()
                .find(|(_, c, _)| *c == want)
                .map(|(c, _, h)| (*c, h.as_str()))
        };
        let mut row_ok = true;
        let mut unit_name = |want: Column,
                             what: &str,
                             required: bool,
                             problems: &mut Vec<Problem>|
         -> Option<String> {
            let (c, h) = find(want)?;
            let v = cell(c);
            if v.starts_with("#ERROR") {
                problems.push(Problem::new(at(c, h), format!("单元格是 Excel 错误值 {v}")));
                row_ok = false;
                return None;
            }
            if v.is_empty() {
                if required {
                    problems.push(Problem::new(at(c, h), format!("{what}不能为空")));
                    row_ok = false;
                }
                return None;
            }
            if v.chars().count() > 100 {
                problems.push(Problem::new(at(c, h), format!("{what}名称超过 100 个字")));
                row_ok = false;
                return None;
            }
            Some(v.to_owned())
        };
        let district = unit_name(Column::District, "选区", true, &mut problems);
        let village = unit_name(Column::Village, "村(社区)", true, &mut problems);
        let group = unit_name(Column::Group, "村民小组", false, &mut problems);

        // Names per person column, then contacts bound to them.
        let mut named: BTreeMap<Role, (usize, Named)> = BTreeMap::new();
        for (c, col, h) in &header.columns {
            if let Column::Person(role) = col {
                let names = split_list(cell(*c));
                for n in &names {
                    if n.chars().any(|ch| ch.is_ascii_digit()) || n.contains('@') {
                        problems.push(Problem::new(
                            at(*c, h),
                            format!("\"{n}\" 不像姓名: 电话和邮箱请填在各自的列中"),
                        ));
                        row_ok = false;
                    } else if n.chars().count() > 30 {
                        problems.push(Problem::new(at(*c, h), format!("姓名 \"{n}\" 过长")));
                        row_ok = false;
                    }
                }
                if !names.is_empty() {
                    named.insert(
                        *role,
                        (
                            *c,
                            Named {
                                names,
                                at: at(*c, h),
                            },
                        ),
                    );
                }
            }
        }
        if group.is_none() {
            if let Some((c, n)) = named.get(&Role::GroupCadre) {
                let h = n.at.header.clone().unwrap_or_default();
                problems.push(Problem::new(
                    at(*c, &h),
                    "填写了包组村干部, 但本行没有填写村民小组",
                ));
                row_ok = false;
            }
        }
        let mut contacts: Vec<(String, Option<String>, Option<String>, Location)> = Vec::new();
        for (c, col, h) in &header.columns {
            let (role_hint, is_phone) = match col {
                Column::Phone(r) => (*r, true),
                Column::Email(r) => (*r, false),
                _ => continue,
            };
            let values = split_list(cell(*c));
            if values.is_empty() {
                continue;
            }
            let owner = match role_hint {
                Some(role) => named.get(&role).map(|(_, n)| n),
                None => named
                    .values()
                    .filter(|(pc, _)| pc < c)
                    .max_by_key(|(pc, _)| *pc)
                    .map(|(_, n)| n),
            };
            let Some(owner) = owner else {
                problems.push(Problem::new(
                    at(*c, h),
                    "填写了联系方式, 但左侧没有对应的人员姓名",
                ));
                row_ok = false;
                continue;
            };
            if values.len() != owner.names.len() {
                problems.push(Problem::new(
                    at(*c, h),
                    format!(
                        "{} 个联系方式对应 {} 个人 ({}), 数量应一致",
                        values.len(),
                        owner.names.len(),
                        owner.names.join("、")
                    ),
                ));
                row_ok = false;
                continue;
            }
            for (name, value) in owner.names.iter().zip(values) {
                let parsed = if is_phone {
                    parse_phone(&value)
                } else {
                    parse_email(&value)
                };
                match parsed {
                    Ok(v) if is_phone => contacts.push((name.clone(), Some(v), None, at(*c, h))),
                    Ok(v) => contacts.push((name.clone(), None, Some(v), at(*c, h))),
                    Err(m) => {
                        problems.push(Problem::new(at(*c, h), m));
                        row_ok = false;
                    }
                }
            }
        }
        if !row_ok {
            continue;
        }
        let (Some(district), Some(village)) = (district, village) else {
            continue;
        };

        for (_, n) in named.values() {
            for name in &n.names {
                if !people.iter().any(|(p, _)| p == name) {
                    people.push((
                        name.clone(),
                        PersonAcc {
                            phone: None,
                            email: None,
                            at: n.at.clone(),
                        },
                    ));
                }
            }
        }
        for (name, phone, email, loc) in contacts {
            let acc = &mut people
                .iter_mut()
                .find(|(p, _)| *p == name)
                .expect("contacts belong to named people")
                .1;
            for (slot, value, what) in [
                (&mut acc.phone, phone, "电话"),
                (&mut acc.email, email, "邮箱"),
            ] {
                let Some(value) = value else { continue };
                match slot {
                    Some((first, first_at)) if *first != value => problems.push(Problem::new(
                        loc.clone(),
                        format!("{name} 的{what}在第{}行为 {first}, 此处为 {value}; 同一人的联系方式应一致 (若是同名的两个人, 请在姓名后加以区分)", first_at.row.unwrap_or(0)),
                    )),
                    Some(_) => {}
                    None => *slot = Some((value, loc.clone())),
                }
            }
        }

        let d = root.child(&district, excel_row);
        for role in [Role::Leader] {
            if let Some((_, n)) = named.get(&role) {
                d.set_role(role, n.clone(), &district, &mut problems);
            }
        }
        // A village listed under two districts would be two villages; say so instead.
        let v = d.child(&village, excel_row);
        let village_path = format!("{district}/{village}");
        if let Some((other, other_row)) = &v.parent_row {
            if *other != district {
                problems.push(Problem::new(
                    at(0, ""),
                    format!("\"{village}\" 在第{other_row}行属于 {other}, 此处属于 {district}"),
                ));
            }
        }
        v.parent_row.get_or_insert((district.clone(), excel_row));
        for role in [Role::Cadre, Role::VillageCadre] {
            if let Some((_, n)) = named.get(&role) {
                v.set_role(role, n.clone(), &village_path, &mut problems);
            }
        }
        if let Some(group) = &group {
            let g = v.child(group, excel_row);
            if let Some((_, n)) = named.get(&Role::GroupCadre) {
                g.set_role(
                    Role::GroupCadre,
                    n.clone(),
                    &format!("{village_path}/{group}"),
                    &mut problems,
                );
            }
        }
        if let Some((_, n)) = named.get(&Role::Chief) {
            root.set_role(Role::Chief, n.clone(), township, &mut problems);
        }
    }
    check_village_uniqueness(&root, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    if root.children.is_empty() {
        return Err(vec![Problem::general("表头下面没有数据行")]);
    }

    let plan_people: Vec<PlannedPerson> = people
        .iter()
        .map(|(name, acc)| PlannedPerson {
            id: None,
            name: name.clone(),
            phone: acc.phone.as_ref().map(|(v, _)| v.clone()),
            email: acc.email.as_ref().map(|(v, _)| v.clone()),
            title: None,
            at: acc.at.clone(),
        })
        .collect();
    let index: BTreeMap<&str, usize> = people
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    let roles_for = |acc: &UnitAcc, level: Level| -> BTreeMap<String, Vec<usize>> {
        present
            .iter()
            .filter(|r| r.level() == level)
            .map(|r| {
                (
                    r.id().to_owned(),
                    acc.roles
                        .get(r)
                        .map(|n| n.names.iter().map(|x| index[x.as_str()]).collect())
                        .unwrap_or_default(),
                )
            })
            .collect()
    };
    fn build(name: &str, acc: &UnitAcc, level: Level, roles_for: &RolesFor) -> PlannedUnit {
        let child_level = match level {
            Level::Township => Level::District,
            Level::District => Level::Village,
            _ => Level::Group,
        };
        PlannedUnit {
            name: name.to_owned(),
            level,
            kind: if level == Level::Village {
                village_kind(name)
            } else {
                None
            },
            roles: roles_for(acc, level),
            children: acc
                .children
                .iter()
                .map(|(n, a)| build(n, a, child_level, roles_for))
                .collect(),
            at: Location {
                row: (acc.first_row > 0).then_some(acc.first_row),
                ..Default::default()
            },
        }
    }
    let root_unit = build(township, &root, Level::Township, &roles_for);
    Ok(OrgPlan {
        roots: vec![root_unit],
        people: plan_people,
        warnings,
    })
}

fn check_village_uniqueness(root: &UnitAcc, problems: &mut Vec<Problem>) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (district, d) in &root.children {
        for (village, v) in &d.children {
            if let Some(other) = seen.insert(village.as_str(), district.as_str()) {
                if other != district {
                    problems.push(Problem::new(
                        Location {
                            row: Some(v.first_row),
                            ..Default::default()
                        },
                        format!("\"{village}\" 同时出现在 {other} 和 {district} 下"),
                    ));
                }
            }
        }
    }
}

/// The display kind of a village-level unit, from how its name ends.
pub fn village_kind(name: &str) -> Option<String> {
    if name.ends_with("社区") || name.ends_with("居委会") {
        Some("社区".into())
    } else if name.ends_with('村') {
        Some("村".into())
    } else {
        None
    }
}

/// Reads either format; `sheet` picks an XLSX worksheet by name.
pub fn read(bytes: &[u8], township: &str, sheet: Option<&str>) -> Result<OrgPlan, Vec<Problem>> {
    let sheet = if is_xlsx(bytes) {
        read_xlsx(bytes, sheet)?
    } else {
        read_csv(bytes)?
    };
    to_plan(sheet, township)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(text: &str) -> Sheet {
        read_csv(text.as_bytes()).unwrap()
    }

    #[test]
    fn header_variants_are_recognised() {
        assert_eq!(classify("村（社区）"), Some(Column::Village));
        assert_eq!(classify(" 选 区 "), Some(Column::District));
        assert_eq!(classify("联系电话"), Some(Column::Phone(None)));
        assert_eq!(
            classify("包片领导电话"),
            Some(Column::Phone(Some(Role::Leader)))
        );
        assert_eq!(classify("Ｅｍａｉｌ"), Some(Column::Email(None)));
        assert_eq!(classify("序号"), Some(Column::Ignored));
        assert_eq!(classify("包村千部"), None);
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
    }

    #[test]
    fn contacts_bind_to_the_nearest_named_person_on_the_left() {
        let plan = to_plan(
            sheet("选区,包片领导,村(社区),包村干部,村干部,电话,邮箱\n第一选区,张伟、李娜,大禾村,王强,,13800000001,wq@x.cn\n"),
            "八渡镇",
        )
        .unwrap();
        let wang = plan.people.iter().find(|p| p.name == "王强").unwrap();
        assert_eq!(wang.phone.as_deref(), Some("13800000001"));
        let district = &plan.roots[0].children[0];
        assert_eq!(district.roles["leader"].len(), 2);
        assert_eq!(plan.people[district.roles["leader"][0]].name, "张伟");
        let village = &district.children[0];
        assert_eq!(village.kind.as_deref(), Some("村"));
        assert_eq!(village.roles["village"], Vec::<usize>::new());
    }

    #[test]
    fn row_errors_name_row_and_column() {
        let problems = to_plan(
            sheet("选区,村(社区),包村干部,电话\n第一选区,大禾村,王强,13800000001\n,纳桑村,李娜,\n第二选区,大禾村,王强,\n第二选区,石桥村,赵六,1380000\n"),
            "八渡镇",
        )
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter().any(|t| t.starts_with("第5行 D列(电话)")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("第3行 A列(选区): 选区不能为空")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("同时出现在")), "{text:?}");
    }

    #[test]
    fn missing_column_is_reported() {
        let problems = to_plan(sheet("选区,包村干部\n第一选区,王强\n"), "八渡镇").unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("缺少必需的列 \"村(社区)\"")),
            "{problems:?}"
        );
    }

    #[test]
    fn conflicting_contacts_and_counts_are_refused() {
        let problems = to_plan(
            sheet("选区,包片领导,电话,村(社区)\n第一选区,张伟,13800000001,大禾村\n第一选区,张伟,13800000002,纳桑村\n第二选区,李娜、赵六,13800000003,石桥村\n"),
            "八渡镇",
        )
        .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.at.row == Some(3) && p.message.contains("同一人的联系方式应一致")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.at.row == Some(4) && p.message.contains("数量应一致")),
            "{problems:?}"
        );
    }

    #[test]
    fn gbk_csv_is_decoded() {
        let (bytes, _, _) =
            encoding_rs::GBK.encode("选区,村(社区),包村干部\n第一选区,大禾村,王强\n");
        let plan = read(&bytes, "八渡镇", None).unwrap();
        assert_eq!(plan.people[0].name, "王强");
    }
}
