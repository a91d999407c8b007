//! huanjie (换届): workflow orchestration for grassroots elections.

pub mod audit;
pub mod auth;
pub mod campaign;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod org;
pub mod pagination;
pub mod plan;
pub mod task;
pub mod web;
pub mod workflow;
