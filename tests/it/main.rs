//! Integration tests: the real binaries against the simulated Okta org.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod acceptance;
mod changes;
mod check;
mod errors;
mod faults;
mod first_run;
mod harness;
mod hostile;
mod incremental;
mod layers;
mod oauth;
mod packaging;
mod progress;
mod read;
mod singer;
mod snapshots;
mod spec;
mod states;
mod stdout_owner;
mod types;
