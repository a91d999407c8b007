//! Pure rules of the organisation tree: levels, which parent a level may have, and the 三包
//! role-resolution rule. No SQL here; the database layer feeds these functions.

use serde::{Deserialize, Serialize};

/// The canonical levels, from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    County,
    Township,
    District,
    Village,
    Group,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::County,
        Level::Township,
        Level::District,
        Level::Village,
        Level::Group,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::County => "county",
            Level::Township => "township",
            Level::District => "district",
            Level::Village => "village",
            Level::Group => "group",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Level::County => "县(区)",
            Level::Township => "乡镇(街道)",
            Level::District => "选区(片区)",
            Level::Village => "村(社区)",
            Level::Group => "村民小组",
        }
    }

    pub fn parse(s: &str) -> Result<Level, String> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
                format!("未知层级 \"{s}\", 应为 {} 之一", names.join(", "))
            })
    }

    /// Whether a unit of this level may stand at the top of a tree.
    pub fn may_be_root(self) -> bool {
        matches!(self, Level::County | Level::Township)
    }

    /// A parent must sit strictly higher. Levels may be skipped: a township without
    /// electoral districts holds its villages directly.
    pub fn may_have_parent(self, parent: Level) -> bool {
        parent < self
    }
}

/// Checks where a unit of `level` may be placed.
pub fn check_placement(level: Level, parent: Option<Level>) -> Result<(), String> {
    match parent {
        None if level.may_be_root() => Ok(()),
        None => Err(format!("{}级单元必须有上级单元", level.title())),
        Some(p) if level.may_have_parent(p) => Ok(()),
        Some(p) => Err(format!(
            "{}级单元不能放在{}级单元之下",
            level.title(),
            p.title()
        )),
    }
}

/// The 三包 rule (DESIGN §2): role R for unit U means the holders of R on U or, if there are
/// none, on the nearest ancestor that has some.
///
/// `chain` is U followed by its ancestors, nearest first. `holders` are the active holders of
/// role R on any unit of the chain, in any order. Returns the unit where holders were found and
/// those holders, primary first; `None` when nobody up the chain holds the role.
pub fn nearest_holders<'a, U: PartialEq, H: Holder>(
    chain: &[U],
    holders: &'a [(U, H)],
) -> Option<(usize, Vec<&'a H>)> {
    chain.iter().enumerate().find_map(|(depth, unit)| {
        let mut found: Vec<&H> = holders
            .iter()
            .filter(|(u, _)| u == unit)
            .map(|(_, h)| h)
            .collect();
        if found.is_empty() {
            return None;
        }
        // Primary first, then a stable order so the owner of a task never flips between calls.
        found.sort_by(|a, b| {
            b.is_primary()
                .cmp(&a.is_primary())
                .then_with(|| a.sort_key().cmp(b.sort_key()))
        });
        Some((depth, found))
    })
}

pub trait Holder {
    fn is_primary(&self) -> bool;
    fn sort_key(&self) -> &str;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct H(&'static str, bool);
    impl Holder for H {
        fn is_primary(&self) -> bool {
            self.1
        }
        fn sort_key(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn placement_rules() {
        assert!(check_placement(Level::Township, None).is_ok());
        assert!(check_placement(Level::Village, None).is_err());
        assert!(check_placement(Level::Village, Some(Level::District)).is_ok());
        assert!(check_placement(Level::Village, Some(Level::Township)).is_ok());
        assert!(check_placement(Level::District, Some(Level::Village)).is_err());
        assert!(check_placement(Level::Group, Some(Level::Group)).is_err());
    }

    #[test]
    fn own_holders_win_over_ancestors() {
        let chain = ["group1", "village", "district", "township"];
        let holders = [("village", H("li", true)), ("group1", H("wang", true))];
        let (depth, found) = nearest_holders(&chain, &holders).unwrap();
        assert_eq!(depth, 0);
        assert_eq!(found, vec![&H("wang", true)]);
    }

    #[test]
    fn falls_back_to_nearest_ancestor() {
        let chain = ["group2", "village", "district", "township"];
        let holders = [
            ("district", H("zhang", true)),
            ("township", H("duan", true)),
            ("village", H("zhao", false)),
            ("village", H("li", true)),
        ];
        let (depth, found) = nearest_holders(&chain, &holders).unwrap();
        assert_eq!(depth, 1);
        assert_eq!(found, vec![&H("li", true), &H("zhao", false)]);
    }

    #[test]
    fn nobody_holds_the_role() {
        let chain = ["village", "district"];
        let holders: [(&str, H); 1] = [("other", H("x", true))];
        assert!(nearest_holders(&chain, &holders).is_none());
        assert!(nearest_holders::<&str, H>(&[], &[]).is_none());
    }
}
