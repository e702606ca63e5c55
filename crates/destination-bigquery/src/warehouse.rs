//! The operations the sink needs from a warehouse, with three implementations: BigQuery (REST), local files
//! (no BigQuery at hand: the exact load files and table schemas, one folder per dataset), and a null sink
//! that only counts (for the benchmark).

use crate::client::{BigQuery, JobStats};
use crate::error::{Error, Result};
use crate::local::LocalWarehouse;
use crate::schema::{Column, TableSchema, EXTRACTED_AT};
use crate::sql::{self, TableRef};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How often a load job that failed for a transient reason is run again.
const JOB_RETRIES: u32 = 3;

/// How a load writes its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Append,
    Truncate,
}

impl Disposition {
    pub fn api(self) -> &'static str {
        match self {
            Disposition::Append => "WRITE_APPEND",
            Disposition::Truncate => "WRITE_TRUNCATE",
        }
    }
}

/// One load: the file, where it goes, and the final table it ends up in (for the local layout).
pub struct Load<'a> {
    pub target: &'a TableRef,
    pub final_table: &'a TableRef,
    pub schema: &'a TableSchema,
    pub file: &'a Path,
    pub rows: u64,
    pub job_id: &'a str,
    pub disposition: Disposition,
}

/// A null sink's counters.
#[derive(Debug, Default)]
pub struct NullWarehouse {
    pub loads: BTreeMap<String, u64>,
    pub rows: BTreeMap<String, u64>,
    pub bytes: u64,
}

pub enum Warehouse {
    BigQuery(BigQuery),
    Local(LocalWarehouse),
    Null(NullWarehouse),
}

impl Warehouse {
    pub async fn ensure_dataset(&mut self, dataset: &str) -> Result<()> {
        match self {
            Warehouse::BigQuery(bq) => bq.ensure_dataset(dataset).await,
            Warehouse::Local(l) => l.ensure_dataset(dataset),
            Warehouse::Null(_) => Ok(()),
        }
    }

    /// The columns of an existing table: `(name, type if known, type as reported)`; `None` when missing.
    pub async fn table_columns(
        &mut self,
        t: &TableRef,
    ) -> Result<Option<Vec<(String, Option<crate::schema::BqType>, String)>>> {
        match self {
            Warehouse::BigQuery(bq) => {
                Ok(bq.get_table(t).await?.map(|v| TableSchema::from_api(&v)))
            }
            Warehouse::Local(l) => Ok(l.get_table(t)?.map(|v| TableSchema::from_api(&v))),
            Warehouse::Null(_) => Ok(None),
        }
    }

    /// Creates a table partitioned on the extraction date and clustered on the primary key.
    pub async fn create_table(
        &mut self,
        t: &TableRef,
        schema: &TableSchema,
        expires_in: Option<Duration>,
    ) -> Result<()> {
        let fields = schema.to_api_fields();
        let clustering = schema.clustering();
        match self {
            Warehouse::BigQuery(bq) => bq
                .create_table(t, &fields, Some(EXTRACTED_AT), &clustering, expires_in)
                .await
                .map(|_| ()),
            Warehouse::Local(l) => l.create_table(t, &fields, &clustering, expires_in),
            Warehouse::Null(_) => Ok(()),
        }
    }

    pub async fn add_columns(&mut self, t: &TableRef, columns: &[Column]) -> Result<()> {
        let Some(stmt) = sql::add_columns(t, columns) else {
            return Ok(());
        };
        match self {
            Warehouse::BigQuery(bq) => match bq.statement(&stmt).await {
                Ok(_) => Ok(()),
                // Some emulators (DuckDB-based) take one ALTER action per statement; BigQuery takes the batch.
                Err(Error::Job { message, .. })
                    if columns.len() > 1 && message.contains("one ALTER command") =>
                {
                    tracing::warn!(
                        "the endpoint refused a batched ALTER TABLE; adding the columns one by one"
                    );
                    for c in columns {
                        let one = sql::add_columns(t, std::slice::from_ref(c)).expect("one column");
                        bq.statement(&one).await?;
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Warehouse::Local(l) => l.add_columns(t, columns, &stmt),
            Warehouse::Null(_) => Ok(()),
        }
    }

    pub async fn widen_to_json(&mut self, t: &TableRef, column: &str) -> Result<()> {
        let script = sql::widen_to_json(t, column);
        match self {
            Warehouse::BigQuery(bq) => {
                for stmt in &script {
                    bq.statement(stmt).await?;
                }
                Ok(())
            }
            Warehouse::Local(l) => l.widen_to_json(t, column, &script),
            Warehouse::Null(_) => Ok(()),
        }
    }

    /// Loads one NDJSON file; returns the rows the warehouse reports.
    pub async fn load(&mut self, load: Load<'_>) -> Result<u64> {
        match self {
            Warehouse::BigQuery(bq) => {
                // A failed load job loads nothing, so a job that failed for a transient reason
                // (backendError, rateLimitExceeded in its errorResult) is run again under a new id.
                let mut attempt = 0u32;
                let stats = loop {
                    let job_id = if attempt == 0 {
                        load.job_id.to_string()
                    } else {
                        format!("{}_r{attempt}", load.job_id)
                    };
                    match bq
                        .load_file(
                            load.target,
                            &load.schema.to_api_fields(),
                            load.file,
                            &job_id,
                            load.disposition.api(),
                        )
                        .await
                    {
                        Ok(stats) => break stats,
                        Err(
                            e @ Error::Job {
                                retryable: true, ..
                            },
                        ) if attempt < JOB_RETRIES => {
                            attempt += 1;
                            tracing::warn!("{e}; running the load again (attempt {})", attempt + 1);
                            tokio::time::sleep(Duration::from_secs(2u64 << attempt)).await;
                        }
                        Err(e) => return Err(e),
                    }
                };
                // BigQuery reports the rows this job loaded; with `maxBadRecords: 0` fewer means rows were
                // dropped. (bqemulator reports the table's total instead, which is never fewer.)
                if stats.output_rows < load.rows {
                    return Err(Error::Job {
                        job_id: stats.job_id,
                        reason: "rowCountMismatch".into(),
                        message: format!(
                            "loaded {} rows into {}, expected {}",
                            stats.output_rows, load.target, load.rows
                        ),
                        retryable: false,
                    });
                }
                Ok(load.rows)
            }
            Warehouse::Local(l) => l.load(&load),
            Warehouse::Null(n) => {
                *n.loads.entry(load.final_table.table.clone()).or_default() += 1;
                *n.rows.entry(load.final_table.table.clone()).or_default() += load.rows;
                n.bytes += std::fs::metadata(load.file)
                    .map(|m| m.len())
                    .unwrap_or_default();
                Ok(load.rows)
            }
        }
    }

    /// Dedup: merges `source` into `target` on the primary key, keeping the newest row and applying CDC
    /// tombstones as `deletes` says. `source_filter` narrows the source rows (partition pruning).
    pub async fn merge(
        &mut self,
        target: &TableRef,
        source: &TableRef,
        schema: &TableSchema,
        deletes: sql::Deletes,
        source_filter: Option<&str>,
    ) -> Result<JobStats> {
        let stmt = sql::merge(target, source, schema, deletes, source_filter);
        let scoped = sql::scoped_deletes(target, source, schema, deletes, source_filter);
        if let (Some(pre), Warehouse::BigQuery(bq)) = (&scoped, &mut *self) {
            let first = bq.statement_stats(pre).await?;
            let mut stats = bq.statement_stats(&stmt).await?;
            stats.bytes_processed += first.bytes_processed;
            return Ok(stats);
        }
        if let (Some(pre), Warehouse::Local(l)) = (&scoped, &mut *self) {
            l.record_sql(target, pre)?;
        }
        match self {
            Warehouse::BigQuery(bq) => bq.statement_stats(&stmt).await,
            Warehouse::Local(l) => {
                l.record_sql(target, &stmt)?;
                l.merge(source, target, schema, deletes)?;
                Ok(JobStats::default())
            }
            Warehouse::Null(_) => Ok(JobStats::default()),
        }
    }

    /// Overwrite: replaces `dst` with `src` in one copy job (`WRITE_TRUNCATE`).
    pub async fn replace(&mut self, src: &TableRef, dst: &TableRef, job_id: &str) -> Result<()> {
        match self {
            Warehouse::BigQuery(bq) => bq.copy_table(src, dst, job_id).await,
            Warehouse::Local(l) => l.replace(src, dst, job_id),
            Warehouse::Null(_) => Ok(()),
        }
    }

    pub async fn drop_table(&mut self, t: &TableRef) -> Result<()> {
        match self {
            Warehouse::BigQuery(bq) => bq.delete_table(t).await,
            Warehouse::Local(l) => l.drop_table(t),
            Warehouse::Null(_) => Ok(()),
        }
    }
}
