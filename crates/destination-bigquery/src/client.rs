//! The BigQuery REST client: datasets, tables, resumable-upload load jobs, queries, copy jobs and job polling.
//!
//! A thin layer on `reqwest` (no crate offers media upload for load jobs). The base URL is configurable so
//! the same code talks to `https://bigquery.googleapis.com` or a loopback emulator. Every call goes through
//! one retry policy: 429, 5xx, `rateLimitExceeded`/`backendError` and network failures are retried with
//! full-jitter exponential backoff; a 401 refreshes the token once. A job is failed when its
//! `status.errorResult` is set, also when the HTTP status was 200.

use crate::auth::TokenProvider;
use crate::error::{retryable_reason, Error, Result};
use crate::sql::TableRef;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The one retry policy of the workspace (bounded attempts and time, full jitter).
pub use connector_kit::RetryPolicy;

/// The policy of a sync: patient, ten attempts within ten minutes.
pub const DEFAULT_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 10,
    base: Duration::from_millis(500),
    cap: Duration::from_secs(32),
    max_elapsed: Duration::from_secs(600),
};

/// Counters of what the client did (for the end-of-sync summary and the tests).
#[derive(Debug, Default, Clone)]
pub struct LoadStats {
    pub job_id: String,
    pub output_rows: u64,
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What a query job reports about itself.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JobStats {
    pub job_id: String,
    /// `totalBytesProcessed` (a `jobs.query` answer's top level, or a job's `statistics`).
    pub bytes_processed: u64,
}

impl JobStats {
    fn of(v: &Value) -> Self {
        let bytes = [
            "/totalBytesProcessed",
            "/statistics/totalBytesProcessed",
            "/statistics/query/totalBytesProcessed",
        ]
        .iter()
        .find_map(|p| v.pointer(p))
        .and_then(|b| {
            b.as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| b.as_u64())
        })
        .unwrap_or_default();
        JobStats {
            job_id: v
                .pointer("/jobReference/jobId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            bytes_processed: bytes,
        }
    }
}

pub struct BigQuery {
    http: reqwest::Client,
    base: String,
    pub project: String,
    pub location: String,
    auth: Arc<TokenProvider>,
    pub retry: RetryPolicy,
    /// Run transformation statements (MERGE, ALTER) as BATCH-priority query jobs
    /// (`transformation_priority: batch`): they wait for idle slots and do not count toward the
    /// interactive concurrency limit.
    pub batch_priority: bool,
}

impl BigQuery {
    pub fn new(
        endpoint: &str,
        project: &str,
        location: &str,
        auth: Arc<TokenProvider>,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(3600))
            .user_agent(concat!("destination-bigquery/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(BigQuery {
            http,
            base: endpoint.trim_end_matches('/').to_string(),
            project: project.into(),
            location: location.into(),
            auth,
            retry: DEFAULT_RETRY,
            batch_priority: false,
        })
    }

    fn api(&self, path: &str) -> String {
        format!(
            "{}/bigquery/v2/projects/{}{}",
            self.base, self.project, path
        )
    }

    /// Sends one JSON request with retries; returns the status and the parsed body (Null when empty).
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<(StatusCode, Value)> {
        let started = Instant::now();
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let mut req = self.http.request(method.clone(), url);
            if let Some(b) = body {
                req = req.json(b);
            }
            req = self.authorize(req).await?;
            let result = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    let value: Value = if text.trim().is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_str(&text).unwrap_or(Value::String(text))
                    };
                    if status.is_success() {
                        return Ok((status, value));
                    }
                    if status == StatusCode::UNAUTHORIZED && !refreshed && !self.auth.is_none() {
                        refreshed = true;
                        self.auth.invalidate().await;
                        continue;
                    }
                    api_error(status, &value)
                }
                Err(e) => Error::Network(format!("{what}: {e}")),
            };
            self.backoff_or_fail(result, attempt, started, what).await?;
        }
    }

    async fn authorize(&self, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder> {
        Ok(match self.auth.token().await? {
            Some(tok) => req.bearer_auth(tok.expose()),
            None => req,
        })
    }

    /// Sleeps before the next attempt, or returns the error when it is final.
    async fn backoff_or_fail(
        &self,
        err: Error,
        attempt: u32,
        started: Instant,
        what: &str,
    ) -> Result<()> {
        if !err.is_retryable() {
            return Err(err);
        }
        let Some(delay) = self.retry.next_delay(attempt, started) else {
            return Err(Error::RetriesExhausted {
                attempts: attempt,
                elapsed_s: started.elapsed().as_secs_f64(),
                last: Box::new(err),
            });
        };
        tracing::warn!(
            attempt,
            delay_ms = delay.as_millis() as u64,
            "{what}: {err}; retrying"
        );
        tokio::time::sleep(delay).await;
        Ok(())
    }

    /// `datasets.get`; `None` when it does not exist.
    pub async fn get_dataset(&self, dataset: &str) -> Result<Option<Value>> {
        match self
            .call(
                Method::GET,
                &self.api(&format!("/datasets/{dataset}")),
                None,
                "datasets.get",
            )
            .await
        {
            Ok((_, v)) => Ok(Some(v)),
            Err(Error::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Makes sure a dataset exists in the configured location (creating it if needed); a dataset in another
    /// location is a configuration error, since jobs could not join it with the others.
    pub async fn ensure_dataset(&self, dataset: &str) -> Result<()> {
        let existing = match self.get_dataset(dataset).await? {
            Some(d) => d,
            None => {
                let body = json!({"datasetReference": {"projectId": self.project, "datasetId": dataset},
                    "location": self.location});
                match self
                    .call(
                        Method::POST,
                        &self.api("/datasets"),
                        Some(&body),
                        "datasets.insert",
                    )
                    .await
                {
                    Ok((_, v)) => v,
                    Err(Error::Api { status: 409, .. }) => {
                        self.get_dataset(dataset).await?.unwrap_or_default()
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if let Some(loc) = existing.get("location").and_then(Value::as_str) {
            if !loc.eq_ignore_ascii_case(&self.location) {
                return Err(Error::Config(format!(
                    "dataset {}.{dataset} is in location {loc}, but `dataset_location` is {}; \
                     set `dataset_location` to {loc} or use another dataset",
                    self.project, self.location
                )));
            }
        }
        Ok(())
    }

    /// The names of a dataset's tables (`tables.list`, every page); empty when the dataset does not exist.
    pub async fn list_tables(&self, dataset: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/bigquery/v2/projects/{}/datasets/{}/tables?maxResults=1000",
                self.base, self.project, dataset
            );
            if let Some(p) = &page {
                url.push_str(&format!("&pageToken={}", urlencode(p)));
            }
            let v = match self.call(Method::GET, &url, None, "tables.list").await {
                Ok((_, v)) => v,
                Err(Error::Api { status: 404, .. }) => return Ok(names),
                Err(e) => return Err(e),
            };
            for t in v
                .get("tables")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = t.pointer("/tableReference/tableId").and_then(Value::as_str) {
                    names.push(n.to_string());
                }
            }
            match v.get("nextPageToken").and_then(Value::as_str) {
                Some(p) if !p.is_empty() => page = Some(p.to_string()),
                _ => return Ok(names),
            }
        }
    }

    /// `tables.get`; `None` when it does not exist.
    pub async fn get_table(&self, t: &TableRef) -> Result<Option<Value>> {
        let url = format!(
            "{}/bigquery/v2/projects/{}/datasets/{}/tables/{}",
            self.base, t.project, t.dataset, t.table
        );
        match self.call(Method::GET, &url, None, "tables.get").await {
            Ok((_, v)) => Ok(Some(v)),
            Err(Error::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `tables.insert` with the schema, day partitioning on `partition_field`, clustering and an optional
    /// expiry. Returns false when the table already existed.
    pub async fn create_table(
        &self,
        t: &TableRef,
        schema: &Value,
        partition_field: Option<&str>,
        clustering: &[String],
        expires_in: Option<Duration>,
    ) -> Result<bool> {
        let mut body = json!({"tableReference": t.api(), "schema": schema});
        if let Some(f) = partition_field {
            body["timePartitioning"] = json!({"type": "DAY", "field": f});
        }
        if !clustering.is_empty() {
            body["clustering"] = json!({"fields": clustering});
        }
        if let Some(d) = expires_in {
            let at = chrono::Utc::now() + chrono::Duration::from_std(d).unwrap_or_default();
            body["expirationTime"] = json!(at.timestamp_millis().to_string());
        }
        let url = format!(
            "{}/bigquery/v2/projects/{}/datasets/{}/tables",
            self.base, t.project, t.dataset
        );
        match self
            .call(Method::POST, &url, Some(&body), "tables.insert")
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::Api { status: 409, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `tables.delete`; a missing table is fine.
    pub async fn delete_table(&self, t: &TableRef) -> Result<()> {
        let url = format!(
            "{}/bigquery/v2/projects/{}/datasets/{}/tables/{}",
            self.base, t.project, t.dataset, t.table
        );
        match self.call(Method::DELETE, &url, None, "tables.delete").await {
            Ok(_) | Err(Error::Api { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Runs one statement (or script) through `jobs.query` and waits for it. An `errors` array is a failure
    /// even with HTTP 200.
    pub async fn query(&self, sql: &str) -> Result<Value> {
        // A statement whose job failed for a transient reason is run again; every statement this
        // destination runs (MERGE, ALTER … IF NOT EXISTS, copies into temp tables) is safe to repeat.
        self.rerun_transient(|| self.query_once(sql)).await
    }

    /// Runs `statement` again, up to three times, while its job fails for a transient reason.
    async fn rerun_transient<T, F, Fut>(&self, mut statement: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut attempt = 0u32;
        loop {
            match statement().await {
                Err(
                    e @ Error::Job {
                        retryable: true, ..
                    },
                ) if attempt < 3 => {
                    attempt += 1;
                    tracing::warn!("{e}; running the statement again (attempt {})", attempt + 1);
                    tokio::time::sleep(self.retry.delay(attempt + 1)).await;
                }
                other => return other,
            }
        }
    }

    async fn query_once(&self, sql: &str) -> Result<Value> {
        let body = json!({
            "query": sql, "useLegacySql": false, "location": self.location, "timeoutMs": 60000,
            "requestId": uuid::Uuid::new_v4().to_string(), "formatOptions": {"useInt64Timestamp": true},
        });
        let (_, mut v) = self
            .call(
                Method::POST,
                &self.api("/queries"),
                Some(&body),
                "jobs.query",
            )
            .await?;
        check_query(&v)?;
        let started = Instant::now();
        while v.get("jobComplete") == Some(&Value::Bool(false)) {
            let job_id = v
                .pointer("/jobReference/jobId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if started.elapsed() > Duration::from_secs(6 * 3600) {
                return Err(Error::Job {
                    job_id,
                    reason: "timeout".into(),
                    message: "query did not finish".into(),
                    retryable: false,
                });
            }
            let url = self.api(&format!(
                "/queries/{job_id}?location={}&timeoutMs=30000",
                self.location
            ));
            v = self
                .call(Method::GET, &url, None, "jobs.getQueryResults")
                .await?
                .1;
            check_query(&v)?;
        }
        Ok(v)
    }

    /// Runs a transformation statement (MERGE, DDL, UPDATE): through `jobs.query`, or as a BATCH-priority
    /// query job through `jobs.insert` when `batch_priority` is set.
    pub async fn statement(&self, sql: &str) -> Result<()> {
        self.statement_stats(sql).await.map(|_| ())
    }

    /// Like [`Self::statement`], returning the job's id and `totalBytesProcessed` (what on-demand pricing
    /// bills).
    pub async fn statement_stats(&self, sql: &str) -> Result<JobStats> {
        if !self.batch_priority {
            return self.query(sql).await.map(|v| JobStats::of(&v));
        }
        self.rerun_transient(|| async {
            let job_id = format!("airbyte_stmt_{}", uuid::Uuid::new_v4().simple());
            let body = json!({
                "jobReference": {"projectId": self.project, "jobId": job_id, "location": self.location},
                "configuration": {"query": {"query": sql, "useLegacySql": false, "priority": "BATCH"}},
            });
            let (_, job) = self
                .call(
                    Method::POST,
                    &self.api("/jobs"),
                    Some(&body),
                    "jobs.insert(query)",
                )
                .await?;
            self.wait_job(&job).await.map(|v| JobStats::of(&v))
        })
        .await
    }

    /// A query's rows as plain values (`f[].v`), for checks and tests.
    pub async fn query_rows(&self, sql: &str) -> Result<Vec<Vec<Value>>> {
        let v = self.query(sql).await?;
        Ok(v.get("rows")
            .and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        r.get("f")
                            .and_then(Value::as_array)
                            .map(|cells| {
                                cells
                                    .iter()
                                    .map(|c| c.get("v").cloned().unwrap_or(Value::Null))
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// A copy job (`WRITE_TRUNCATE`, `CREATE_IF_NEEDED`): atomically replaces `dst` with `src`.
    pub async fn copy_table(&self, src: &TableRef, dst: &TableRef, job_id: &str) -> Result<()> {
        let body = json!({
            "jobReference": {"projectId": self.project, "jobId": job_id, "location": self.location},
            "configuration": {"copy": {"sourceTable": src.api(), "destinationTable": dst.api(),
                "writeDisposition": "WRITE_TRUNCATE", "createDisposition": "CREATE_IF_NEEDED"}},
        });
        let job = match self
            .call(
                Method::POST,
                &self.api("/jobs"),
                Some(&body),
                "jobs.insert(copy)",
            )
            .await
        {
            Ok((_, v)) => v,
            Err(Error::Api { status: 409, .. }) => json!({"jobReference": {"jobId": job_id}}),
            Err(e) => return Err(e),
        };
        self.wait_job(&job).await.map(|_| ())
    }

    /// Loads an NDJSON file into `table` with a resumable upload (POST the job, PUT the bytes), then waits for
    /// the job. `job_id` is derived by the caller, so a retried request finds the job instead of loading twice.
    pub async fn load_file(
        &self,
        table: &TableRef,
        schema: &Value,
        file: &Path,
        job_id: &str,
        write_disposition: &str,
    ) -> Result<LoadStats> {
        let len = tokio::fs::metadata(file)
            .await
            .map_err(|e| Error::io(file.display(), e))?
            .len();
        let body = json!({
            "jobReference": {"projectId": self.project, "jobId": job_id, "location": self.location},
            "configuration": {"load": {
                "destinationTable": table.api(), "sourceFormat": "NEWLINE_DELIMITED_JSON", "schema": schema,
                "writeDisposition": write_disposition, "createDisposition": "CREATE_NEVER",
                "ignoreUnknownValues": false, "maxBadRecords": 0,
            }},
        });
        let started = Instant::now();
        let mut attempt = 0;
        let mut refreshed = false;
        let job = loop {
            attempt += 1;
            match self.upload_once(&body, file, len).await {
                Ok(job) => break job,
                Err(Error::Api { status: 409, .. }) => {
                    break json!({"jobReference": {"jobId": job_id}})
                }
                // The token was refused (revoked, or expired early): `upload_once` dropped it; one new try.
                Err(Error::Api { status: 401, .. }) if !refreshed && !self.auth.is_none() => {
                    refreshed = true;
                    tracing::warn!(
                        "the upload was refused with 401; retrying once with a new token"
                    );
                }
                Err(e) => {
                    self.backoff_or_fail(e, attempt, started, "load upload")
                        .await?
                }
            }
        };
        let done = self.wait_job(&job).await?;
        let output_rows = done
            .pointer("/statistics/load/outputRows")
            .and_then(|v| {
                v.as_str()
                    .and_then(|s| s.parse().ok())
                    .or_else(|| v.as_u64())
            })
            .unwrap_or_default();
        let job_id = done
            .pointer("/jobReference/jobId")
            .and_then(Value::as_str)
            .unwrap_or(job_id)
            .to_string();
        Ok(LoadStats {
            job_id,
            output_rows,
        })
    }

    async fn upload_once(&self, body: &Value, file: &Path, len: u64) -> Result<Value> {
        let url = format!(
            "{}/upload/bigquery/v2/projects/{}/jobs?uploadType=resumable",
            self.base, self.project
        );
        let req = self
            .http
            .post(&url)
            .header("X-Upload-Content-Type", "application/octet-stream")
            .header("X-Upload-Content-Length", len.to_string())
            .json(body);
        let resp = self
            .authorize(req)
            .await?
            .send()
            .await
            .map_err(|e| Error::Network(format!("upload start: {e}")))?;
        let status = resp.status();
        let session = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        if !status.is_success() {
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            if status == StatusCode::UNAUTHORIZED {
                self.auth.invalidate().await;
            }
            return Err(api_error(status, &v));
        }
        let session = session.ok_or_else(|| Error::Api {
            status: status.as_u16(),
            reason: "noUploadSession".into(),
            message: "the resumable upload answer has no Location header".into(),
            retryable: true,
        })?;
        let session = if session.starts_with("http") {
            session
        } else {
            format!("{}{session}", self.base)
        };
        let f = tokio::fs::File::open(file)
            .await
            .map_err(|e| Error::io(file.display(), e))?;
        let stream = futures_util::stream::unfold(f, |mut f| async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0u8; 1 << 20];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(buf), f))
                }
                Err(e) => Some((Err(e), f)),
            }
        });
        let range = if len == 0 {
            "bytes */0".to_string()
        } else {
            format!("bytes 0-{}/{len}", len - 1)
        };
        let req = self
            .http
            .put(&session)
            .header(reqwest::header::CONTENT_LENGTH, len.to_string())
            .header(reqwest::header::CONTENT_RANGE, range)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream));
        let resp = self
            .authorize(req)
            .await?
            .send()
            .await
            .map_err(|e| Error::Network(format!("upload: {e}")))?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(v)
        } else {
            Err(api_error(status, &v))
        }
    }

    /// Polls `jobs.get` until the job is DONE; its `status.errorResult` makes it fail.
    pub async fn wait_job(&self, job: &Value) -> Result<Value> {
        let mut job = job.clone();
        let job_id = job
            .pointer("/jobReference/jobId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let location = job
            .pointer("/jobReference/location")
            .and_then(Value::as_str)
            .unwrap_or(&self.location)
            .to_string();
        let mut delay = Duration::from_millis(200);
        loop {
            if job.pointer("/status/state").and_then(Value::as_str) == Some("DONE") {
                if let Some(err) = job.pointer("/status/errorResult") {
                    return Err(job_error(&job_id, err, job.pointer("/status/errors")));
                }
                return Ok(job);
            }
            if job.get("status").is_some() {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            let url = self.api(&format!("/jobs/{job_id}?location={location}"));
            job = self.call(Method::GET, &url, None, "jobs.get").await?.1;
        }
    }
}

fn check_query(v: &Value) -> Result<()> {
    let job_id = v
        .pointer("/jobReference/jobId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(err) = v.pointer("/status/errorResult") {
        return Err(job_error(job_id, err, v.pointer("/status/errors")));
    }
    match v.get("errors").and_then(Value::as_array) {
        Some(errs) if !errs.is_empty() => Err(job_error(
            job_id,
            &errs[0],
            Some(&Value::Array(errs.clone())),
        )),
        _ => Ok(()),
    }
}

fn job_error(job_id: &str, err: &Value, all: Option<&Value>) -> Error {
    let reason = err
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    let mut message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(Value::Array(all)) = all {
        for e in all.iter().take(5) {
            if let Some(m) = e.get("message").and_then(Value::as_str) {
                if !message.contains(m) {
                    message.push_str("; ");
                    message.push_str(m);
                }
            }
        }
    }
    Error::Job {
        job_id: job_id.to_string(),
        retryable: retryable_reason(&reason),
        reason,
        message,
    }
}

/// Classifies an HTTP error answer: `{"error": {"code", "message", "errors": [{"reason"}]}}`.
pub fn api_error(status: StatusCode, body: &Value) -> Error {
    let err = body.get("error");
    let reason = err
        .and_then(|e| e.pointer("/errors/0/reason"))
        .and_then(Value::as_str)
        .or_else(|| err.and_then(|e| e.get("status")).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            body.as_str()
                .map(|s| s.chars().take(300).collect())
                .unwrap_or_default()
        });
    let retryable =
        matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504) || retryable_reason(&reason);
    Error::Api {
        status: status.as_u16(),
        reason,
        message,
        retryable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_api_errors() {
        let e = api_error(
            StatusCode::FORBIDDEN,
            &json!({"error": {"code": 403, "message": "Exceeded rate limits", "errors": [{"reason": "rateLimitExceeded"}]}}),
        );
        assert!(e.is_retryable());
        let e = api_error(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"message": "bad", "errors": [{"reason": "invalid"}]}}),
        );
        assert!(!e.is_retryable());
        assert!(api_error(StatusCode::SERVICE_UNAVAILABLE, &Value::Null).is_retryable());
    }

    #[test]
    fn job_errors_with_http_200_fail() {
        let v = json!({"jobReference": {"jobId": "j"}, "jobComplete": true,
            "errors": [{"reason": "invalidQuery", "message": "Syntax error"}]});
        let e = check_query(&v).unwrap_err();
        assert!(
            matches!(&e, Error::Job { reason, .. } if reason == "invalidQuery"),
            "{e}"
        );
        let v = json!({"status": {"state": "DONE", "errorResult": {"reason": "backendError", "message": "x"}}});
        assert!(check_query(&v).unwrap_err().is_retryable());
    }

    #[test]
    fn backoff_is_bounded() {
        let p = DEFAULT_RETRY;
        for a in 0..20 {
            assert!(p.delay(a) <= p.cap);
        }
    }
}
