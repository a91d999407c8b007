//! What one user may see and do, as unit sets computed once per request from their roles.
//!
//! - read: every role's units (observer, cadre, leader);
//! - work (tick off, reopen, comment): cadre and leader units;
//! - manage (reassign, skip, cancel, ad-hoc tasks): leader subtrees;
//! - admin: everything, including accounts, imports, workflows and campaigns.
//!
//! A cadre's units are their grants plus every unit their person holds a 三包 role on, each
//! with the units below it. Whoever owns a task may also see and work it, so a task reassigned
//! to someone outside a village stays theirs to do.
//!
//! Reads of something outside the scope answer 404 (nothing leaks, not even that it exists);
//! a visible thing the role may not change answers 403.

use std::collections::HashSet;

use diesel::prelude::*;

use super::{Identity, Role};
use crate::campaign::tree::UnitTree;
use crate::db::schema::assignments;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::task::Task;

#[derive(Debug, Clone)]
pub struct Access {
    pub user_id: String,
    pub username: String,
    pub person_id: Option<String>,
    admin: bool,
    read: HashSet<String>,
    work: HashSet<String>,
    manage: HashSet<String>,
    /// The top units of the scope, for choosing a default view.
    roots: Vec<String>,
    /// For each root, the root and its ancestors: a campaign over an ancestor concerns them.
    root_chains: Vec<Vec<String>>,
    /// Observers only read, even their own tasks.
    works_own_tasks: bool,
}

pub fn admin_required() -> AppError {
    AppError::forbidden("需要管理员权限")
}

pub fn hidden(entity: &str, id: &str) -> AppError {
    AppError::not_found(entity, id)
}

impl Access {
    pub fn load(conn: &mut DbConnection, identity: &Identity) -> Result<Access, AppError> {
        if identity.is_admin() {
            return Ok(Access::build(identity, None, &[]));
        }
        let tree = UnitTree::load(conn)?;
        let held: Vec<String> = match (
            &identity.user.person_id,
            identity.grants.iter().any(|g| g.role == Role::Cadre),
        ) {
            (Some(person), true) => assignments::table
                .filter(assignments::person_id.eq(person))
                .filter(assignments::active.eq(true))
                .select(assignments::unit_id)
                .load(conn)?,
            _ => Vec::new(),
        };
        Ok(Access::build(identity, Some(&tree), &held))
    }

    /// Pure: the sets from the roles, the tree and the units the person holds 三包 roles on
    /// (used for the cadre role only). `tree` is `None` for an admin.
    pub fn build(identity: &Identity, tree: Option<&UnitTree>, held_units: &[String]) -> Access {
        let mut access = Access {
            user_id: identity.user.id.clone(),
            username: identity.user.username.clone(),
            person_id: identity.user.person_id.clone(),
            admin: identity.is_admin(),
            read: HashSet::new(),
            work: HashSet::new(),
            manage: HashSet::new(),
            roots: Vec::new(),
            root_chains: Vec::new(),
            works_own_tasks: identity
                .grants
                .iter()
                .any(|g| matches!(g.role, Role::Admin | Role::Leader | Role::Cadre)),
        };
        let Some(tree) = tree else {
            return access;
        };
        let add = |access: &mut Access, role: Role, unit: &str| {
            let Some(root) = tree.find(unit) else { return };
            let ids: Vec<String> = tree
                .subtree(root)
                .into_iter()
                .map(|i| tree.id(i).to_owned())
                .collect();
            if !ids.is_empty() && !access.roots.iter().any(|r| r == unit) {
                access.roots.push(unit.to_owned());
            }
            if matches!(role, Role::Leader | Role::Cadre) {
                access.work.extend(ids.iter().cloned());
            }
            if role == Role::Leader {
                access.manage.extend(ids.iter().cloned());
            }
            access.read.extend(ids);
        };
        for g in &identity.grants {
            if let Some(u) = &g.unit_id {
                add(&mut access, g.role, u);
            }
        }
        if identity.grants.iter().any(|g| g.role == Role::Cadre) {
            for u in held_units {
                add(&mut access, Role::Cadre, u);
            }
        }
        // A root inside another root's subtree adds nothing to a default view.
        let read_roots = access.roots.clone();
        access.roots.retain(|r| {
            let Some(i) = tree.find(r) else { return false };
            !read_roots
                .iter()
                .filter(|o| *o != r)
                .filter_map(|o| tree.find(o))
                .any(|o| tree.is_within(i, o))
        });
        access.root_chains = access
            .roots
            .iter()
            .filter_map(|r| tree.find(r))
            .map(|i| {
                tree.chain(i)
                    .into_iter()
                    .map(|a| tree.id(a).to_owned())
                    .collect()
            })
            .collect();
        access
    }

    /// A campaign is visible to whoever reads its root or a unit below it.
    pub fn can_see_campaign(&self, root_unit_id: &str) -> bool {
        self.can_read_unit(root_unit_id)
            || self
                .root_chains
                .iter()
                .any(|c| c.iter().any(|u| u == root_unit_id))
    }

    /// The caller's roots that lie inside a campaign rooted at `root_unit_id`.
    pub fn roots_within(&self, root_unit_id: &str) -> Vec<String> {
        self.root_chains
            .iter()
            .filter(|c| c.iter().any(|u| u == root_unit_id))
            .map(|c| c[0].clone())
            .collect()
    }

    pub fn is_admin(&self) -> bool {
        self.admin
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.admin {
            Ok(())
        } else {
            Err(admin_required())
        }
    }

    pub fn can_read_unit(&self, unit_id: &str) -> bool {
        self.admin || self.read.contains(unit_id)
    }

    pub fn can_manage_unit(&self, unit_id: &str) -> bool {
        self.admin || self.manage.contains(unit_id)
    }

    /// Every unit the caller may read; `None` means all of them.
    pub fn readable_units(&self) -> Option<Vec<String>> {
        (!self.admin).then(|| self.read.iter().cloned().collect())
    }

    /// The top units of the caller's scope (empty for an admin, who sees everything).
    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    pub fn require_read_unit(&self, unit_id: &str) -> Result<(), AppError> {
        if self.can_read_unit(unit_id) {
            Ok(())
        } else {
            Err(hidden("单元", unit_id))
        }
    }

    /// For units named in a request body: the caller sees their own scope, so a unit outside it
    /// is refused outright.
    pub fn require_manage_unit(&self, unit_id: &str) -> Result<(), AppError> {
        if self.can_manage_unit(unit_id) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "无权在单元 {unit_id} 安排或改派任务"
            )))
        }
    }

    fn owns(&self, task: &Task) -> bool {
        self.person_id.is_some() && task.owner_id == self.person_id
    }

    pub fn can_read_task(&self, task: &Task) -> bool {
        self.can_read_unit(&task.unit_id) || self.owns(task)
    }

    pub fn require_read_task(&self, task: &Task) -> Result<(), AppError> {
        if self.can_read_task(task) {
            Ok(())
        } else {
            Err(hidden("任务", &task.id))
        }
    }

    /// Tick off, reopen, comment.
    pub fn require_work_task(&self, task: &Task) -> Result<(), AppError> {
        self.require_read_task(task)?;
        if self.admin
            || self.work.contains(&task.unit_id)
            || (self.works_own_tasks && self.owns(task))
        {
            Ok(())
        } else {
            Err(AppError::forbidden("只读权限: 不能办理这个任务"))
        }
    }

    /// Reassign, skip, cancel.
    pub fn require_manage_task(&self, task: &Task) -> Result<(), AppError> {
        self.require_read_task(task)?;
        if self.can_manage_unit(&task.unit_id) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "只有包片领导或管理员可以改派、跳过或取消任务",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Grant, Via};

    fn tree() -> UnitTree {
        UnitTree::from_edges(&[
            ("乡", None, "township"),
            ("一片", Some("乡"), "district"),
            ("二片", Some("乡"), "district"),
            ("甲村", Some("一片"), "village"),
            ("乙村", Some("二片"), "village"),
            ("甲村一组", Some("甲村"), "group"),
        ])
    }

    fn identity(grants: &[(Role, Option<&str>)], person: Option<&str>) -> Identity {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 10, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        Identity {
            user: crate::auth::User {
                id: "u".into(),
                username: "u".into(),
                person_id: person.map(str::to_owned),
                password_hash: None,
                active: true,
                created_at: now,
                updated_at: now,
                password_changed_at: None,
            },
            grants: grants
                .iter()
                .map(|(role, unit)| Grant {
                    role: *role,
                    unit_id: unit.map(str::to_owned),
                    unit_name: None,
                })
                .collect(),
            via: Via::Token { id: "t".into() },
        }
    }

    #[test]
    fn a_leader_manages_their_district_and_nothing_beside_it() {
        let a = Access::build(
            &identity(&[(Role::Leader, Some("一片"))], None),
            Some(&tree()),
            &[],
        );
        assert!(a.can_read_unit("甲村一组"));
        assert!(a.can_manage_unit("甲村"));
        assert!(!a.can_read_unit("乙村"));
        assert!(!a.can_read_unit("乡"));
        assert_eq!(a.roots(), ["一片"]);
        assert!(a.require_admin().is_err());
        assert!(a.can_see_campaign("乡"));
        assert!(!a.can_see_campaign("二片"));
        assert_eq!(a.roots_within("乡"), ["一片"]);
    }

    #[test]
    fn a_cadre_works_where_their_person_holds_roles_and_manages_nothing() {
        let a = Access::build(
            &identity(&[(Role::Cadre, None)], Some("李四")),
            Some(&tree()),
            &["甲村".into()],
        );
        assert!(a.can_read_unit("甲村"));
        assert!(a.can_read_unit("甲村一组"));
        assert!(!a.can_read_unit("乙村"));
        assert!(!a.can_manage_unit("甲村"));
        assert!(a.work.contains("甲村"));
    }

    #[test]
    fn held_units_count_only_for_the_cadre_role() {
        let a = Access::build(
            &identity(&[(Role::Observer, Some("二片"))], Some("李四")),
            Some(&tree()),
            &["甲村".into()],
        );
        assert!(!a.can_read_unit("甲村"));
        assert!(a.can_read_unit("乙村"));
        assert!(a.work.is_empty());
    }

    #[test]
    fn nested_roots_collapse_to_the_outer_one() {
        let a = Access::build(
            &identity(
                &[(Role::Observer, Some("乡")), (Role::Leader, Some("甲村"))],
                None,
            ),
            Some(&tree()),
            &[],
        );
        assert_eq!(a.roots(), ["乡"]);
        assert!(a.can_manage_unit("甲村一组"));
        assert!(!a.can_manage_unit("乙村"));
    }

    #[test]
    fn an_admin_reads_and_manages_everything() {
        let a = Access::build(&identity(&[(Role::Admin, None)], None), None, &[]);
        assert!(a.can_read_unit("anything"));
        assert!(a.can_manage_unit("anything"));
        assert!(a.readable_units().is_none());
    }
}
