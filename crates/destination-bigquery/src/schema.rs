//! Schema mapping: a stream's JSON Schema becomes BigQuery columns (name, type), plus Airbyte's metadata columns.
//!
//! Also the diff between what a table has and what a stream declares, which drives schema evolution.

use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// The BigQuery column types this destination writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BqType {
    String,
    Int64,
    Numeric,
    Float64,
    Bool,
    Timestamp,
    Datetime,
    Date,
    /// A wall-clock time (`time_without_timezone`).
    Time,
    Json,
}

impl BqType {
    /// The Standard SQL name, as written in DDL and in load-job schemas.
    pub fn sql_name(self) -> &'static str {
        match self {
            BqType::String => "STRING",
            BqType::Int64 => "INT64",
            BqType::Numeric => "NUMERIC",
            BqType::Float64 => "FLOAT64",
            BqType::Bool => "BOOL",
            BqType::Timestamp => "TIMESTAMP",
            BqType::Datetime => "DATETIME",
            BqType::Date => "DATE",
            BqType::Time => "TIME",
            BqType::Json => "JSON",
        }
    }

    /// Reads a type name as `tables.get` reports it (legacy and Standard SQL names both occur).
    pub fn from_api_name(name: &str) -> Option<BqType> {
        Some(match name.to_ascii_uppercase().as_str() {
            "STRING" => BqType::String,
            "INT64" | "INTEGER" => BqType::Int64,
            "NUMERIC" | "BIGNUMERIC" | "DECIMAL" | "BIGDECIMAL" => BqType::Numeric,
            "FLOAT64" | "FLOAT" => BqType::Float64,
            "BOOL" | "BOOLEAN" => BqType::Bool,
            "TIMESTAMP" => BqType::Timestamp,
            "DATETIME" => BqType::Datetime,
            "DATE" => BqType::Date,
            "TIME" => BqType::Time,
            "JSON" => BqType::Json,
            _ => return None,
        })
    }

    /// Whether BigQuery can cluster on a column of this type.
    pub fn clusterable(self) -> bool {
        !matches!(self, BqType::Json | BqType::Float64 | BqType::Time)
    }

    /// Whether values declared as `wanted` can still be written into an existing column of this type
    /// without losing information (the column is at least as wide).
    pub fn accepts(self, wanted: BqType) -> bool {
        use BqType::*;
        self == wanted
            || matches!(
                (self, wanted),
                (Json, _)
                    | (
                        String,
                        Int64 | Numeric | Float64 | Bool | Timestamp | Datetime | Date | Time
                    )
                    | (Numeric, Int64)
                    | (Float64, Int64)
                    | (Timestamp, Datetime | Date)
            )
    }
}

impl BqType {
    /// Whether BigQuery changes a column of this type to `wanted` in place (`ALTER COLUMN … SET DATA
    /// TYPE`), keeping every value: INT64 to NUMERIC or FLOAT64, NUMERIC to FLOAT64.
    pub fn widens_in_place(self, wanted: BqType) -> bool {
        use BqType::*;
        matches!(
            (self, wanted),
            (Int64, Numeric | Float64) | (Numeric, Float64)
        )
    }
}

/// Airbyte's metadata column names.
pub const RAW_ID: &str = "_airbyte_raw_id";
pub const EXTRACTED_AT: &str = "_airbyte_extracted_at";
pub const META: &str = "_airbyte_meta";
pub const GENERATION_ID: &str = "_airbyte_generation_id";
/// The JSON column that keeps the fields a stream does not declare (on by default).
pub const ADDITIONAL_PROPERTIES: &str = "_airbyte_additional_properties";
/// The CDC deletion marker: a record with it non-null is a tombstone.
pub const CDC_DELETED_AT: &str = "_ab_cdc_deleted_at";

/// A column of an existing table: name, type (when this destination knows it), type as reported, and
/// whether it is REQUIRED.
pub type ExistingColumn = (String, Option<BqType>, String, bool);

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column name in BigQuery.
    pub name: String,
    /// The record field it is filled from (`None` for metadata columns).
    pub field: Option<String>,
    pub ty: BqType,
    pub required: bool,
}

/// The columns of a final table, in order: the four metadata columns, then one per declared field.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    pub columns: Vec<Column>,
    /// Column names of the primary key (in key order).
    pub primary_key: Vec<String>,
    /// Column name of the cursor, when the stream has one.
    pub cursor: Option<String>,
}

impl TableSchema {
    /// Builds the table for a stream from its JSON Schema, primary key and cursor (as field paths; only
    /// top-level fields are keys).
    pub fn from_json_schema(
        json_schema: &Value,
        primary_key: &[Vec<String>],
        cursor: &[String],
    ) -> TableSchema {
        let mut columns = metadata_columns();
        let mut taken: HashSet<String> = columns
            .iter()
            .map(|c| c.name.to_ascii_lowercase())
            .collect();
        let mut by_field: HashMap<String, String> = HashMap::new();
        if let Some(props) = json_schema.get("properties").and_then(Value::as_object) {
            for (field, prop) in props {
                let name = unique_column_name(field, &mut taken);
                by_field.insert(field.clone(), name.clone());
                columns.push(Column {
                    name,
                    field: Some(field.clone()),
                    ty: map_type(prop),
                    required: false,
                });
            }
        }
        let primary_key = primary_key
            .iter()
            .filter_map(|path| path.first().and_then(|f| by_field.get(f)).cloned())
            .collect();
        let cursor = cursor.first().and_then(|f| by_field.get(f)).cloned();
        TableSchema {
            columns,
            primary_key,
            cursor,
        }
    }

    /// Adds the `_airbyte_additional_properties` JSON column (after the declared ones), unless a declared
    /// field already took the name.
    pub fn with_additional_properties(mut self) -> Self {
        if self.column(ADDITIONAL_PROPERTIES).is_none() {
            self.columns.push(Column {
                name: ADDITIONAL_PROPERTIES.into(),
                field: None,
                ty: BqType::Json,
                required: false,
            });
        }
        self
    }

    /// The column filled from `_ab_cdc_deleted_at`, when the stream declares it.
    pub fn cdc_deleted_at(&self) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.field.as_deref() == Some(CDC_DELETED_AT))
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Columns to cluster on: the clusterable primary-key columns (at most 3) then the extraction time.
    pub fn clustering(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .primary_key
            .iter()
            .filter(|k| self.column(k).is_some_and(|c| c.ty.clusterable()))
            .take(3)
            .cloned()
            .collect();
        out.push(EXTRACTED_AT.to_string());
        out
    }

    /// The `schema` object of a `tables.insert` or load-job request.
    pub fn to_api_fields(&self) -> Value {
        let fields: Vec<Value> = self
            .columns
            .iter()
            .map(|c| json!({"name": c.name, "type": c.ty.sql_name(), "mode": if c.required {"REQUIRED"} else {"NULLABLE"}}))
            .collect();
        json!({ "fields": fields })
    }

    /// Reads a schema back from a `tables.get` answer (fields only; keys come from the stream).
    pub fn from_api(table: &Value) -> Vec<ExistingColumn> {
        table
            .pointer("/schema/fields")
            .and_then(Value::as_array)
            .map(|fields| {
                fields
                    .iter()
                    .map(|f| {
                        let name = f
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        let ty = f
                            .get("type")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        let required = f.get("mode").and_then(Value::as_str) == Some("REQUIRED");
                        (name, BqType::from_api_name(&ty), ty, required)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn metadata_columns() -> Vec<Column> {
    vec![
        Column {
            name: RAW_ID.into(),
            field: None,
            ty: BqType::String,
            required: true,
        },
        Column {
            name: EXTRACTED_AT.into(),
            field: None,
            ty: BqType::Timestamp,
            required: true,
        },
        Column {
            name: META.into(),
            field: None,
            ty: BqType::Json,
            required: true,
        },
        Column {
            name: GENERATION_ID.into(),
            field: None,
            ty: BqType::Int64,
            required: false,
        },
    ]
}

/// The BigQuery type for one property's JSON Schema.
///
/// Nullable types (`["null", "string"]`) map like their non-null member; objects, arrays, unions of several
/// types, `oneOf`/`anyOf` and schemaless properties become JSON.
pub fn map_type(prop: &Value) -> BqType {
    if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
        return map_well_known(r);
    }
    if prop.get("oneOf").is_some() || prop.get("anyOf").is_some() {
        let members: Vec<&Value> = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|k| prop.get(*k).and_then(Value::as_array))
            .flatten()
            .filter(|m| m.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        return match members.as_slice() {
            [one] => map_type(one),
            _ => BqType::Json,
        };
    }
    let types: Vec<&str> = match prop.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return BqType::Json,
    };
    let non_null: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    // A union of several types becomes its first member in Airbyte's priority (array, object, string,
    // number, integer, boolean), as Airbyte's `Union.chooseType` does: `["string","integer"]` is a STRING,
    // `["number","integer"]` a NUMERIC, anything with an object or array JSON.
    let chosen = ["array", "object", "string", "number", "integer", "boolean"]
        .into_iter()
        .find(|t| non_null.contains(t));
    match (non_null.len(), chosen) {
        (0, _) | (_, None) => BqType::Json,
        (_, Some("string")) => map_string(prop),
        (_, Some("number")) => match prop.get("airbyte_type").and_then(Value::as_str) {
            Some("integer") | Some("big_integer") => BqType::Int64,
            _ => BqType::Numeric,
        },
        (_, Some("integer")) => BqType::Int64,
        (_, Some("boolean")) => BqType::Bool,
        _ => BqType::Json,
    }
}

fn map_string(prop: &Value) -> BqType {
    let airbyte_type = prop.get("airbyte_type").and_then(Value::as_str);
    match (prop.get("format").and_then(Value::as_str), airbyte_type) {
        (_, Some("timestamp_without_timezone")) => BqType::Datetime,
        (_, Some("time_without_timezone")) => BqType::Time,
        (Some("date-time"), _) | (_, Some("timestamp_with_timezone")) => BqType::Timestamp,
        (Some("date"), _) => BqType::Date,
        _ => BqType::String,
    }
}

fn map_well_known(r: &str) -> BqType {
    match r.rsplit('/').next().unwrap_or_default() {
        "String" | "BinaryData" | "TimeWithTimezone" => BqType::String,
        "TimeWithoutTimezone" => BqType::Time,
        "Integer" => BqType::Int64,
        "Number" => BqType::Numeric,
        "Boolean" => BqType::Bool,
        "Date" => BqType::Date,
        "TimestampWithTimezone" => BqType::Timestamp,
        "TimestampWithoutTimezone" => BqType::Datetime,
        _ => BqType::Json,
    }
}

/// The first `max` characters of `text`, each one that is not an ASCII letter, digit or underscore made `_`.
fn identifier(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(max)
        .collect()
}

/// A valid, unique BigQuery column name for a record field: letters, digits and underscores, not starting
/// with a digit, at most 300 characters, unique case-insensitively.
pub fn unique_column_name(field: &str, taken: &mut HashSet<String>) -> String {
    let mut base = identifier(field, 290);
    if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
        base.insert(0, '_');
    }
    let mut name = base.clone();
    let mut n = 1;
    while !taken.insert(name.to_ascii_lowercase()) {
        n += 1;
        name = format!("{base}_{n}");
    }
    name
}

/// A valid BigQuery table name for a stream (letters, digits, underscores; at most 1024 characters).
pub fn table_name(stream: &str) -> String {
    let mut name = identifier(stream, 1024);
    if name.is_empty() {
        name.push('_');
    }
    name
}

/// What must change in an existing table so that it can take rows of `wanted`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaDiff {
    /// Columns to add (one batched `ALTER TABLE … ADD COLUMN`).
    pub add: Vec<Column>,
    /// Columns BigQuery widens in place to the declared type: `(column, existing, wanted)`.
    pub widen: Vec<(String, String, BqType)>,
    /// Columns whose existing type is narrower than the declared one: `(column, existing, wanted)`.
    pub incompatible: Vec<(String, String, BqType)>,
}

impl SchemaDiff {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.widen.is_empty() && self.incompatible.is_empty()
    }
}

/// Compares a table's columns (from `tables.get`) with the declared schema. Returns the diff and the
/// effective schema to encode rows with: where an existing column is wider than declared, values are written
/// with the existing type, so an old table keeps working.
pub fn diff(existing: &[ExistingColumn], wanted: &TableSchema) -> (SchemaDiff, TableSchema) {
    let mut d = SchemaDiff::default();
    let mut effective = wanted.clone();
    for col in &mut effective.columns {
        match existing
            .iter()
            .find(|(n, _, _, _)| n.eq_ignore_ascii_case(&col.name))
        {
            None => {
                col.required = false;
                d.add.push(col.clone());
            }
            // Loads declare the table's own modes (a load's schema may not change a column's mode).
            Some((name, Some(ty), _, required)) if ty.accepts(col.ty) => {
                col.name = name.clone();
                col.ty = *ty;
                col.required = *required;
            }
            Some((name, Some(ty), raw, required)) if ty.widens_in_place(col.ty) => {
                d.widen.push((name.clone(), raw.clone(), col.ty));
                col.name = name.clone();
                col.required = *required;
            }
            Some((name, _, raw, required)) => {
                d.incompatible.push((name.clone(), raw.clone(), col.ty));
                col.required = *required;
            }
        }
    }
    (d, effective)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Existing NULLABLE columns from (name, API type name) pairs.
    fn existing_columns(cols: &[(&str, &str)]) -> Vec<ExistingColumn> {
        cols.iter()
            .map(|(n, t)| {
                (
                    n.to_string(),
                    BqType::from_api_name(t),
                    t.to_string(),
                    false,
                )
            })
            .collect()
    }

    #[test]
    fn maps_json_schema_types() {
        let cases = [
            (json!({"type": "string"}), BqType::String),
            (
                json!({"type": ["null", "string"], "format": "date-time"}),
                BqType::Timestamp,
            ),
            (json!({"type": "string", "format": "date"}), BqType::Date),
            (
                json!({"type": "string", "airbyte_type": "timestamp_without_timezone"}),
                BqType::Datetime,
            ),
            (json!({"type": ["null", "integer"]}), BqType::Int64),
            (json!({"type": "number"}), BqType::Numeric),
            (
                json!({"type": "number", "airbyte_type": "integer"}),
                BqType::Int64,
            ),
            (json!({"type": ["boolean", "null"]}), BqType::Bool),
            (
                json!({"type": ["null", "object"], "properties": {}}),
                BqType::Json,
            ),
            (
                json!({"type": "array", "items": {"type": "string"}}),
                BqType::Json,
            ),
            (json!({"type": ["string", "integer"]}), BqType::String),
            (
                json!({"type": ["null", "integer", "boolean"]}),
                BqType::Int64,
            ),
            (json!({"type": ["string", "object"]}), BqType::Json),
            (
                json!({"type": "string", "format": "time", "airbyte_type": "time_without_timezone"}),
                BqType::Time,
            ),
            (
                json!({"type": "string", "format": "time", "airbyte_type": "time_with_timezone"}),
                BqType::String,
            ),
            (
                json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
                BqType::Json,
            ),
            (
                json!({"anyOf": [{"type": "null"}, {"type": "integer"}]}),
                BqType::Int64,
            ),
            (json!({}), BqType::Json),
            (
                json!({"$ref": "WellKnownTypes.json#/definitions/TimestampWithTimezone"}),
                BqType::Timestamp,
            ),
            (
                json!({"$ref": "WellKnownTypes.json#/definitions/Integer"}),
                BqType::Int64,
            ),
        ];
        for (schema, want) in cases {
            assert_eq!(map_type(&schema), want, "{schema}");
        }
    }

    #[test]
    fn builds_table_with_metadata_keys_and_clustering() {
        let s = json!({"type": "object", "properties": {
            "id": {"type": "string"}, "lastUpdated": {"type": "string", "format": "date-time"},
            "profile": {"type": "object"}, "some-field": {"type": "integer"}, "Some_field": {"type": "integer"},
            "9lives": {"type": "boolean"}}});
        let t = TableSchema::from_json_schema(&s, &[vec!["id".into()]], &["lastUpdated".into()]);
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                RAW_ID,
                EXTRACTED_AT,
                META,
                GENERATION_ID,
                "id",
                "lastUpdated",
                "profile",
                "some_field",
                "Some_field_2",
                "_9lives"
            ]
        );
        assert_eq!(t.primary_key, ["id"]);
        assert_eq!(t.cursor.as_deref(), Some("lastUpdated"));
        assert_eq!(t.clustering(), ["id", EXTRACTED_AT]);
        assert_eq!(
            t.to_api_fields()["fields"][0],
            json!({"name": RAW_ID, "type": "STRING", "mode": "REQUIRED"})
        );
    }

    #[test]
    fn diff_adds_columns_and_flags_narrowing() {
        let wanted = TableSchema::from_json_schema(
            &json!({"properties": {"id": {"type": "string"}, "n": {"type": "integer"}, "new": {"type": "boolean"},
                "obj": {"type": "object"}}}),
            &[],
            &[],
        );
        let existing = existing_columns(&[
            (RAW_ID, "STRING"),
            (EXTRACTED_AT, "TIMESTAMP"),
            (META, "JSON"),
            (GENERATION_ID, "INTEGER"),
            ("ID", "STRING"),
            ("n", "NUMERIC"),
            ("obj", "STRING"),
        ]);
        let (d, eff) = diff(&existing, &wanted);
        assert!(d.widen.is_empty());
        assert_eq!(d.add.len(), 1);
        assert_eq!(d.add[0].name, "new");
        assert_eq!(
            d.incompatible,
            vec![("obj".to_string(), "STRING".to_string(), BqType::Json)]
        );
        // The existing NUMERIC column keeps taking integers, under its existing name.
        assert_eq!(eff.column("n").unwrap().ty, BqType::Numeric);
        assert_eq!(eff.column("id").unwrap().name, "ID");
    }

    #[test]
    fn integer_to_number_widens_in_place() {
        let wanted = TableSchema::from_json_schema(
            &json!({"properties": {"n": {"type": "number"}, "s": {"type": "integer"}}}),
            &[],
            &[],
        );
        let existing = existing_columns(&[("N", "INTEGER"), ("s", "STRING")]);
        let (d, eff) = diff(&existing, &wanted);
        assert_eq!(
            d.widen,
            vec![("N".to_string(), "INTEGER".to_string(), BqType::Numeric)]
        );
        assert!(d.incompatible.is_empty());
        assert_eq!(eff.column("n").unwrap().name, "N");
        assert_eq!(eff.column("n").unwrap().ty, BqType::Numeric);
        assert!(BqType::Numeric.widens_in_place(BqType::Float64));
        assert!(!BqType::Numeric.widens_in_place(BqType::Int64));
        assert!(!BqType::String.widens_in_place(BqType::Json));
    }

    #[test]
    fn table_names_are_sanitised() {
        assert_eq!(table_name("group_members"), "group_members");
        assert_eq!(table_name("a-b.c"), "a_b_c");
    }
}
