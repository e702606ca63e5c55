//! SQL generation: identifiers, the dedup `MERGE`, the batched `ALTER TABLE … ADD COLUMN`, the JSON widening.
//!
//! Every column is written qualified (`t.`x``, `s.`x``) so a column named like its table never resolves to
//! the whole row (airbytehq/airbyte#71043).

use crate::schema::{BqType, Column, TableSchema, EXTRACTED_AT};

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

/// A script converting one column to JSON in place: add a new column, copy with `TO_JSON`, drop, rename.
pub fn widen_to_json(table: &TableRef, column: &str) -> Vec<String> {
    let tmp = format!("{column}_airbyte_json_tmp");
    vec![
        format!(
            "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} JSON",
            table.sql(),
            quote(&tmp)
        ),
        format!(
            "UPDATE {} SET {} = TO_JSON({}) WHERE TRUE",
            table.sql(),
            quote(&tmp),
            quote(column)
        ),
        format!("ALTER TABLE {} DROP COLUMN {}", table.sql(), quote(column)),
        format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            table.sql(),
            quote(&tmp),
            quote(column)
        ),
    ]
}

/// The dedup `MERGE`: the newest row per primary key from `source` (by cursor, then extraction time) is
/// inserted into `target`, or replaces the target row when it is at least as new.
pub fn merge(target: &TableRef, source: &TableRef, schema: &TableSchema) -> String {
    let pk: Vec<String> = schema.primary_key.iter().map(|k| quote(k)).collect();
    let cursor = schema
        .cursor
        .as_ref()
        .filter(|c| schema.column(c).is_some_and(|c| c.ty != BqType::Json));
    let ts = quote(EXTRACTED_AT);
    let mut order = Vec::new();
    if let Some(c) = cursor {
        order.push(format!("{} DESC NULLS LAST", quote(c)));
    }
    order.push(format!("{ts} DESC"));
    let on: Vec<String> = pk
        .iter()
        .map(|k| format!("(t.{k} = s.{k} OR (t.{k} IS NULL AND s.{k} IS NULL))"))
        .collect();
    let newer = match cursor {
        Some(c) => {
            let c = quote(c);
            format!(
                "(t.{c} < s.{c} OR (t.{c} = s.{c} AND t.{ts} <= s.{ts}) OR (t.{c} IS NULL AND s.{c} IS NOT NULL) \
                 OR (t.{c} IS NULL AND s.{c} IS NULL AND t.{ts} <= s.{ts}))"
            )
        }
        None => format!("t.{ts} <= s.{ts}"),
    };
    let cols: Vec<String> = schema.columns.iter().map(|c| quote(&c.name)).collect();
    let set: Vec<String> = cols.iter().map(|c| format!("{c} = s.{c}")).collect();
    let values: Vec<String> = cols.iter().map(|c| format!("s.{c}")).collect();
    format!(
        "MERGE {target} AS t\nUSING (\n  SELECT * FROM (\n    SELECT *, ROW_NUMBER() OVER (PARTITION BY {pk} ORDER BY {order}) AS _airbyte_row_number\n    FROM {source}\n  ) WHERE _airbyte_row_number = 1\n) AS s\nON {on}\nWHEN MATCHED AND {newer} THEN UPDATE SET {set}\nWHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})",
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
        );
        assert!(
            sql.starts_with("MERGE `p`.`d`.`users` AS t\nUSING ("),
            "{sql}"
        );
        assert!(sql.contains(
            "ROW_NUMBER() OVER (PARTITION BY `id` ORDER BY `lastUpdated` DESC NULLS LAST, `_airbyte_extracted_at` DESC)"
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
        );
        assert!(sql.contains("ORDER BY `_airbyte_extracted_at` DESC)"));
        assert!(sql.contains(
            "WHEN MATCHED AND t.`_airbyte_extracted_at` <= s.`_airbyte_extracted_at` THEN"
        ));
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
    fn widening_is_a_four_step_script() {
        let s = widen_to_json(&TableRef::new("p", "d", "t"), "x");
        assert_eq!(s.len(), 4);
        assert!(s[1].contains("TO_JSON(`x`)"));
    }
}
