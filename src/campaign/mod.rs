//! Campaigns: a stored workflow applied to a subtree of units, and the stored workflow versions
//! they run on.

pub mod catalog;
