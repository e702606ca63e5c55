//! Integration tests: the real binaries against the simulated Okta org.

mod acceptance;
mod check;
mod errors;
mod faults;
mod harness;
mod hostile;
mod incremental;
mod oauth;
mod read;
mod singer;
mod snapshots;
mod spec;
