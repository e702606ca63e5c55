//! Local mode: no BigQuery at hand, so write what would be sent, one folder per dataset.
//!
//! Layout under the configured path:
//! - `<dataset>/<table>.schema.json`: the `tables.insert` body (schema, partitioning, clustering);
//! - `<dataset>/<table>/<NNNNNN>-<job id>.ndjson`: every load file, byte for byte as it would be uploaded.
//!   Loads into temporary tables land in the internal dataset's folder; a MERGE or an overwrite swap moves
//!   them into the final table's folder, so each folder holds what the table would hold;
//! - `<dataset>/<table>.jobs.jsonl`: one line per BigQuery operation that would run (load job configuration,
//!   `ALTER`/`MERGE` statements, copy jobs).
//!
//! Tables keep their content across runs like real tables do: appends accumulate, an overwrite swap removes
//! the load files of earlier runs, and the row counts printed at the end read the files back.

use crate::error::{Error, Result};
use crate::schema::{Column, TableSchema};
use crate::sql::TableRef;
use crate::warehouse::Load;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct LocalWarehouse {
    root: PathBuf,
}

impl LocalWarehouse {
    pub fn new(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::io(root.display(), e))?;
        Ok(LocalWarehouse {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn schema_path(&self, t: &TableRef) -> PathBuf {
        self.root
            .join(&t.dataset)
            .join(format!("{}.schema.json", t.table))
    }

    fn data_dir(&self, t: &TableRef) -> PathBuf {
        self.root.join(&t.dataset).join(&t.table)
    }

    fn log_op(&self, t: &TableRef, op: Value) -> Result<()> {
        let path = self
            .root
            .join(&t.dataset)
            .join(format!("{}.jobs.jsonl", t.table));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(path.display(), e))?;
        writeln!(f, "{op}").map_err(|e| Error::io(path.display(), e))
    }

    pub fn ensure_dataset(&mut self, dataset: &str) -> Result<()> {
        let dir = self.root.join(dataset);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))
    }

    pub fn get_table(&self, t: &TableRef) -> Result<Option<Value>> {
        let p = self.schema_path(t);
        match std::fs::read_to_string(&p) {
            Ok(s) => serde_json::from_str(&s)
                .map(Some)
                .map_err(|e| Error::Internal(format!("{}: {e}", p.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(p.display(), e)),
        }
    }

    fn put_table(&self, t: &TableRef, body: &Value) -> Result<()> {
        let p = self.schema_path(t);
        let text = serde_json::to_string_pretty(body).unwrap_or_default();
        std::fs::write(&p, text + "\n").map_err(|e| Error::io(p.display(), e))
    }

    pub fn create_table(
        &mut self,
        t: &TableRef,
        fields: &Value,
        clustering: &[String],
        expires_in: Option<Duration>,
    ) -> Result<()> {
        if self.get_table(t)?.is_some() {
            return Ok(());
        }
        let mut body = json!({"tableReference": t.api(), "schema": fields,
            "timePartitioning": {"type": "DAY", "field": crate::schema::EXTRACTED_AT},
            "clustering": {"fields": clustering}});
        if let Some(d) = expires_in {
            body["expirationTime"] =
                json!((chrono::Utc::now().timestamp_millis() + d.as_millis() as i64).to_string());
        }
        self.put_table(t, &body)
    }

    pub fn add_columns(&mut self, t: &TableRef, columns: &[Column], stmt: &str) -> Result<()> {
        let mut body = self
            .get_table(t)?
            .unwrap_or_else(|| json!({"tableReference": t.api(), "schema": {"fields": []}}));
        if let Some(fields) = body
            .pointer_mut("/schema/fields")
            .and_then(Value::as_array_mut)
        {
            for c in columns {
                fields.push(json!({"name": c.name, "type": c.ty.sql_name(), "mode": "NULLABLE"}));
            }
        }
        self.put_table(t, &body)?;
        self.log_op(t, json!({"query": stmt}))
    }

    pub fn widen_to_json(&mut self, t: &TableRef, column: &str, script: &[String]) -> Result<()> {
        let mut body = self.get_table(t)?.unwrap_or_default();
        if let Some(fields) = body
            .pointer_mut("/schema/fields")
            .and_then(Value::as_array_mut)
        {
            for f in fields.iter_mut() {
                if f.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(column))
                {
                    f["type"] = json!("JSON");
                }
            }
        }
        self.put_table(t, &body)?;
        for stmt in script {
            self.log_op(t, json!({"query": stmt}))?;
        }
        Ok(())
    }

    pub fn load(&mut self, load: &Load<'_>) -> Result<u64> {
        let dir = self.data_dir(load.target);
        if load.disposition == crate::warehouse::Disposition::Truncate {
            let _ = std::fs::remove_dir_all(&dir);
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let dest = dir.join(format!("{:06}-{}.ndjson", n + 1, load.job_id));
        std::fs::copy(load.file, &dest).map_err(|e| Error::io(dest.display(), e))?;
        self.log_op(
            load.final_table,
            json!({"jobReference": {"jobId": load.job_id}, "configuration": {"load": {
                "destinationTable": load.target.api(), "sourceFormat": "NEWLINE_DELIMITED_JSON",
                "schema": load.schema.to_api_fields(), "writeDisposition": load.disposition.api(),
                "createDisposition": "CREATE_NEVER"}}, "sourceFile": dest.file_name().map(|n| n.to_string_lossy().to_string()),
                "rows": load.rows}),
        )?;
        Ok(load.rows)
    }

    /// Moves every load file of `src` into `dst`'s folder.
    fn move_files(&self, src: &TableRef, dst: &TableRef) -> Result<()> {
        let to = self.data_dir(dst);
        std::fs::create_dir_all(&to).map_err(|e| Error::io(to.display(), e))?;
        if let Ok(entries) = std::fs::read_dir(self.data_dir(src)) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let name = name
                    .split_once('-')
                    .map(|(_, rest)| rest.to_string())
                    .unwrap_or(name);
                let n = std::fs::read_dir(&to).map(|d| d.count()).unwrap_or(0);
                let dest = to.join(format!("{:06}-{name}", n + 1));
                std::fs::rename(e.path(), &dest).map_err(|err| Error::io(dest.display(), err))?;
            }
        }
        Ok(())
    }

    /// Records a statement.
    pub fn record_sql(&mut self, target: &TableRef, stmt: &str) -> Result<()> {
        self.log_op(target, json!({"query": stmt}))
    }

    /// A MERGE: the staged rows become the target's (the row counts then count distinct keys).
    pub fn adopt(&mut self, src: &TableRef, target: &TableRef) -> Result<()> {
        self.move_files(src, target)
    }

    /// A copy job with `WRITE_TRUNCATE`: `dst` holds exactly what `src` held, with its schema.
    pub fn replace(&mut self, src: &TableRef, dst: &TableRef, job_id: &str) -> Result<()> {
        let _ = std::fs::remove_dir_all(self.data_dir(dst));
        self.move_files(src, dst)?;
        if let Some(mut body) = self.get_table(src)? {
            body["tableReference"] = dst.api();
            if let Some(o) = body.as_object_mut() {
                o.remove("expirationTime");
            }
            self.put_table(dst, &body)?;
        }
        self.log_op(
            dst,
            json!({"jobReference": {"jobId": job_id}, "configuration": {"copy": {"sourceTable": src.api(),
                "destinationTable": dst.api(), "writeDisposition": "WRITE_TRUNCATE", "createDisposition": "CREATE_IF_NEEDED"}}}),
        )
    }

    pub fn drop_table(&mut self, t: &TableRef) -> Result<()> {
        let _ = std::fs::remove_dir_all(self.data_dir(t));
        let _ = std::fs::remove_file(self.schema_path(t));
        Ok(())
    }

    /// Rows per final table as a reader would see them: all load files, with dedup tables counted by
    /// distinct primary key.
    pub fn row_counts(&self, tables: &[(TableRef, TableSchema, bool)]) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (t, schema, dedup) in tables {
            let mut rows = 0u64;
            let mut keys: HashSet<String> = HashSet::new();
            if let Ok(entries) = std::fs::read_dir(self.data_dir(t)) {
                for e in entries.flatten() {
                    let Ok(f) = std::fs::File::open(e.path()) else {
                        continue;
                    };
                    for line in std::io::BufReader::new(f).lines().map_while(|l| l.ok()) {
                        if *dedup && !schema.primary_key.is_empty() {
                            let v: Value = serde_json::from_str(&line).unwrap_or_default();
                            let key: Vec<&Value> = schema
                                .primary_key
                                .iter()
                                .map(|k| v.get(k).unwrap_or(&Value::Null))
                                .collect();
                            keys.insert(serde_json::to_string(&key).unwrap_or_default());
                        } else {
                            rows += 1;
                        }
                    }
                }
            }
            out.insert(
                format!("{}.{}", t.dataset, t.table),
                if *dedup { keys.len() as u64 } else { rows },
            );
        }
        out
    }
}
