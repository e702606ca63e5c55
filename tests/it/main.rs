//! Integration tests: the real binaries against the simulated Okta org.

mod acceptance;
mod changes;
mod check;
mod errors;
mod faults;
mod first_run;
mod harness;
mod hostile;
mod incremental;
mod oauth;
mod packaging;
mod read;
mod singer;
mod snapshots;
mod spec;
mod states;
mod stdout_owner;
