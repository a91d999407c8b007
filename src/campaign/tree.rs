//! The unit tree as the runtime walks it: which units a step's tasks live in, and which tasks of
//! another step a task waits on (DESIGN §3.1, `needs` across scopes). Loaded once per operation;
//! a township is a few hundred units and a province a few hundred thousand.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::schema::units;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::Level;
use crate::plan::PlanUnit;

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub parent: Option<usize>,
    pub level: Level,
    pub name: String,
    pub kind: Option<String>,
    pub active: bool,
}

#[derive(Debug, Default)]
pub struct UnitTree {
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    children: Vec<Vec<usize>>,
}

/// (id, parent id, level, name, kind, active), as stored.
pub type UnitRow = (String, Option<String>, String, String, Option<String>, bool);

impl UnitTree {
    pub fn load(conn: &mut DbConnection) -> Result<UnitTree, AppError> {
        let rows: Vec<UnitRow> = units::table
            .select((
                units::id,
                units::parent_id,
                units::level,
                units::name,
                units::kind,
                units::active,
            ))
            .order(units::name.asc())
            .load(conn)?;
        Ok(UnitTree::from_rows(rows))
    }

    pub fn from_rows(rows: Vec<UnitRow>) -> UnitTree {
        let index: HashMap<String, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.0.clone(), i))
            .collect();
        let mut children = vec![Vec::new(); rows.len()];
        let nodes: Vec<Node> = rows
            .into_iter()
            .enumerate()
            .map(|(i, (id, parent_id, level, name, kind, active))| {
                let parent = parent_id.and_then(|p| index.get(&p).copied());
                if let Some(p) = parent {
                    children[p].push(i);
                }
                Node {
                    id,
                    parent,
                    level: Level::parse(&level).unwrap_or(Level::Group),
                    name,
                    kind,
                    active,
                }
            })
            .collect();
        UnitTree {
            nodes,
            index,
            children,
        }
    }

    /// A tree from (id, parent, level), with names equal to ids: for unit tests.
    #[cfg(test)]
    pub fn from_edges(edges: &[(&str, Option<&str>, &str)]) -> UnitTree {
        UnitTree::from_rows(
            edges
                .iter()
                .map(|(id, parent, level)| {
                    let name = id.to_string();
                    (
                        name.clone(),
                        parent.map(str::to_owned),
                        level.to_string(),
                        name,
                        None,
                        true,
                    )
                })
                .collect(),
        )
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn require(&self, id: &str) -> Result<usize, AppError> {
        self.find(id).ok_or_else(|| AppError::not_found("单元", id))
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    pub fn id(&self, i: usize) -> &str {
        &self.nodes[i].id
    }

    /// The unit and every active unit below it, parents before children.
    pub fn subtree(&self, root: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if !self.nodes[i].active {
                continue;
            }
            out.push(i);
            stack.extend(self.children[i].iter().rev());
        }
        out
    }

    /// The unit, then its parent, up to the top: the order the 三包 rule searches.
    pub fn chain(&self, i: usize) -> Vec<usize> {
        let mut out = vec![i];
        let mut at = self.nodes[i].parent;
        while let Some(p) = at {
            if out.len() > Level::ALL.len() * 4 {
                break; // a cycle cannot be stored, but a walk must never spin
            }
            out.push(p);
            at = self.nodes[p].parent;
        }
        out
    }

    pub fn is_within(&self, i: usize, root: usize) -> bool {
        self.chain(i).contains(&root)
    }

    /// Units whose tasks of a step with scope `level` relate to unit `i`: the unit itself on
    /// the same level, its ancestor on a wider one, every active descendant on a narrower one.
    pub fn related(&self, i: usize, level: Level) -> Vec<usize> {
        let own = self.nodes[i].level;
        if level == own {
            vec![i]
        } else if level < own {
            self.chain(i)
                .into_iter()
                .find(|a| self.nodes[*a].level == level)
                .into_iter()
                .collect()
        } else {
            self.subtree(i)
                .into_iter()
                .filter(|d| self.nodes[*d].level == level)
                .collect()
        }
    }

    pub fn plan_units(&self, members: &[usize]) -> Vec<PlanUnit> {
        members
            .iter()
            .map(|i| {
                let n = &self.nodes[*i];
                PlanUnit {
                    id: n.id.clone(),
                    parent_id: n.parent.map(|p| self.nodes[p].id.clone()),
                    level: n.level,
                    name: n.name.clone(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> UnitTree {
        UnitTree::from_edges(&[
            ("t", None, "township"),
            ("d", Some("t"), "district"),
            ("v1", Some("d"), "village"),
            ("v2", Some("t"), "village"),
            ("g1", Some("v1"), "group"),
            ("g2", Some("v1"), "group"),
        ])
    }

    #[test]
    fn related_units_follow_scope() {
        let t = tree();
        let id = |i: usize| t.id(i).to_owned();
        let v1 = t.find("v1").unwrap();
        let ids = |v: Vec<usize>| v.into_iter().map(id).collect::<Vec<_>>();
        assert_eq!(ids(t.related(v1, Level::Village)), ["v1"]);
        assert_eq!(ids(t.related(v1, Level::Township)), ["t"]);
        assert_eq!(ids(t.related(v1, Level::Group)), ["g1", "g2"]);
        // v2 skips the district level: nothing to wait for there.
        assert!(t.related(t.find("v2").unwrap(), Level::District).is_empty());
        assert_eq!(ids(t.chain(t.find("g2").unwrap())), ["g2", "v1", "d", "t"]);
        assert_eq!(t.subtree(t.find("d").unwrap()).len(), 4);
    }
}
