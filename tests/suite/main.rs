//! The integration suite, one test binary: each module drives the real `gcore-reportd` binary
//! (or the engine in process) against the simulator on 127.0.0.1, real SQLite files and real
//! processes; `common` holds the harness and helpers every module shares.

mod common;

mod bad_input;
mod catch_up;
// libtest starts tests in the order of their names: the three-host storm (about two minutes,
// the longest test) is `cluster::` so that it starts among the first instead of ending the run.
mod cluster;
mod completion;
mod config_changes;
mod conformance;
mod crash;
mod destinations;
mod end_to_end;
mod exactly_once;
mod example_config;
mod fanout;
mod faults;
mod hooks;
mod migrations;
mod month_ends;
mod operations;
mod parsing;
mod periods;
mod progress;
mod query_plans;
mod release_database;
mod secrets;
mod shutdown;
mod simulator;
mod store;
mod throttle;
mod verify;
mod versions;
