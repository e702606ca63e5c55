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
use std::collections::BTreeMap;
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

    /// A MERGE, with the semantics of [`crate::sql::merge`]: the newest staged row per key replaces the
    /// target's row when it is at least as new, and tombstones delete (or mark) rows. The target folder is
    /// rewritten as one file holding exactly the table's rows (memory follows the table's size; local mode
    /// is for demos and tests).
    pub fn merge(
        &mut self,
        src: &TableRef,
        target: &TableRef,
        schema: &TableSchema,
        deletes: crate::sql::Deletes,
    ) -> Result<()> {
        let ordering = crate::sql::Ordering::of(schema);
        let deleted = schema.cdc_deleted_at().map(|c| c.name.clone());
        let order_of = |row: &Value| -> (Value, String, String) {
            let text = |k: &str| {
                row.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let mut cursor = ordering
                .cursor_column()
                .and_then(|c| row.get(c))
                .cloned()
                .unwrap_or(Value::Null);
            if ordering.orders_tombstones_by_deletion() {
                if let Some(d) = deleted.as_ref().and_then(|d| row.get(d)) {
                    if cmp_json(d, &cursor) == std::cmp::Ordering::Greater {
                        cursor = d.clone();
                    }
                }
            }
            (
                cursor,
                text(crate::schema::EXTRACTED_AT),
                text(crate::schema::RAW_ID),
            )
        };
        let newer = |t: &Value, s: &Value| -> bool {
            let (a, b) = (order_of(t), order_of(s));
            match cmp_json(&a.0, &b.0) {
                std::cmp::Ordering::Equal => (&a.1, &a.2) <= (&b.1, &b.2),
                o => o == std::cmp::Ordering::Less,
            }
        };
        let is_tombstone = |row: &Value| {
            deleted
                .as_ref()
                .is_some_and(|d| row.get(d).is_some_and(|v| !v.is_null()))
        };
        let key_of = |row: &Value| -> String {
            let key: Vec<&Value> = schema
                .primary_key
                .iter()
                .map(|k| row.get(k).unwrap_or(&Value::Null))
                .collect();
            serde_json::to_string(&key).unwrap_or_default()
        };
        // Scoped tombstones (part of a composite key absent) delete every older row whose present key
        // columns match, in the table and in this batch (see `crate::sql::scoped_deletes`).
        let composite = schema.primary_key.len() > 1;
        let is_scoped = |row: &Value| {
            composite
                && is_tombstone(row)
                && schema
                    .primary_key
                    .iter()
                    .any(|k| row.get(k).is_none_or(Value::is_null))
        };
        let matches = |scope: &Value, row: &Value| {
            schema.primary_key.iter().all(|k| match scope.get(k) {
                None | Some(Value::Null) => true,
                Some(v) => row.get(k) == Some(v),
            })
        };
        let mut rows: Vec<Value> = Vec::new();
        self.for_each_row(src, |row| rows.push(row))?;
        let scopes: Vec<Value> = rows.iter().filter(|r| is_scoped(r)).cloned().collect();
        let superseded = |row: &Value| {
            scopes
                .iter()
                .any(|x| matches(x, row) && newer(row, x) && order_of(row) != order_of(x))
        };
        // The newest staged row per key.
        let mut staged: BTreeMap<String, Value> = BTreeMap::new();
        for row in rows {
            if is_scoped(&row) || superseded(&row) {
                continue;
            }
            let k = key_of(&row);
            match staged.get(&k) {
                Some(cur) if !newer(cur, &row) => {}
                _ => {
                    staged.insert(k, row);
                }
            }
        }
        let mut table: BTreeMap<String, Value> = BTreeMap::new();
        self.for_each_row(target, |row| {
            table.insert(key_of(&row), row);
        })?;
        for x in &scopes {
            let hit: Vec<String> = table
                .iter()
                .filter(|(_, t)| matches(x, t) && newer(t, x))
                .map(|(k, _)| k.clone())
                .collect();
            for k in hit {
                match deletes {
                    crate::sql::Deletes::Hard => {
                        table.remove(&k);
                    }
                    crate::sql::Deletes::Soft => {
                        if let (Some(t), Some(d)) = (
                            table.get_mut(&k).and_then(Value::as_object_mut),
                            deleted.as_ref(),
                        ) {
                            if let Some(v) = x.get(d) {
                                t.insert(d.clone(), v.clone());
                            }
                        }
                    }
                }
            }
        }
        for (k, s) in staged {
            let tomb = is_tombstone(&s);
            match table.get_mut(&k) {
                Some(t) if newer(t, &s) => match (tomb, deletes) {
                    (true, crate::sql::Deletes::Hard) => {
                        table.remove(&k);
                    }
                    (true, crate::sql::Deletes::Soft) => {
                        if let (Some(t), Some(s)) = (t.as_object_mut(), s.as_object()) {
                            for (f, v) in s {
                                if !v.is_null() {
                                    t.insert(f.clone(), v.clone());
                                }
                            }
                        }
                    }
                    (false, _) => *t = s,
                },
                Some(_) => {}
                None if tomb && deletes == crate::sql::Deletes::Hard => {}
                None => {
                    table.insert(k, s);
                }
            }
        }
        let dir = self.data_dir(target);
        let tmp = self
            .root
            .join(&target.dataset)
            .join(format!("{}.merging.ndjson", target.table));
        {
            let f = std::fs::File::create(&tmp).map_err(|e| Error::io(tmp.display(), e))?;
            let mut w = std::io::BufWriter::new(f);
            for row in table.values() {
                writeln!(w, "{row}").map_err(|e| Error::io(tmp.display(), e))?;
            }
            w.flush().map_err(|e| Error::io(tmp.display(), e))?;
        }
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(self.data_dir(src));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let dest = dir.join("000001-merged.ndjson");
        std::fs::rename(&tmp, &dest).map_err(|e| Error::io(dest.display(), e))
    }

    /// Calls `f` with every row of a table's load files, in load order.
    fn for_each_row(&self, t: &TableRef, mut f: impl FnMut(Value)) -> Result<()> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(self.data_dir(t)) {
            Ok(d) => d.flatten().map(|e| e.path()).collect(),
            Err(_) => return Ok(()),
        };
        files.sort();
        for p in files {
            let file = std::fs::File::open(&p).map_err(|e| Error::io(p.display(), e))?;
            for line in std::io::BufReader::new(file).lines() {
                let line = line.map_err(|e| Error::io(p.display(), e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let row: Value = serde_json::from_str(&line)
                    .map_err(|e| Error::Internal(format!("{}: {e}", p.display())))?;
                f(row);
            }
        }
        Ok(())
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

    /// Rows per final table as a reader would see them: the lines of its load files (a MERGE leaves a
    /// deduplicated table as exactly its rows).
    pub fn row_counts(&self, tables: &[(TableRef, TableSchema, bool)]) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (t, _, _) in tables {
            let mut rows = 0u64;
            if let Ok(entries) = std::fs::read_dir(self.data_dir(t)) {
                for e in entries.flatten() {
                    if let Ok(f) = std::fs::File::open(e.path()) {
                        rows += std::io::BufReader::new(f)
                            .split(b'\n')
                            .map_while(|l| l.ok())
                            .filter(|l| !l.is_empty())
                            .count() as u64;
                    }
                }
            }
            out.insert(format!("{}.{}", t.dataset, t.table), rows);
        }
        out
    }
}

/// Orders JSON values as SQL orders a column: NULL first, numbers by value, strings by text (timestamps are
/// written in one fixed format, so their text order is their time order).
fn cmp_json(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}
