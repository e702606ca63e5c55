//! `source-okta`: reads a whole Okta org as Airbyte (or Singer) streams.
//!
//! `cli` parses arguments and reports errors; `commands` answers spec/check/discover; `sync` runs a
//! read over the stream registry in `streams`, through the paced client in `http` and the Okta
//! specifics in `okta`, printing through `output` (whose bytes the protocol crate writes) and counting
//! records, requests and waits in `progress` for the progress line and the end-of-sync summary.

pub mod cli;
pub mod commands;
pub mod config;
pub mod discover;
pub mod error;
pub mod http;
pub mod launch;
pub mod okta;
pub mod output;
pub mod progress;
pub mod secret;
pub mod singer;
pub mod state;
pub mod streams;
pub mod sync;
