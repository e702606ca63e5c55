//! SQL generation: identifiers, the dedup `MERGE`, the batched `ALTER TABLE … ADD COLUMN`, the JSON widening.
//!
//! Every column is written qualified (`t.`x``, `s.`x``) so a column named like its table never resolves to
//! the whole row (airbytehq/airbyte#71043).

use crate::schema::{BqType, Column, TableSchema, EXTRACTED_AT, RAW_ID};

/// A fully qualified table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRef {
    pub project: String,
    pub dataset: String,
    pub table: String,
}

impl TableRef {
    pub fn new(project: &str, dataset: &str, table: &str) -> Self {
        TableRef {
            project: project.into(),
            dataset: dataset.into(),
            table: table.into(),
        }
    }

    /// `` `project`.`dataset`.`table` ``
    pub fn sql(&self) -> String {
        format!(
            "{}.{}.{}",
            quote(&self.project),
            quote(&self.dataset),
            quote(&self.table)
        )
    }

    /// `{projectId, datasetId, tableId}` as the REST API wants it.
    pub fn api(&self) -> serde_json::Value {
        serde_json::json!({"projectId": self.project, "datasetId": self.dataset, "tableId": self.table})
    }
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.project, self.dataset, self.table)
    }
}

/// Quotes an identifier with backticks (backticks and backslashes inside are escaped).
pub fn quote(ident: &str) -> String {
    format!("`{}`", ident.replace('\\', "\\\\").replace('`', "\\`"))
}

/// A TIMESTAMP literal for milliseconds since the epoch (UTC).
pub fn timestamp_literal(ms: i64) -> String {
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap_or_default();
    format!("TIMESTAMP '{}'", t.format("%Y-%m-%d %H:%M:%S%.3f+00"))
}

/// One statement that adds every missing column; `IF NOT EXISTS` makes a retried statement harmless.
pub fn add_columns(table: &TableRef, columns: &[Column]) -> Option<String> {
    if columns.is_empty() {
        return None;
    }
    let adds: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "ADD COLUMN IF NOT EXISTS {} {}",
                quote(&c.name),
                c.ty.sql_name()
            )
        })
        .collect();
    Some(format!("ALTER TABLE {} {}", table.sql(), adds.join(", ")))
}

/// One statement that changes columns to wider types in place (`INT64` → `NUMERIC`, …).
pub fn alter_types(table: &TableRef, columns: &[(String, BqType)]) -> Option<String> {
    if columns.is_empty() {
        return None;
    }
    let alters: Vec<String> = columns
        .iter()
        .map(|(c, ty)| format!("ALTER COLUMN {} SET DATA TYPE {}", quote(c), ty.sql_name()))
        .collect();
    Some(format!("ALTER TABLE {} {}", table.sql(), alters.join(", ")))
}

/// One atomic statement converting columns to JSON: the table is replaced by a converted copy of itself,
/// partitioned by day on `_airbyte_extracted_at` and clustered as given.
pub fn convert_to_json(table: &TableRef, columns: &[String], clustering: &[String]) -> String {
    let replaced: Vec<String> = columns
        .iter()
        .map(|c| format!("TO_JSON({0}) AS {0}", quote(c)))
        .collect();
    let cluster = if clustering.is_empty() {
        String::new()
    } else {
        let c: Vec<String> = clustering.iter().map(|c| quote(c)).collect();
        format!(" CLUSTER BY {}", c.join(", "))
    };
    format!(
        "CREATE OR REPLACE TABLE {t} PARTITION BY TIMESTAMP_TRUNC({ts}, DAY){cluster} AS SELECT * REPLACE ({r}) FROM {t}",
        t = table.sql(),
        ts = quote(EXTRACTED_AT),
        r = replaced.join(", "),
    )
}

/// How a MERGE treats CDC tombstones (rows whose `_ab_cdc_deleted_at` is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletes {
    /// A newer tombstone deletes the row; a tombstone for an unknown key inserts nothing.
    Hard,
    /// A newer tombstone sets `_ab_cdc_deleted_at` and the fields it carries; the row's other values stay.
    Soft,
}

/// The ordering of rows of one key, newest first: the cursor (a tombstone without a cursor value is ordered
/// by its deletion time when the cursor is a timestamp), then the extraction time, then arrival (the
/// time-ordered `_airbyte_raw_id`). `prefix` is `""`, `"t."` or `"s."`.
pub struct Ordering {
    cursor: Option<String>,
    deleted_at: Option<String>,
    coalesce: bool,
}

impl Ordering {
    pub fn of(schema: &TableSchema) -> Self {
        let cursor = schema
            .cursor
            .as_ref()
            .and_then(|c| schema.column(c))
            .filter(|c| c.ty != BqType::Json);
        let deleted_at = schema.cdc_deleted_at();
        Ordering {
            coalesce: cursor.is_some_and(|c| c.ty == BqType::Timestamp)
                && deleted_at.is_some_and(|d| d.ty == BqType::Timestamp),
            cursor: cursor.map(|c| c.name.clone()),
            deleted_at: deleted_at.map(|c| c.name.clone()),
        }
    }

    /// The cursor expression of a row, or `None` without a cursor.
    pub fn cursor(&self, prefix: &str) -> Option<String> {
        let c = self.cursor.as_ref()?;
        Some(match (&self.deleted_at, self.coalesce) {
            // The later of the two where both are set (a soft-deleted row keeps its cursor), else the one
            // that is set (a tombstone carries no cursor value).
            (Some(d), true) => {
                let (c, d) = (
                    format!("{prefix}{}", quote(c)),
                    format!("{prefix}{}", quote(d)),
                );
                format!("COALESCE(GREATEST({c}, {d}), {c}, {d})")
            }
            _ => format!("{prefix}{}", quote(c)),
        })
    }

    pub fn cursor_column(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Whether a tombstone without a cursor value is ordered by its deletion time.
    pub fn orders_tombstones_by_deletion(&self) -> bool {
        self.coalesce
    }
}

/// The dedup `MERGE`: the newest row per primary key from `source` (by cursor, then extraction time, then
/// arrival) is inserted into `target`, or replaces the target row when it is at least as new. A tombstone
/// (`_ab_cdc_deleted_at` set) deletes the row (`Deletes::Hard`) or marks it (`Deletes::Soft`), as Airbyte's
/// destinations do. `source_filter` narrows the source rows (a partition filter on the extraction time).
pub fn merge(
    target: &TableRef,
    source: &TableRef,
    schema: &TableSchema,
    deletes: Deletes,
    source_filter: Option<&str>,
) -> String {
    let pk: Vec<String> = schema.primary_key.iter().map(|k| quote(k)).collect();
    let ordering = Ordering::of(schema);
    let ts = quote(EXTRACTED_AT);
    let raw_id = quote(RAW_ID);
    let mut order = Vec::new();
    if let Some(c) = ordering.cursor("") {
        order.push(format!("{c} DESC NULLS LAST"));
    }
    order.push(format!("{ts} DESC"));
    order.push(format!("{raw_id} DESC"));
    let on: Vec<String> = pk
        .iter()
        .map(|k| format!("(t.{k} = s.{k} OR (t.{k} IS NULL AND s.{k} IS NULL))"))
        .collect();
    let newer = not_newer(&ordering, "t.", "s.");
    let deleted = schema.cdc_deleted_at().map(|c| quote(&c.name));
    let cols: Vec<String> = schema.columns.iter().map(|c| quote(&c.name)).collect();
    let set: Vec<String> = match (&deleted, deletes) {
        (Some(d), Deletes::Soft) => cols
            .iter()
            .map(|c| format!("{c} = IF(s.{d} IS NULL, s.{c}, COALESCE(s.{c}, t.{c}))"))
            .collect(),
        _ => cols.iter().map(|c| format!("{c} = s.{c}")).collect(),
    };
    let values: Vec<String> = cols.iter().map(|c| format!("s.{c}")).collect();
    let (delete_clause, insert_cond) = match (&deleted, deletes) {
        (Some(d), Deletes::Hard) => (
            format!("WHEN MATCHED AND s.{d} IS NOT NULL AND {newer} THEN DELETE\n"),
            format!(" AND s.{d} IS NULL"),
        ),
        _ => (String::new(), String::new()),
    };
    let mut conds: Vec<String> = source_filter.map(str::to_string).into_iter().collect();
    let scoped_rows = scoped_tombstone(schema, "r.");
    if let Some(scoped) = &scoped_rows {
        // Scoped tombstones delete in `scoped_deletes`; rows they supersede in this batch are dropped.
        let x_scoped = scoped_tombstone(schema, "x.").unwrap_or_default();
        let matches = key_matches(schema, "x.", "r.");
        let older = strictly_older(&ordering, "r.", "x.");
        conds.push(format!("NOT ({scoped})"));
        conds.push(format!(
            "NOT EXISTS (SELECT 1 FROM {src} AS x WHERE {x_scoped} AND {matches} AND {older})",
            src = source.sql()
        ));
    }
    let alias = if scoped_rows.is_some() { " AS r" } else { "" };
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("{alias}\n    WHERE {}", conds.join(" AND "))
    };
    format!(
        "MERGE {target} AS t\nUSING (\n  SELECT * FROM (\n    SELECT *, ROW_NUMBER() OVER (PARTITION BY {pk} ORDER BY {order}) AS _airbyte_row_number\n    FROM {source}{filter}\n  ) WHERE _airbyte_row_number = 1\n) AS s\nON {on}\n{delete_clause}WHEN MATCHED AND {newer} THEN UPDATE SET {set}\nWHEN NOT MATCHED{insert_cond} THEN INSERT ({cols}) VALUES ({values})",
        target = target.sql(),
        source = source.sql(),
        pk = pk.join(", "),
        order = order.join(", "),
        on = on.join(" AND "),
        set = set.join(", "),
        cols = cols.join(", "),
        values = values.join(", "),
    )
}

/// `a` is not newer than `b` (by cursor, then extraction time): a row `a` that `b` replaces.
fn not_newer(ordering: &Ordering, a: &str, b: &str) -> String {
    let ts = quote(EXTRACTED_AT);
    match (ordering.cursor(a), ordering.cursor(b)) {
        (Some(ac), Some(bc)) => format!(
            "({ac} < {bc} OR ({ac} = {bc} AND {a}{ts} <= {b}{ts}) OR ({ac} IS NULL AND {bc} IS NOT NULL) \
             OR ({ac} IS NULL AND {bc} IS NULL AND {a}{ts} <= {b}{ts}))"
        ),
        _ => format!("{a}{ts} <= {b}{ts}"),
    }
}

/// `a` comes strictly before `b` (cursor, extraction time, then arrival).
fn strictly_older(ordering: &Ordering, a: &str, b: &str) -> String {
    let (ts, id) = (quote(EXTRACTED_AT), quote(RAW_ID));
    let tie = format!("({a}{ts} < {b}{ts} OR ({a}{ts} = {b}{ts} AND {a}{id} < {b}{id}))");
    match (ordering.cursor(a), ordering.cursor(b)) {
        (Some(ac), Some(bc)) => format!(
            "({ac} < {bc} OR ({ac} = {bc} AND {tie}) OR ({ac} IS NULL AND {bc} IS NOT NULL) \
             OR ({ac} IS NULL AND {bc} IS NULL AND {tie}))"
        ),
        _ => tie,
    }
}

/// The condition that row `p` is a scoped tombstone: deleted, with part of a composite key absent.
/// `None` when the table cannot have one (no `_ab_cdc_deleted_at`, or a one-column key).
pub fn scoped_tombstone(schema: &TableSchema, p: &str) -> Option<String> {
    let d = schema.cdc_deleted_at()?;
    if schema.primary_key.len() < 2 {
        return None;
    }
    let any_null: Vec<String> = schema
        .primary_key
        .iter()
        .map(|k| format!("{p}{} IS NULL", quote(k)))
        .collect();
    Some(format!(
        "{p}{} IS NOT NULL AND ({})",
        quote(&d.name),
        any_null.join(" OR ")
    ))
}

/// Row `r` has the key columns that scoped tombstone `s` names.
fn key_matches(schema: &TableSchema, s: &str, r: &str) -> String {
    schema
        .primary_key
        .iter()
        .map(|k| {
            let k = quote(k);
            format!("({s}{k} IS NULL OR {r}{k} = {s}{k})")
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The statement that applies scoped tombstones of `source` to `target` before the MERGE: a hard delete
/// removes every older row whose present key columns match; a soft delete sets their
/// `_ab_cdc_deleted_at`. `None` when the table cannot have scoped tombstones.
pub fn scoped_deletes(
    target: &TableRef,
    source: &TableRef,
    schema: &TableSchema,
    deletes: Deletes,
    source_filter: Option<&str>,
) -> Option<String> {
    let scoped = scoped_tombstone(schema, "s.")?;
    let d = quote(&schema.cdc_deleted_at()?.name);
    let ordering = Ordering::of(schema);
    let matches = key_matches(schema, "s.", "t.");
    let newer = not_newer(&ordering, "t.", "s.");
    let filter = source_filter
        .map(|f| format!(" AND {f}"))
        .unwrap_or_default();
    let hit = format!(
        "FROM {src} AS s WHERE {scoped} AND {matches} AND {newer}{filter}",
        src = source.sql()
    );
    Some(match deletes {
        Deletes::Hard => format!(
            "DELETE FROM {tgt} AS t WHERE EXISTS (SELECT 1 {hit})",
            tgt = target.sql()
        ),
        Deletes::Soft => format!(
            "UPDATE {tgt} AS t SET {d} = (SELECT MAX(s.{d}) {hit}) WHERE EXISTS (SELECT 1 {hit})",
            tgt = target.sql()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn users() -> TableSchema {
        TableSchema::from_json_schema(
            &json!({"properties": {"id": {"type": "string"}, "lastUpdated": {"type": "string", "format": "date-time"},
                "users": {"type": "object"}}}),
            &[vec!["id".into()]],
            &["lastUpdated".into()],
        )
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote("a`b"), "`a\\`b`");
        assert_eq!(TableRef::new("p", "d", "t").sql(), "`p`.`d`.`t`");
    }

    #[test]
    fn merge_keeps_the_newest_by_cursor() {
        let sql = merge(
            &TableRef::new("p", "d", "users"),
            &TableRef::new("p", "raw", "tmp"),
            &users(),
            Deletes::Hard,
            None,
        );
        assert!(
            sql.starts_with("MERGE `p`.`d`.`users` AS t\nUSING ("),
            "{sql}"
        );
        assert!(sql.contains(
            "ROW_NUMBER() OVER (PARTITION BY `id` ORDER BY `lastUpdated` DESC NULLS LAST, `_airbyte_extracted_at` DESC, `_airbyte_raw_id` DESC)"
        ));
        assert!(sql.contains("FROM `p`.`raw`.`tmp`"));
        assert!(sql.contains("ON (t.`id` = s.`id` OR (t.`id` IS NULL AND s.`id` IS NULL))"));
        assert!(sql.contains("WHEN MATCHED AND (t.`lastUpdated` < s.`lastUpdated` OR"));
        assert!(
            sql.contains("`users` = s.`users`"),
            "the column named like the table is qualified"
        );
        assert!(sql.ends_with(
            "WHEN NOT MATCHED THEN INSERT (`_airbyte_raw_id`, `_airbyte_extracted_at`, `_airbyte_meta`, `_airbyte_generation_id`, `id`, `lastUpdated`, `users`) VALUES (s.`_airbyte_raw_id`, s.`_airbyte_extracted_at`, s.`_airbyte_meta`, s.`_airbyte_generation_id`, s.`id`, s.`lastUpdated`, s.`users`)"
        ));
    }

    #[test]
    fn merge_without_cursor_uses_extraction_time() {
        let mut s = users();
        s.cursor = None;
        let sql = merge(
            &TableRef::new("p", "d", "users"),
            &TableRef::new("p", "raw", "tmp"),
            &s,
            Deletes::Hard,
            None,
        );
        assert!(sql.contains("ORDER BY `_airbyte_extracted_at` DESC, `_airbyte_raw_id` DESC)"));
        assert!(sql.contains(
            "WHEN MATCHED AND t.`_airbyte_extracted_at` <= s.`_airbyte_extracted_at` THEN"
        ));
    }

    fn tombstoned() -> TableSchema {
        TableSchema::from_json_schema(
            &json!({"properties": {"id": {"type": "string"}, "lastUpdated": {"type": "string", "format": "date-time"},
                "_ab_cdc_deleted_at": {"type": ["null", "string"], "format": "date-time",
                    "airbyte_type": "timestamp_with_timezone"}}}),
            &[vec!["id".into()]],
            &["lastUpdated".into()],
        )
    }

    #[test]
    fn hard_delete_merge_deletes_and_never_inserts_tombstones() {
        let sql = merge(
            &TableRef::new("p", "d", "users"),
            &TableRef::new("p", "raw", "tmp"),
            &tombstoned(),
            Deletes::Hard,
            Some("`_airbyte_extracted_at` >= TIMESTAMP_MILLIS(5)"),
        );
        let c = "COALESCE(GREATEST(`lastUpdated`, `_ab_cdc_deleted_at`), `lastUpdated`, `_ab_cdc_deleted_at`)";
        assert!(
            sql.contains(&format!("ORDER BY {c} DESC NULLS LAST")),
            "{sql}"
        );
        assert!(sql.contains(
            "FROM `p`.`raw`.`tmp`\n    WHERE `_airbyte_extracted_at` >= TIMESTAMP_MILLIS(5)"
        ));
        assert!(sql.contains("WHEN MATCHED AND s.`_ab_cdc_deleted_at` IS NOT NULL AND (COALESCE(GREATEST(t.`lastUpdated`, t.`_ab_cdc_deleted_at`), t.`lastUpdated`, t.`_ab_cdc_deleted_at`) < COALESCE(GREATEST(s.`lastUpdated`"), "{sql}");
        assert!(sql.contains(") THEN DELETE\nWHEN MATCHED AND ("));
        assert!(sql.contains("WHEN NOT MATCHED AND s.`_ab_cdc_deleted_at` IS NULL THEN INSERT"));
    }

    #[test]
    fn soft_delete_merge_keeps_the_row_and_its_values() {
        let sql = merge(
            &TableRef::new("p", "d", "users"),
            &TableRef::new("p", "raw", "tmp"),
            &tombstoned(),
            Deletes::Soft,
            None,
        );
        assert!(!sql.contains("DELETE"));
        assert!(sql.contains("`lastUpdated` = IF(s.`_ab_cdc_deleted_at` IS NULL, s.`lastUpdated`, COALESCE(s.`lastUpdated`, t.`lastUpdated`))"), "{sql}");
        assert!(sql.contains("WHEN NOT MATCHED THEN INSERT"));
    }

    #[test]
    fn alter_adds_all_columns_in_one_statement() {
        let cols = vec![
            Column {
                name: "a".into(),
                field: Some("a".into()),
                ty: BqType::String,
                required: false,
            },
            Column {
                name: "b".into(),
                field: Some("b".into()),
                ty: BqType::Json,
                required: false,
            },
        ];
        assert_eq!(
            add_columns(&TableRef::new("p", "d", "t"), &cols).unwrap(),
            "ALTER TABLE `p`.`d`.`t` ADD COLUMN IF NOT EXISTS `a` STRING, ADD COLUMN IF NOT EXISTS `b` JSON"
        );
        assert!(add_columns(&TableRef::new("p", "d", "t"), &[]).is_none());
    }

    #[test]
    fn widening_statements() {
        let t = TableRef::new("p", "d", "t");
        assert_eq!(
            alter_types(&t, &[("n".into(), BqType::Numeric)]).unwrap(),
            "ALTER TABLE `p`.`d`.`t` ALTER COLUMN `n` SET DATA TYPE NUMERIC"
        );
        assert_eq!(
            convert_to_json(&t, &["x".into(), "y".into()], &["id".into()]),
            "CREATE OR REPLACE TABLE `p`.`d`.`t` PARTITION BY TIMESTAMP_TRUNC(`_airbyte_extracted_at`, DAY) \
             CLUSTER BY `id` AS SELECT * REPLACE (TO_JSON(`x`) AS `x`, TO_JSON(`y`) AS `y`) FROM `p`.`d`.`t`"
        );
    }
}
