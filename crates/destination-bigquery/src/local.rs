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
use std::io::{BufRead, Read, Write};
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

    /// Changes column types in the table's schema and records the statements that would do it. (The load
    /// files already hold the values as text, which every wider type reads.)
    pub fn set_types(
        &mut self,
        t: &TableRef,
        columns: &[(String, &str)],
        statements: &[String],
    ) -> Result<()> {
        let mut body = self.get_table(t)?.unwrap_or_default();
        if let Some(fields) = body
            .pointer_mut("/schema/fields")
            .and_then(Value::as_array_mut)
        {
            for f in fields.iter_mut() {
                let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                if let Some((_, ty)) = columns.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)) {
                    f["type"] = json!(ty);
                }
            }
        }
        self.put_table(t, &body)?;
        for stmt in statements {
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
        // The spool file is removed after its load: a hard link keeps its bytes without copying them
        // (a copy where the two folders are on different file systems).
        if std::fs::hard_link(load.file, &dest).is_err() {
            std::fs::copy(load.file, &dest).map_err(|e| Error::io(dest.display(), e))?;
        }
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
    /// rewritten as one file holding exactly the table's rows, sorted by key.
    ///
    /// Memory stays bounded whatever the table's size: rows' keys and locations are sorted in runs of
    /// [`MERGE_RUN_BYTES`] written to disk, then the runs are merged, one key at a time, each row read
    /// again from its load file.
    pub fn merge(
        &mut self,
        src: &TableRef,
        target: &TableRef,
        schema: &TableSchema,
        deletes: crate::sql::Deletes,
    ) -> Result<()> {
        self.merge_in_runs(src, target, schema, deletes, MERGE_RUN_BYTES)
    }

    fn merge_in_runs(
        &mut self,
        src: &TableRef,
        target: &TableRef,
        schema: &TableSchema,
        deletes: crate::sql::Deletes,
        run_bytes: usize,
    ) -> Result<()> {
        let work = self
            .root
            .join(&target.dataset)
            .join(format!("{}.merging", target.table));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).map_err(|e| Error::io(work.display(), e))?;
        // 1. Sorted runs of (key, side, arrival, row): side 0 is the target's rows, 1 the staged ones.
        // Scoped tombstones (part of a composite key absent; see `crate::sql::scoped_deletes`) match
        // many keys: they are held apart (there are as many as the source's deletions) and applied to
        // every key group.
        let scopes = self.scoped_tombstones(src, schema)?;
        // Every load file of the target (side 0), then of the staged rows (side 1), in load order.
        let files: Vec<(u8, PathBuf)> = [(0u8, target), (1u8, src)]
            .into_iter()
            .flat_map(|(side, t)| self.load_files(t).into_iter().map(move |p| (side, p)))
            .collect();
        if u32::try_from(files.len()).is_err() {
            return Err(Error::Internal(
                "a MERGE of more than 2^32 load files".into(),
            ));
        }
        let mut rows = RowFiles::new(
            files
                .iter()
                .map(|(_, p)| {
                    std::fs::File::open(p)
                        .map(|f| (f, p.clone()))
                        .map_err(|e| Error::io(p.display(), e))
                })
                .collect::<Result<_>>()?,
        );
        // A second thread sorts and writes each full chunk while this one reads and keys the next; at most
        // two chunks are in memory (the channel holds none: a full chunk waits for the writer).
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<RunEntry>>(0);
        let (runs, mut chunk) =
            std::thread::scope(|scope| -> Result<(Vec<PathBuf>, Vec<RunEntry>)> {
                let writer = scope.spawn(|| -> Result<Vec<PathBuf>> {
                    let mut runs = Vec::new();
                    for mut chunk in rx {
                        runs.push(write_run(&work, runs.len(), &mut chunk)?);
                    }
                    Ok(runs)
                });
                let read = read_entries(&rows, &files, schema, &scopes, run_bytes, |chunk| {
                    tx.send(chunk).is_ok()
                });
                drop(tx);
                let runs = writer
                    .join()
                    .map_err(|_| Error::Internal("the MERGE's run writer panicked".into()))??;
                Ok((runs, read?))
            })?;
        // 2. Merge the runs (the last chunk stays in memory as one more run); each key's rows meet in one
        // group.
        chunk.sort_unstable_by(RunEntry::cmp_order);
        let mut sources: Vec<RunSource> = Vec::with_capacity(runs.len() + 1);
        // The read buffers share 1 MiB (between 4 and 64 KiB each): a table of many runs keeps memory flat.
        let buffer = ((1 << 20) / runs.len().max(1)).clamp(4 << 10, 64 << 10);
        for r in &runs {
            let f = std::fs::File::open(r).map_err(|e| Error::io(r.display(), e))?;
            sources.push(RunSource::File(
                std::io::BufReader::with_capacity(buffer, f),
                r.clone(),
            ));
        }
        sources.push(RunSource::Memory(chunk.into_iter()));
        let tmp = work.join("merged.ndjson");
        {
            let f = std::fs::File::create(&tmp).map_err(|e| Error::io(tmp.display(), e))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 16, f);
            let mut heap = std::collections::BinaryHeap::with_capacity(sources.len());
            for (i, s) in sources.iter_mut().enumerate() {
                if let Some(entry) = s.next_entry()? {
                    heap.push(std::cmp::Reverse((entry, i)));
                }
            }
            let rules = GroupRules::of(schema);
            let mut group: Vec<(u8, Box<[u8]>)> = Vec::new();
            let mut group_key: Option<Box<[u8]>> = None;
            while let Some(std::cmp::Reverse((entry, i))) = heap.pop() {
                let RunEntry { key, side, at, .. } = entry;
                let row = rows.read(at)?;
                if group_key.as_deref() != Some(&*key) {
                    if !group.is_empty() {
                        write_group(&mut out, &group, schema, deletes, &scopes, &rules)
                            .map_err(|e| Error::io(tmp.display(), e))?;
                        group.clear();
                    }
                    group_key = Some(key);
                }
                group.push((side, row));
                if let Some(entry) = sources[i].next_entry()? {
                    heap.push(std::cmp::Reverse((entry, i)));
                }
            }
            if !group.is_empty() {
                write_group(&mut out, &group, schema, deletes, &scopes, &rules)
                    .map_err(|e| Error::io(tmp.display(), e))?;
            }
            out.flush().map_err(|e| Error::io(tmp.display(), e))?;
        }
        let dir = self.data_dir(target);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(self.data_dir(src));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let dest = dir.join("000001-merged.ndjson");
        std::fs::rename(&tmp, &dest).map_err(|e| Error::io(dest.display(), e))?;
        let _ = std::fs::remove_dir_all(&work);
        Ok(())
    }

    /// The scoped tombstones among `src`'s rows.
    fn scoped_tombstones(&self, src: &TableRef, schema: &TableSchema) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        if crate::sql::scoped_tombstone(schema, "").is_none() {
            return Ok(out);
        }
        for p in self.load_files(src) {
            let file = std::fs::File::open(&p).map_err(|e| Error::io(p.display(), e))?;
            for line in std::io::BufReader::new(file).lines() {
                let line = line.map_err(|e| Error::io(p.display(), e))?;
                if let Some(v) = scoped_row(line.as_bytes(), schema) {
                    out.push(v);
                }
            }
        }
        Ok(out)
    }

    /// A table's load files, in load order.
    fn load_files(&self, t: &TableRef) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(self.data_dir(t)) {
            Ok(d) => d.flatten().map(|e| e.path()).collect(),
            Err(_) => return Vec::new(),
        };
        files.sort();
        files
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

    /// `(table name, last modified in ms since the epoch)` of a dataset's tables.
    pub fn list_tables(&self, dataset: &str) -> Vec<(String, i64)> {
        let Ok(entries) = std::fs::read_dir(self.root.join(dataset)) else {
            return Vec::new();
        };
        let mtime = |p: &Path| -> i64 {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default()
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let table = name.strip_suffix(".schema.json")?.to_string();
                let data = self.root.join(dataset).join(&table);
                Some((table, mtime(&e.path()).max(mtime(&data))))
            })
            .collect()
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

/// Reads the rows of `files` (the target's, then the staged ones) as run entries, handing each chunk of
/// about `run_bytes` to `full` (which answers whether to go on) and returning the last one.
fn read_entries(
    rows: &RowFiles,
    files: &[(u8, PathBuf)],
    schema: &TableSchema,
    scopes: &[Value],
    run_bytes: usize,
    mut full: impl FnMut(Vec<RunEntry>) -> bool,
) -> Result<Vec<RunEntry>> {
    let mut chunk: Vec<RunEntry> = Vec::new();
    let mut chunk_bytes = 0usize;
    let mut seq = 0u64;
    let mut line = Vec::with_capacity(4096);
    for (i, ((side, p), (file, _))) in files.iter().zip(&rows.files).enumerate() {
        let side = *side;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        let mut offset = 0u64;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io(p.display(), e))?;
            if n == 0 {
                break;
            }
            let at = offset;
            offset += n as u64;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            if line.trim_ascii().is_empty() {
                continue;
            }
            if side == 1 && !scopes.is_empty() && scoped_row(&line, schema).is_some() {
                continue;
            }
            let key = raw_key(&line, &schema.primary_key)
                .map_err(|e| Error::Internal(format!("{}: {e}", p.display())))?;
            let len = u32::try_from(line.len()).map_err(|_| {
                Error::Internal(format!("{}: a row longer than 4 GiB", p.display()))
            })?;
            chunk_bytes += key.len() + 64;
            chunk.push(RunEntry {
                key,
                side,
                seq,
                // Bounded by the caller: fewer than 2^32 files.
                at: RowAt {
                    file: i as u32,
                    offset: at,
                    len,
                },
            });
            seq += 1;
            if chunk_bytes >= run_bytes {
                chunk_bytes = 0;
                if !full(std::mem::take(&mut chunk)) {
                    // The writer stopped on an error, which the caller reports.
                    return Ok(Vec::new());
                }
            }
        }
    }
    Ok(chunk)
}

/// Bytes of run entries (a key and its row's location, not the row) sorted in memory at once by a
/// local MERGE: each run is written to disk; two are in memory at a time, one being read, one being
/// sorted and written. About 22,000 rows of Okta users a run.
pub const MERGE_RUN_BYTES: usize = 2 * 1024 * 1024;

/// The primary key of an encoded row as text (the JSON of its key values, in key order), without building
/// the row: the encoder writes every value in one canonical form, so equal keys have equal text.
///
/// Only the key members are kept (others are skipped, still checked as JSON); of repeated names the last
/// wins, as in [`crate::encoder::RawRecord`], so this is what reading the row with it would give.
fn raw_key(line: &[u8], pk: &[String]) -> std::result::Result<Box<[u8]>, serde_json::Error> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
    use serde_json::value::RawValue;
    struct Keys<'k>(&'k [String]);
    impl<'de, 'k> DeserializeSeed<'de> for Keys<'k> {
        type Value = Vec<Option<&'de RawValue>>;
        fn deserialize<D: serde::Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de, 'k> Visitor<'de> for Keys<'k> {
        type Value = Vec<Option<&'de RawValue>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut found = vec![None; self.0.len()];
            // Names borrowed from the row (no allocation) unless they hold an escape.
            while let Some(crate::encoder::Name(name)) = map.next_key()? {
                match self.0.iter().position(|k| *k == name) {
                    Some(i) => found[i] = Some(map.next_value::<&'de RawValue>()?),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(found)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    let found = Keys(pk).deserialize(&mut de)?;
    de.end()?;
    let mut out = Vec::with_capacity(
        2 + found
            .iter()
            .map(|v| v.map_or(4, |v| v.get().len()) + 1)
            .sum::<usize>(),
    );
    out.push(b'[');
    for (i, v) in found.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(v.map_or("null", |v| v.get()).as_bytes());
    }
    out.push(b']');
    Ok(out.into_boxed_slice())
}

/// One row on its way through a local MERGE: its key's text, its side (0: the target's, 1: staged), its
/// arrival order and where its text is. Ordered by (key, side, arrival); keys stay bytes (they were
/// checked as JSON when read from the load files, and the runs are this MERGE's own files). The row
/// itself is read again from its load file when its key's group is merged, so the runs hold keys and
/// locations only, a tenth of the table's bytes.
#[derive(Debug)]
struct RunEntry {
    key: Box<[u8]>,
    side: u8,
    seq: u64,
    at: RowAt,
}

/// Where a row is: its load file (an index into the MERGE's list of files), offset and length.
#[derive(Debug, Clone, Copy)]
struct RowAt {
    file: u32,
    offset: u64,
    len: u32,
}

/// The load files a MERGE reads rows from, by [`RowAt::file`].
///
/// Rows are read in key order. Where that is also the order of a file (a first sync of a list Okta
/// answers in id order), one read of [`WINDOW`] bytes serves the rows that follow: a row read right
/// after the previous one of its file fills a window, and the next rows are copied from it. Any other
/// row is read on its own, so memory stays at two windows whatever the order.
struct RowFiles {
    files: Vec<(std::fs::File, PathBuf)>,
    /// Per file, where the row after the last one read from it would start.
    next: Vec<u64>,
    /// Two windows: (file, offset, bytes), the least recently filled replaced first.
    windows: [(u32, u64, Vec<u8>); 2],
    last_filled: usize,
}

/// Bytes read at once for rows read in file order.
const WINDOW: usize = 64 << 10;

impl RowFiles {
    fn new(files: Vec<(std::fs::File, PathBuf)>) -> Self {
        RowFiles {
            next: vec![u64::MAX; files.len()],
            files,
            windows: [(u32::MAX, 0, Vec::new()), (u32::MAX, 0, Vec::new())],
            last_filled: 0,
        }
    }

    /// The text of the row at `at`.
    fn read(&mut self, at: RowAt) -> Result<Box<[u8]>> {
        use std::os::unix::fs::FileExt;
        let (f, path) = self
            .files
            .get(at.file as usize)
            .ok_or_else(|| Error::Internal("a MERGE run names an unknown load file".into()))?;
        let len = at.len as usize;
        let in_window = |(file, offset, bytes): &(u32, u64, Vec<u8>)| {
            (*file == at.file && at.offset >= *offset)
                .then(|| (at.offset - offset) as usize)
                .filter(|start| start + len <= bytes.len())
        };
        let sequential = self.next[at.file as usize] == at.offset;
        self.next[at.file as usize] = at.offset + u64::from(at.len) + 1;
        for w in &self.windows {
            if let Some(start) = in_window(w) {
                return Ok(w.2[start..start + len].into());
            }
        }
        if sequential {
            // Fill the window not filled last with what follows, and serve the row from it.
            let slot = 1 - self.last_filled;
            self.last_filled = slot;
            let w = &mut self.windows[slot];
            w.2.resize(WINDOW.max(len), 0);
            let mut got = 0;
            while got < w.2.len() {
                match f.read_at(&mut w.2[got..], at.offset + got as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io(path.display(), e)),
                }
            }
            w.2.truncate(got);
            *w = (at.file, at.offset, std::mem::take(&mut w.2));
            if let Some(start) = in_window(w) {
                return Ok(w.2[start..start + len].into());
            }
            return Err(Error::io(
                path.display(),
                std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            ));
        }
        let mut row = vec![0u8; len];
        f.read_exact_at(&mut row, at.offset)
            .map_err(|e| Error::io(path.display(), e))?;
        Ok(row.into_boxed_slice())
    }
}

impl RunEntry {
    fn cmp_order(a: &Self, b: &Self) -> std::cmp::Ordering {
        (&a.key, a.side, a.seq).cmp(&(&b.key, b.side, b.seq))
    }
}

// Equality is the order's (arrival numbers are unique, so two entries are equal only to themselves).
impl PartialEq for RunEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for RunEntry {}

impl Ord for RunEntry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        RunEntry::cmp_order(self, other)
    }
}

impl PartialOrd for RunEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Sorts a chunk by (key, side, arrival) and writes it as a run of binary entries: key length (u32 LE),
/// key, side (u8), arrival (u64 LE), then the row's file (u32 LE), offset (u64 LE) and length (u32 LE).
/// Nothing is parsed or checked again when the run is read back.
fn write_run(work: &Path, n: usize, chunk: &mut Vec<RunEntry>) -> Result<PathBuf> {
    chunk.sort_unstable_by(RunEntry::cmp_order);
    let p = work.join(format!("run-{n:06}"));
    let f = std::fs::File::create(&p).map_err(|e| Error::io(p.display(), e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
    for e in chunk.drain(..) {
        let klen = u32::try_from(e.key.len())
            .map_err(|_| Error::Internal(format!("{}: a key longer than 4 GiB", p.display())))?;
        w.write_all(&klen.to_le_bytes())
            .and_then(|()| w.write_all(&e.key))
            .and_then(|()| w.write_all(&entry_tail(&e)))
            .map_err(|err| Error::io(p.display(), err))?;
    }
    w.flush().map_err(|e| Error::io(p.display(), e))?;
    Ok(p)
}

/// The bytes of a run entry after its key: side, arrival, file, offset, length.
fn entry_tail(e: &RunEntry) -> [u8; ENTRY_TAIL] {
    let mut t = [0u8; ENTRY_TAIL];
    t[0] = e.side;
    t[1..9].copy_from_slice(&e.seq.to_le_bytes());
    t[9..13].copy_from_slice(&e.at.file.to_le_bytes());
    t[13..21].copy_from_slice(&e.at.offset.to_le_bytes());
    t[21..25].copy_from_slice(&e.at.len.to_le_bytes());
    t
}

const ENTRY_TAIL: usize = 25;

/// A sorted run being merged: a run file, or the last chunk, still in memory.
enum RunSource {
    File(std::io::BufReader<std::fs::File>, PathBuf),
    Memory(std::vec::IntoIter<RunEntry>),
}

impl RunSource {
    fn next_entry(&mut self) -> Result<Option<RunEntry>> {
        let (r, path) = match self {
            RunSource::Memory(it) => return Ok(it.next()),
            RunSource::File(r, path) => (r, path),
        };
        let io = |e: std::io::Error| Error::io(path.display(), e);
        let mut len = [0u8; 4];
        match r.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(io(e)),
        }
        let mut key = vec![0u8; u32::from_le_bytes(len) as usize];
        r.read_exact(&mut key).map_err(io)?;
        let mut t = [0u8; ENTRY_TAIL];
        r.read_exact(&mut t).map_err(io)?;
        let u32_at = |i: usize| u32::from_le_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&t[i..i + 8]);
            u64::from_le_bytes(b)
        };
        Ok(Some(RunEntry {
            key: key.into_boxed_slice(),
            side: t[0],
            seq: u64_at(1),
            at: RowAt {
                file: u32_at(9),
                offset: u64_at(13),
                len: u32_at(21),
            },
        }))
    }
}

/// What [`write_group`] needs of the schema, worked out once per MERGE rather than once per key.
struct GroupRules {
    ordering: crate::sql::Ordering,
    /// The `_ab_cdc_deleted_at` column's name, when the table has it.
    deleted: Option<String>,
}

impl GroupRules {
    fn of(schema: &TableSchema) -> Self {
        GroupRules {
            ordering: crate::sql::Ordering::of(schema),
            deleted: schema.cdc_deleted_at().map(|c| c.name.clone()),
        }
    }
}

/// Applies the MERGE to one key's rows (target rows first, then staged rows in arrival order) and writes
/// what the table keeps for it.
fn write_group(
    out: &mut impl Write,
    group: &[(u8, Box<[u8]>)],
    schema: &TableSchema,
    deletes: crate::sql::Deletes,
    scopes: &[Value],
    rules: &GroupRules,
) -> std::io::Result<()> {
    let ordering = &rules.ordering;
    let deleted = &rules.deleted;
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
    // The common case, a key with one row and no scoped tombstone: the row is kept as it is (unless it is a
    // staged hard-deleted tombstone), so when its text is already what `Value` would print, it is copied
    // instead of parsed and printed again.
    if let ([(side, row)], true) = (group, scopes.is_empty()) {
        if canonical_json(row) {
            let drop = *side == 1
                && deletes == crate::sql::Deletes::Hard
                && deleted.as_ref().is_some_and(|d| raw_field_set(row, d));
            if !drop {
                out.write_all(row)?;
                out.write_all(b"\n")?;
            }
            return Ok(());
        }
    }
    let parse = |row: &[u8]| serde_json::from_slice::<Value>(row).unwrap_or(Value::Null);
    // The newest row of each side (a table written by an older version may hold several per key).
    let mut table: Option<Value> = None;
    let mut staged: Option<Value> = None;
    let scoped_by = |row: &Value| {
        scopes.iter().find(|x| {
            schema.primary_key.iter().all(|k| match x.get(k) {
                None | Some(Value::Null) => true,
                Some(v) => row.get(k) == Some(v),
            }) && newer(row, x)
        })
    };
    for (side, row) in group {
        let mut row = parse(row);
        if let Some(x) = scoped_by(&row) {
            // A scoped tombstone newer than the row deletes it (hard) or marks it (soft, table rows).
            match (deletes, *side, deleted.as_ref()) {
                (crate::sql::Deletes::Soft, 0, Some(d)) => {
                    if let (Some(o), Some(v)) = (row.as_object_mut(), x.get(d)) {
                        o.insert(d.clone(), v.clone());
                    }
                }
                _ => continue,
            }
        }
        let slot = if *side == 0 { &mut table } else { &mut staged };
        match slot {
            Some(cur) if !newer(cur, &row) => {}
            _ => *slot = Some(row),
        }
    }
    let keep = match (table, staged) {
        (t, None) => t,
        (None, Some(s)) if is_tombstone(&s) && deletes == crate::sql::Deletes::Hard => None,
        (None, Some(s)) => Some(s),
        (Some(t), Some(s)) if !newer(&t, &s) => Some(t),
        (Some(_), Some(s)) if !is_tombstone(&s) => Some(s),
        (Some(_), Some(_)) if deletes == crate::sql::Deletes::Hard => None,
        (Some(mut t), Some(s)) => {
            if let (Some(to), Some(so)) = (t.as_object_mut(), s.as_object()) {
                for (f, v) in so {
                    if !v.is_null() {
                        to.insert(f.clone(), v.clone());
                    }
                }
            }
            Some(t)
        }
    };
    if let Some(row) = keep {
        writeln!(out, "{row}")?;
    }
    Ok(())
}

/// Whether the top-level field `name` of a row is present and not null (a row that does not parse: no).
fn raw_field_set(row: &[u8], name: &str) -> bool {
    serde_json::from_slice::<std::collections::HashMap<&str, &serde_json::value::RawValue>>(row)
        .ok()
        .and_then(|m| m.get(name).map(|v| v.get() != "null"))
        .unwrap_or(false)
}

/// Whether `text` is exactly what serde_json prints for the value it parses to (`Value` keeps member order
/// here), so it can be copied instead of parsed and printed. Conservative: `false` for anything it is not
/// sure of (white space, a number with a fraction or exponent, `-0`, a `\u` escape, a repeated member
/// name, an object with very many members), and the caller then takes the slow path.
fn canonical_json(b: &[u8]) -> bool {
    let mut i = 0;
    // One frame per open container: `Some(where its member names start in names)` for an object, `None`
    // for an array. Names are raw text (with no `\u` escape, equal meaning is equal text), kept in one
    // vector for all open objects rather than one allocation per object.
    let mut open: Vec<Option<usize>> = Vec::with_capacity(8);
    let mut names: Vec<&[u8]> = Vec::with_capacity(32);
    // Whether the next string is an object member's name.
    let mut expect_name = false;
    while i < b.len() {
        match b[i] {
            b'{' => {
                open.push(Some(names.len()));
                expect_name = true;
                i += 1;
            }
            b'[' => {
                open.push(None);
                expect_name = false;
                i += 1;
            }
            b'}' | b']' => {
                if let Some(Some(start)) = open.pop() {
                    names.truncate(start);
                }
                expect_name = false;
                i += 1;
            }
            b':' => {
                expect_name = false;
                i += 1;
            }
            b',' => {
                expect_name = matches!(open.last(), Some(Some(_)));
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                loop {
                    // Plain bytes up to the next quote or backslash in one step.
                    match memchr::memchr2(b'"', b'\\', &b[i..]) {
                        Some(n) => i += n,
                        None => return false,
                    }
                    match b.get(i) {
                        None => return false,
                        Some(b'"') => break,
                        Some(b'\\') => match b.get(i + 1) {
                            Some(b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f') => i += 2,
                            _ => return false,
                        },
                        Some(_) => i += 1,
                    }
                }
                let s = &b[start..i];
                i += 1;
                if expect_name {
                    let Some(Some(first)) = open.last() else {
                        return false;
                    };
                    let own = &names[*first..];
                    if own.len() >= 64 || own.contains(&s) {
                        return false;
                    }
                    names.push(s);
                    expect_name = false;
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let Ok(n) = std::str::from_utf8(&b[start..i]) else {
                    return false;
                };
                if matches!(b.get(i), Some(b'.' | b'e' | b'E')) || n == "-0" || n == "-" {
                    return false;
                }
                let digits = n.trim_start_matches('-');
                let fits = if n.starts_with('-') {
                    n.parse::<i64>().is_ok()
                } else {
                    n.parse::<u64>().is_ok()
                };
                if !fits || (digits.len() > 1 && digits.starts_with('0')) {
                    return false;
                }
            }
            b't' if b[i..].starts_with(b"true") => i += 4,
            b'f' if b[i..].starts_with(b"false") => i += 5,
            b'n' if b[i..].starts_with(b"null") => i += 4,
            _ => return false,
        }
    }
    open.is_empty()
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

/// The row, when it is a scoped tombstone: `_ab_cdc_deleted_at` set and part of a composite key absent.
fn scoped_row(line: &[u8], schema: &TableSchema) -> Option<Value> {
    let d = schema.cdc_deleted_at()?;
    if schema.primary_key.len() < 2 || memchr::memmem::find(line, d.name.as_bytes()).is_none() {
        return None;
    }
    let v: Value = serde_json::from_slice(line).ok()?;
    let deleted = v.get(&d.name).is_some_and(|x| !x.is_null());
    let partial = schema
        .primary_key
        .iter()
        .any(|k| v.get(k).is_none_or(Value::is_null));
    (deleted && partial).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Deletes;

    /// Rows read back by location are exact in any order: in file order (served from windows, rows
    /// longer than a window included), backwards, and alternating between two files.
    #[test]
    fn rows_read_back_by_location_are_exact_in_any_order() {
        let dir = std::env::temp_dir().join(format!("dbq-rowfiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut files = Vec::new();
        let mut rows: Vec<(RowAt, Vec<u8>)> = Vec::new();
        for f in 0..2u32 {
            let path = dir.join(format!("{f}.ndjson"));
            let mut text = Vec::new();
            for i in 0..300usize {
                let len = if i % 97 == 5 {
                    WINDOW + 3
                } else {
                    1 + (i * 37) % 900
                };
                let row: Vec<u8> = (0..len)
                    .map(|j| b'a' + ((i + j + f as usize) % 26) as u8)
                    .collect();
                let at = RowAt {
                    file: f,
                    offset: text.len() as u64,
                    len: len as u32,
                };
                text.extend_from_slice(&row);
                text.push(b'\n');
                rows.push((at, row));
            }
            std::fs::write(&path, &text).unwrap();
            files.push((std::fs::File::open(&path).unwrap(), path));
        }
        let mut reader = RowFiles::new(files);
        let (first, second) = rows.split_at(300);
        let alternating: Vec<&(RowAt, Vec<u8>)> =
            first.iter().zip(second).flat_map(|(a, b)| [a, b]).collect();
        for order in [
            rows.iter().collect::<Vec<_>>(),
            rows.iter().rev().collect(),
            alternating,
        ] {
            for (at, row) in order {
                assert_eq!(&*reader.read(*at).unwrap(), row.as_slice());
            }
        }
        let past_the_end = RowAt {
            file: 0,
            offset: first[299].0.offset,
            len: 1 << 20,
        };
        assert!(reader.read(past_the_end).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The key as reading the whole row with `RawRecord` gives it (the general path).
    fn key_by_record(line: &str, pk: &[String]) -> String {
        use crate::encoder::{Field, Fields};
        let row = crate::encoder::RawRecord::parse_str(line).unwrap();
        let parts: Vec<&str> = pk
            .iter()
            .map(|k| match row.field(k) {
                Some(Field::Raw(v)) => v.get(),
                _ => "null",
            })
            .collect();
        format!("[{}]", parts.join(","))
    }

    #[test]
    fn raw_key_reads_what_a_whole_row_read_gives() {
        let pk = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        let cases = [
            (
                r#"{"_airbyte_raw_id":"r","id":"u1","o":{"id":"no"},"v":[1,{"id":2}]}"#,
                pk(&["id"]),
            ),
            (r#"{"id":"a","id":"b"}"#, pk(&["id"])),
            (r#"{"i\u0064":"esc","x":1}"#, pk(&["id"])),
            (r#"{"x":1}"#, pk(&["id"])),
            (r#"{"id":null,"g":7}"#, pk(&["g", "id"])),
            (r#"{"g":"x\"y","id":-12,"z":1e400}"#, pk(&["id", "g"])),
        ];
        for (line, pk) in cases {
            assert_eq!(
                String::from_utf8(raw_key(line.as_bytes(), &pk).unwrap().into()).unwrap(),
                key_by_record(line, &pk),
                "{line}"
            );
        }
        for bad in [r#"{"id":1"#, r#"[1]"#, r#"{"id":1} x"#, r#"{"id":tru}"#] {
            assert!(raw_key(bad.as_bytes(), &pk(&["id"])).is_err(), "{bad}");
            assert!(crate::encoder::RawRecord::parse_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn canonical_json_is_true_only_for_what_value_prints_back() {
        let cases = [
            r#"{"a":1,"b":"x\"y\n\\","c":[true,false,null,{"d":-5}],"e":{}}"#,
            r#"{"a":18446744073709551615,"b":-9223372036854775808,"c":"é\u{7f}"}"#,
            r#"{"a": 1}"#,
            r#"{"a":1.0}"#,
            r#"{"a":1e3}"#,
            r#"{"a":-0}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"{"a":[{"b":1},{"b":2}],"b":3}"#,
            r#"{"a":18446744073709551616}"#,
            r#"["a","a"]"#,
            r#"{"a":"x\\"}"#,
            r#"{"a":"\\\"","b":"long text without escapes, then one\n"}"#,
        ];
        for text in cases {
            let text = text.replace("\\u{7f}", "\u{7f}");
            let printed = serde_json::from_str::<Value>(&text).unwrap().to_string();
            if canonical_json(text.as_bytes()) {
                assert_eq!(printed, text, "{text}");
            }
        }
        assert!(canonical_json(cases[0].as_bytes()));
        assert!(canonical_json(
            r#"{"a":[{"b":1},{"b":2}],"b":3}"#.as_bytes()
        ));
        assert!(!canonical_json(r#"{"a": 1}"#.as_bytes()));
        assert!(!canonical_json(r#"{"a":{"b":1,"b":2}}"#.as_bytes()));
        assert!(!canonical_json(r#"{"a":1e3}"#.as_bytes()));
        assert!(canonical_json(
            r#"{"a":"\\\"","b":"long text without escapes, then one\n"}"#.as_bytes()
        ));
        assert!(!canonical_json(r#"{"a":"unterminated}"#.as_bytes()));
        assert!(!canonical_json(r#"{"a":"ends in a backslash\"#.as_bytes()));
    }

    #[test]
    fn a_merge_in_many_runs_keeps_the_newest_row_per_key_sorted() {
        let root = std::env::temp_dir().join(format!("dbq-local-merge-{}", uuid::Uuid::new_v4()));
        let mut wh = LocalWarehouse::new(&root).unwrap();
        let schema = TableSchema::from_json_schema(
            &json!({"properties": {"id": {"type": "string"}, "v": {"type": "integer"},
                "_ab_cdc_deleted_at": {"type": ["null", "string"], "format": "date-time"}}}),
            &[vec!["id".into()]],
            &["v".into()],
        );
        let (src, target) = (
            TableRef::new("p", "raw", "tmp"),
            TableRef::new("p", "d", "t"),
        );
        let row = |id: u32, v: u32, ts: &str| {
            format!(
                r#"{{"_airbyte_raw_id":"r{v:06}","_airbyte_extracted_at":"{ts}","id":"k{id:04}","v":{v}}}"#
            )
        };
        // Target: keys 0..300 at v=1. Staged: every key twice (v=2 then v=3, the newer), key 7 older
        // (v=0), key 9 deleted.
        let dir = wh.data_dir(&target);
        std::fs::create_dir_all(&dir).unwrap();
        let t: Vec<String> = (0..300)
            .map(|i| row(i, 1, "2024-01-01T00:00:00.000Z"))
            .collect();
        std::fs::write(dir.join("000001-a.ndjson"), t.join("\n") + "\n").unwrap();
        let dir = wh.data_dir(&src);
        std::fs::create_dir_all(&dir).unwrap();
        let mut s: Vec<String> = (0..300)
            .rev()
            .map(|i| row(i, 3, "2024-01-02T00:00:00.000Z"))
            .collect();
        s.extend((0..300).map(|i| row(i, 2, "2024-01-02T00:00:00.000Z")));
        s.retain(|l| !l.contains("\"k0007\""));
        s.push(row(7, 0, "2024-01-02T00:00:00.000Z"));
        s.push(r#"{"_airbyte_raw_id":"z","_airbyte_extracted_at":"2024-01-03T00:00:00.000Z","id":"k0009","v":4,"_ab_cdc_deleted_at":"2024-01-03T00:00:00.000000Z"}"#.to_string());
        std::fs::write(dir.join("000001-b.ndjson"), s.join("\n") + "\n").unwrap();
        wh.merge_in_runs(&src, &target, &schema, Deletes::Hard, 4096)
            .unwrap();
        let text =
            std::fs::read_to_string(wh.data_dir(&target).join("000001-merged.ndjson")).unwrap();
        let rows: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 299);
        let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(!ids.contains(&"k0009"));
        for r in &rows {
            let want = if r["id"] == "k0007" { 1 } else { 3 };
            assert_eq!(r["v"], want, "{r}");
        }
        assert!(!root.join("d/t.merging").exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
