//! Integration tests of the destination binary: one test binary, fixtures built in code.
//!
//! `local` and `cli` run everywhere. `emulator` loads into the bqemulator BigQuery emulator named by
//! `BQ_EMULATOR_ENDPOINT` (or http://127.0.0.1:9050 when `CI` is set); without either it prints a skip line,
//! and with either but no answering emulator it fails.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod auth;
mod bad_input;
mod cdc;
mod cleanup;
mod cli;
mod common;
mod cost;
mod emulator;
mod faults;
mod local;
mod pipeline;
