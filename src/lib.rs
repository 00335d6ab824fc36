//! gcore-reportd: creates, tracks and downloads Gcore Billing Reseller reports on a schedule.
//!
//! Layers, with dependencies pointing one way: the domain types ([`format`], [`period`],
//! [`schedule`], [`naming`], [`secret`]); [`config`], [`api`] and [`store`], which know nothing
//! of each other; the [`engine`], which uses them; and [`cli`], which wires everything up.
//! The simulated Gcore API used by tests, benchmarks and `demo` is its own crate, `crates/sim`.

pub mod api;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crashpoint;
pub mod engine;
pub mod format;
pub mod lifecycle;
pub mod liveness;
pub mod logging;
pub mod metrics;
pub mod naming;
pub mod objects;
pub mod ownership;
pub mod period;
pub mod schedule;
pub mod secret;
pub mod service;

pub mod store;
pub mod verify;
