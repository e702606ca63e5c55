//! BigQuery destination for the Okta connector: an Airbyte destination and a Singer target sharing one
//! loading core (NDJSON load jobs, typed final tables, dedup by MERGE, overwrite by copy-job swap, STATE
//! echoed only after commit), plus a local mode that writes the exact load files instead.

pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod encoder;
pub mod entry;
pub mod error;
pub mod input;
pub mod local;
pub mod output;
pub mod schema;
pub mod sink;
pub mod spec;
pub mod sql;
pub mod warehouse;
