//! Record encoding: one record becomes one NDJSON line of the load file, with every value cast to its column.
//!
//! A value that cannot be cast is nulled and the row is kept, with an entry in `_airbyte_meta.changes`
//! (`{"field", "change": "NULLED", "reason": "DESTINATION_SERIALIZATION_ERROR"}`), as Airbyte does.
//! Fields the stream does not declare go, as they came, into the `_airbyte_additional_properties` JSON
//! column when the table has it.

use crate::schema::{
    BqType, TableSchema, ADDITIONAL_PROPERTIES, EXTRACTED_AT, GENERATION_ID, META, RAW_ID,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::io::Write;

/// One field of a record: a parsed value, or raw JSON text (nested values are then never built as trees).
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Value(&'a Value),
    Raw(&'a RawValue),
}

impl Field<'_> {
    pub fn is_null(&self) -> bool {
        match self {
            Field::Value(v) => v.is_null(),
            Field::Raw(r) => r.get() == "null",
        }
    }
}

/// A record's top-level fields, however they were parsed.
pub trait Fields {
    fn field(&self, name: &str) -> Option<Field<'_>>;
    /// [`Fields::field`], told where the field was in the last record read this way (`hint`, updated):
    /// records of one stream mostly have the same fields, so the position usually holds.
    fn field_hinted(&self, name: &str, hint: &mut usize) -> Option<Field<'_>> {
        let _ = hint;
        self.field(name)
    }
    fn field_count(&self) -> usize;
    fn field_names(&self) -> Vec<&str>;
    /// Every field with its value.
    fn entries(&self) -> Vec<(&str, Field<'_>)>;
}

impl Fields for Map<String, Value> {
    fn field(&self, name: &str) -> Option<Field<'_>> {
        self.get(name).map(Field::Value)
    }
    fn field_count(&self) -> usize {
        self.len()
    }
    fn field_names(&self) -> Vec<&str> {
        self.keys().map(String::as_str).collect()
    }
    fn entries(&self) -> Vec<(&str, Field<'_>)> {
        self.iter()
            .map(|(k, v)| (k.as_str(), Field::Value(v)))
            .collect()
    }
}

/// A record parsed one level deep: field values stay raw JSON text borrowed from the input line. This is
/// the fast path for Airbyte input: JSON columns are copied as text, scalars are parsed one by one.
///
/// Fields are kept in a vector sorted by name (of equal names the last wins, as in a map): parsing borrows
/// every name that has no escape instead of allocating a `String` per key, and a lookup is a binary search.
#[derive(Debug, Default)]
pub struct RawRecord<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> RawRecord<'a> {
    /// Parses a record's `data` object; `None` when it is not an object.
    pub fn parse(data: &'a RawValue) -> Option<Self> {
        Self::parse_str(data.get()).ok()
    }

    /// Parses a JSON object's text (an encoded row, for instance).
    pub fn parse_str(text: &'a str) -> Result<Self, serde_json::Error> {
        Ok(Self::from_fields(
            serde_json::from_str::<RawFields<'a>>(text)?.0,
        ))
    }

    fn from_fields(mut fields: Vec<(Cow<'a, str>, &'a RawValue)>) -> Self {
        // Stable: equal names stay in arrival order, and the later value replaces the earlier one.
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = later.1;
            }
            same
        });
        RawRecord(fields)
    }

    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0
            .binary_search_by(|(k, _)| k.as_ref().cmp(name))
            .ok()
            .map(|i| self.0[i].1)
    }
}

/// The members of a JSON object, names borrowed where they need no unescaping.
struct RawFields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

/// An object member's name, borrowed from the input when it has no escape.
pub(crate) struct Name<'a>(pub(crate) Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::Deserialize<'de> for RawFields<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawFields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawFields<'de>, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((k, v)) = map.next_entry::<Name<'de>, &'de RawValue>()? {
                    fields.push((k.0, v));
                }
                Ok(RawFields(fields))
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads a JSON object in place, as [`RawRecord::parse_str`] does: a record's `data` is then parsed in the
/// same pass as the message around it.
impl<'de: 'a, 'a> serde::Deserialize<'de> for RawRecord<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawFields::<'de>::deserialize(d).map(|f| RawRecord::from_fields(f.0))
    }
}

impl Fields for RawRecord<'_> {
    fn field(&self, name: &str) -> Option<Field<'_>> {
        self.get(name).map(Field::Raw)
    }
    fn field_hinted(&self, name: &str, hint: &mut usize) -> Option<Field<'_>> {
        if let Some((k, v)) = self.0.get(*hint) {
            if k == name {
                return Some(Field::Raw(v));
            }
        }
        match self.0.binary_search_by(|(k, _)| k.as_ref().cmp(name)) {
            Ok(i) => {
                *hint = i;
                Some(Field::Raw(self.0[i].1))
            }
            Err(_) => None,
        }
    }
    fn field_count(&self) -> usize {
        self.0.len()
    }
    fn field_names(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).collect()
    }
    fn entries(&self) -> Vec<(&str, Field<'_>)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_ref(), Field::Raw(v)))
            .collect()
    }
}

/// Records encoded by this process: the arrival order inside `_airbyte_raw_id`.
static RAW_ID_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The reason Airbyte uses for a value the destination could not write.
pub const SERIALIZATION_ERROR: &str = "DESTINATION_SERIALIZATION_ERROR";

/// Encodes records of one stream against its effective table schema.
pub struct Encoder {
    /// `(column name, record field, type)` for every data column.
    columns: Vec<(String, String, BqType)>,
    /// `,"<column name>":` of every data column, escaped once here rather than for every record.
    keys: Vec<Vec<u8>>,
    /// Per column, where its field was in the last record (see [`Fields::field_hinted`]).
    hints: Vec<usize>,
    /// Indexes into `columns` of the primary-key columns.
    key_columns: Vec<usize>,
    /// Whether undeclared fields are kept in `_airbyte_additional_properties`.
    keep_additional: bool,
    declared: std::collections::HashSet<String>,
    generation_id: i64,
    sync_id: Option<i64>,
    rng: StdRng,
    /// Milliseconds since the epoch when the encoder was made (the start of `_airbyte_raw_id`).
    started_ms: u64,
    last_ms: i64,
    last_ts: String,
}

/// Result of encoding one record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// How many values were nulled because they could not be cast.
    pub nulled: usize,
    /// Whether the record has fields its schema does not declare.
    pub undeclared: bool,
    /// How many undeclared fields were kept in `_airbyte_additional_properties`.
    pub additional: usize,
    /// The first primary-key field that is missing or null (after casting).
    pub null_key: Option<String>,
}

impl Encoder {
    pub fn new(schema: &TableSchema, generation_id: i64, sync_id: Option<i64>) -> Self {
        let columns: Vec<(String, String, BqType)> = schema
            .columns
            .iter()
            .filter_map(|c| c.field.as_ref().map(|f| (c.name.clone(), f.clone(), c.ty)))
            .collect();
        let key_columns = schema
            .primary_key
            .iter()
            .filter_map(|k| {
                columns
                    .iter()
                    .position(|(n, _, _)| n.eq_ignore_ascii_case(k))
            })
            .collect();
        let declared = columns.iter().map(|(_, f, _)| f.clone()).collect();
        let keys = columns
            .iter()
            .map(|(name, _, _)| {
                let mut k = vec![b','];
                write_json_str(&mut k, name);
                k.push(b':');
                k
            })
            .collect();
        let keep_additional = schema
            .column(ADDITIONAL_PROPERTIES)
            .is_some_and(|c| c.field.is_none());
        Encoder {
            hints: vec![0; columns.len()],
            columns,
            keys,
            key_columns,
            keep_additional,
            declared,
            generation_id,
            sync_id,
            rng: StdRng::from_entropy(),
            started_ms: chrono::Utc::now().timestamp_millis().max(0) as u64,
            last_ms: i64::MIN,
            last_ts: String::new(),
        }
    }

    /// A time-ordered UUID (version 7 layout): the encoder's start time, then a counter, then random bits. Its
    /// text order is the records' arrival order within a stream, the MERGE's last tie-breaker (a record and
    /// its tombstone often share a cursor value and an extraction millisecond).
    fn next_raw_id(&mut self) -> uuid::Uuid {
        let n = RAW_ID_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&self.started_ms.to_be_bytes()[2..]);
        let hi = ((n >> 50) & 0xFFF) as u16;
        b[6] = 0x70 | (hi >> 8) as u8;
        b[7] = hi as u8;
        let low = ((n & ((1u64 << 50) - 1)) << 12) | (self.rng.gen::<u64>() & 0xFFF);
        b[8..].copy_from_slice(&(low | (0b10u64 << 62)).to_be_bytes());
        uuid::Uuid::from_bytes(b)
    }

    /// Appends one NDJSON line (with its `\n`) for `data` to `out`.
    ///
    /// `emitted_at_ms` becomes `_airbyte_extracted_at`; `source_changes` are the record's own
    /// `meta.changes` from the source, kept ahead of ours.
    pub fn encode<F: Fields + ?Sized>(
        &mut self,
        data: &F,
        emitted_at_ms: i64,
        source_changes: Option<&Value>,
        out: &mut Vec<u8>,
    ) -> Encoded {
        let raw_id = self.next_raw_id();
        if emitted_at_ms != self.last_ms {
            self.last_ms = emitted_at_ms;
            self.last_ts = DateTime::<Utc>::from_timestamp_millis(emitted_at_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Millis, true);
        }
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(RAW_ID.as_bytes());
        out.extend_from_slice(b"\":\"");
        out.extend_from_slice(
            raw_id
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer())
                .as_bytes(),
        );
        out.extend_from_slice(b"\",\"");
        out.extend_from_slice(EXTRACTED_AT.as_bytes());
        out.extend_from_slice(b"\":\"");
        out.extend_from_slice(self.last_ts.as_bytes());
        out.push(b'"');
        let mut changes: Vec<&str> = Vec::new();
        let mut present = 0usize;
        let mut null_key = None;
        for (i, (((_, field, ty), key), hint)) in self
            .columns
            .iter()
            .zip(&self.keys)
            .zip(self.hints.iter_mut())
            .enumerate()
        {
            let written = match data.field_hinted(field, hint) {
                None => false,
                Some(v) => {
                    present += 1;
                    if v.is_null() {
                        false
                    } else {
                        let start = out.len();
                        out.extend_from_slice(key);
                        let ok = write_field(out, v, *ty);
                        if !ok {
                            out.truncate(start);
                            changes.push(field);
                        }
                        ok
                    }
                }
            };
            if !written && null_key.is_none() && self.key_columns.contains(&i) {
                null_key = Some(field.clone());
            }
        }
        let undeclared = present < data.field_count();
        let mut additional = 0;
        if undeclared && self.keep_additional {
            let mut extra: Vec<(&str, Field<'_>)> = data
                .entries()
                .into_iter()
                .filter(|(k, _)| !self.declared.contains(*k))
                .collect();
            extra.sort_by(|a, b| a.0.cmp(b.0));
            let _ = write!(out, ",\"{ADDITIONAL_PROPERTIES}\":{{");
            for (n, (k, v)) in extra.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_json_str(out, k);
                out.push(b':');
                match v {
                    Field::Value(v) => {
                        let _ = serde_json::to_writer(&mut *out, v);
                    }
                    Field::Raw(r) => out.extend_from_slice(r.get().as_bytes()),
                }
            }
            out.push(b'}');
            additional = extra.len();
        }
        let _ = write!(
            out,
            ",\"{GENERATION_ID}\":{},\"{META}\":{{",
            self.generation_id
        );
        if let Some(id) = self.sync_id {
            let _ = write!(out, "\"sync_id\":{id},");
        }
        out.extend_from_slice(b"\"changes\":[");
        let mut first = true;
        if let Some(Value::Array(src)) = source_changes {
            for c in src {
                if !first {
                    out.push(b',');
                }
                first = false;
                let _ = serde_json::to_writer(&mut *out, c);
            }
        }
        for field in &changes {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(b"{\"field\":");
            write_json_str(out, field);
            let _ = write!(
                out,
                ",\"change\":\"NULLED\",\"reason\":\"{SERIALIZATION_ERROR}\"}}"
            );
        }
        out.extend_from_slice(b"]}}\n");
        Encoded {
            nulled: changes.len(),
            undeclared,
            additional,
            null_key,
        }
    }
}

fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Writes one field cast to `ty`; raw text is copied as is where the column takes it unchanged.
fn write_field(out: &mut Vec<u8>, f: Field<'_>, ty: BqType) -> bool {
    match f {
        Field::Value(v) => write_cast(out, v, ty),
        Field::Raw(r) => {
            let t = r.get();
            match ty {
                BqType::Json => {
                    out.extend_from_slice(t.as_bytes());
                    true
                }
                BqType::String if t.starts_with('"') => {
                    out.extend_from_slice(t.as_bytes());
                    true
                }
                BqType::String => {
                    write_json_str(out, t);
                    true
                }
                // Fast paths for the commonest scalars: no `Value`, no intermediate `String`. Anything they
                // do not recognise takes the general path below, which they match exactly (tested).
                BqType::Int64 if t.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
                    match t.parse::<i64>() {
                        Ok(i) => {
                            out.extend_from_slice(itoa_i64(i, &mut [0u8; 20]));
                            true
                        }
                        Err(_) => write_raw_cast(out, t, ty),
                    }
                }
                BqType::Timestamp => match plain_str(t) {
                    Some(s) if write_utc_timestamp(out, s) => true,
                    Some(s) => match parse_timestamp(s) {
                        Some(ts) => {
                            write_timestamp_micros(out, &ts);
                            true
                        }
                        None => false,
                    },
                    None => write_raw_cast(out, t, ty),
                },
                _ => write_raw_cast(out, t, ty),
            }
        }
    }
}

/// The general path for raw text: parse it as a value, then cast.
fn write_raw_cast(out: &mut Vec<u8>, t: &str, ty: BqType) -> bool {
    match serde_json::from_str::<Value>(t) {
        Ok(v) => write_cast(out, &v, ty),
        Err(_) => false,
    }
}

/// The content of a JSON string literal that holds no escape (so it is its own text); `None` otherwise.
fn plain_str(t: &str) -> Option<&str> {
    let inner = t.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['\\', '"'])).then_some(inner)
}

/// Decimal text of `i` in `buf`.
fn itoa_i64(i: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = i.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        // i64::MIN has 19 digits: there is room for the sign.
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

/// The commonest timestamp shape, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (what Okta sends), written as
/// [`write_timestamp_micros`] writes it, without chrono's general parser: the digits are checked and
/// copied, the fraction cut or padded to microseconds. Anything else, a leap second or a date that does not
/// exist included, answers `false` having written nothing, and takes the general path (tested to agree).
fn write_utc_timestamp(out: &mut Vec<u8>, s: &str) -> bool {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[b.len() - 1] != b'Z'
    {
        return false;
    }
    let frac = &b[19..b.len() - 1];
    let frac = match frac {
        [] => frac,
        [b'.', digits @ ..]
            if (1..=9).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) =>
        {
            digits
        }
        _ => return false,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if year == 0 || day == 0 || day > days || hour > 23 || min > 59 || sec > 59 {
        return false;
    }
    out.push(b'"');
    out.extend_from_slice(&b[..19]);
    out.push(b'.');
    let micros = &frac[..frac.len().min(6)];
    out.extend_from_slice(micros);
    out.extend(std::iter::repeat_n(b'0', 6 - micros.len()));
    out.extend_from_slice(b"Z\"");
    true
}

/// `"YYYY-MM-DDTHH:MM:SS.ffffffZ"` (with the quotes): what `to_rfc3339_opts(Micros, true)` writes for the
/// years a TIMESTAMP takes, without allocating. A leap second goes through chrono.
fn write_timestamp_micros(out: &mut Vec<u8>, ts: &DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let nanos = ts.nanosecond();
    let year = ts.year();
    if nanos >= 1_000_000_000 || !in_range(year) {
        write_json_str(out, &ts.to_rfc3339_opts(SecondsFormat::Micros, true));
        return;
    }
    let digits = |out: &mut Vec<u8>, v: u32, width: u32| {
        for p in (0..width).rev() {
            out.push(b'0' + (v / 10u32.pow(p) % 10) as u8);
        }
    };
    out.push(b'"');
    digits(out, year as u32, 4);
    out.push(b'-');
    digits(out, ts.month(), 2);
    out.push(b'-');
    digits(out, ts.day(), 2);
    out.push(b'T');
    digits(out, ts.hour(), 2);
    out.push(b':');
    digits(out, ts.minute(), 2);
    out.push(b':');
    digits(out, ts.second(), 2);
    out.push(b'.');
    digits(out, nanos / 1000, 6);
    out.extend_from_slice(b"Z\"");
}

/// Writes `v` cast to `ty`; returns false (having written garbage the caller truncates) when it cannot.
fn write_cast(out: &mut Vec<u8>, v: &Value, ty: BqType) -> bool {
    match ty {
        BqType::Json => serde_json::to_writer(&mut *out, v).is_ok(),
        BqType::String => {
            match v {
                Value::String(s) => write_json_str(out, s),
                other => write_json_str(out, &other.to_string()),
            }
            true
        }
        BqType::Int64 => match cast_int(v) {
            Some(i) => {
                let _ = write!(out, "{i}");
                true
            }
            None => false,
        },
        BqType::Float64 => match cast_f64(v) {
            Some(f) => {
                let _ = write!(out, "{f}");
                true
            }
            None => false,
        },
        BqType::Numeric => match cast_numeric(v) {
            Some(s) => {
                write_json_str(out, &s);
                true
            }
            None => false,
        },
        BqType::Bool => match v {
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
                true
            }
            Value::String(s)
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                let _ = write!(out, "{}", s.eq_ignore_ascii_case("true"));
                true
            }
            _ => false,
        },
        BqType::Timestamp => match v.as_str().and_then(parse_timestamp) {
            Some(ts) => {
                write_json_str(out, &ts.to_rfc3339_opts(SecondsFormat::Micros, true));
                true
            }
            None => false,
        },
        BqType::Datetime => match v.as_str().and_then(parse_datetime) {
            Some(dt) => {
                write_json_str(out, &dt.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
                true
            }
            None => false,
        },
        BqType::Time => match v.as_str().and_then(parse_time) {
            Some(t) => {
                write_json_str(out, &t.format("%H:%M:%S%.6f").to_string());
                true
            }
            None => false,
        },
        BqType::Date => match v.as_str().and_then(parse_date) {
            Some(d) => {
                write_json_str(out, &d.format("%Y-%m-%d").to_string());
                true
            }
            None => false,
        },
    }
}

pub fn cast_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn cast_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// NUMERIC holds 29 integer digits and 9 decimals; more decimals are rounded, a larger value is refused.
fn cast_numeric(v: &Value) -> Option<String> {
    if let Value::Number(n) = v {
        if n.is_i64() || n.is_u64() {
            return Some(n.to_string());
        }
    }
    let f = cast_f64(v)?;
    if f.abs() >= 1e29 {
        return None;
    }
    let s = format!("{f:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    Some(if s.is_empty() || s == "-" || s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    })
}

fn in_range(year: i32) -> bool {
    (1..=9999).contains(&year)
}

/// Parses the timestamp shapes sources send: RFC 3339, a space instead of `T`, no offset (taken as UTC),
/// or a bare date (midnight UTC).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    let s = s.trim();
    let ts = DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
                .ok()
                .map(|d| d.with_timezone(&Utc))
        })
        .or_else(|| {
            DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%#z")
                .ok()
                .map(|d| d.with_timezone(&Utc))
        })
        .or_else(|| parse_naive(s).map(|n| n.and_utc()))
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        })?;
    in_range(ts.year()).then_some(ts)
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
}

/// A wall-clock date-time: an offset, when present, is dropped (the local reading is kept).
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    use chrono::Datelike;
    let s = s.trim();
    let dt = parse_naive(s)
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.naive_local())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    in_range(dt.year()).then_some(dt)
}

/// A wall-clock time: `HH:MM`, `HH:MM:SS` or with fractions.
pub fn parse_time(s: &str) -> Option<chrono::NaiveTime> {
    let s = s.trim();
    chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    use chrono::Datelike;
    let s = s.trim();
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .or_else(|| parse_timestamp(s).map(|t| t.date_naive()))?;
    in_range(d.year()).then_some(d)
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_timestamp_fast_path_writes_what_the_general_path_writes() {
        let mut cases: Vec<String> = [
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.1Z",
            "2024-01-02T03:04:05.000Z",
            "2024-01-02T03:04:05.123456Z",
            "2024-01-02T03:04:05.123456789Z",
            "2024-01-02T03:04:05.1234567891Z",
            "2024-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2000-02-29T23:59:59.999Z",
            "2024-04-31T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999Z",
            "2024-01-02T24:00:00Z",
            "2024-01-02T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "2024-01-02T03:04:05.Z",
            "2024-01-02T03:04:05,1Z",
            "2024-01-02t03:04:05Z",
            "2024-01-02T03:04:05z",
            "2024-01-02 03:04:05Z",
            "2024-01-02T03:04:05+00:00",
            "2024-01-02T03:04:05.5-07:00",
            "2024-1-02T03:04:05Z",
            "+2024-01-02T03:04:05Z",
            "2024-01-02T03:04:5Z",
            "2024-01-02",
            "Z",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for i in 0..400u32 {
            cases.push(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{}Z",
                1 + i * 37 % 9999,
                i % 14,
                i % 33,
                i % 25,
                i % 61,
                i % 62,
                &"123456789"[..(i % 10) as usize]
            ));
        }
        let mut taken = 0;
        for s in &cases {
            let mut fast = Vec::new();
            let took = write_utc_timestamp(&mut fast, s);
            taken += usize::from(took);
            let mut general = Vec::new();
            let ok = match parse_timestamp(s) {
                Some(ts) => {
                    write_timestamp_micros(&mut general, &ts);
                    true
                }
                None => false,
            };
            if took {
                assert!(ok, "{s}: the fast path took what the general path refuses");
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    String::from_utf8(general).unwrap(),
                    "{s}"
                );
            } else {
                assert!(fast.is_empty(), "{s}: wrote before refusing");
            }
        }
        assert!(write_utc_timestamp(
            &mut Vec::new(),
            "2024-01-02T03:04:05.000Z"
        ));
        assert!(taken > 100, "the fast path took only {taken} cases");
    }
    use super::*;
    use serde_json::json;

    fn schema() -> TableSchema {
        TableSchema::from_json_schema(
            &json!({"properties": {
                "id": {"type": "string"},
                "n": {"type": ["null", "integer"]},
                "amount": {"type": "number"},
                "ok": {"type": "boolean"},
                "created": {"type": "string", "format": "date-time"},
                "day": {"type": "string", "format": "date"},
                "profile": {"type": "object"},
                "tags": {"type": "array"}
            }}),
            &[vec!["id".into()]],
            &[],
        )
    }

    fn encode(data: Value, changes: Option<Value>) -> (Value, Encoded) {
        let mut enc = Encoder::new(&schema(), 3, Some(7));
        let mut out = Vec::new();
        let e = enc.encode(
            data.as_object().unwrap(),
            1_704_164_645_123,
            changes.as_ref(),
            &mut out,
        );
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        (serde_json::from_slice(&out).unwrap(), e)
    }

    #[test]
    fn encodes_typed_values() {
        let (row, e) = encode(
            json!({"id": "u1", "n": 5, "amount": 1.25, "ok": true, "created": "2024-01-02T03:04:05.000-02:00",
                "day": "2024-01-02", "profile": {"a": [1, {"b": null}]}, "tags": ["x"], "unknown": 1}),
            None,
        );
        assert_eq!(e.nulled, 0);
        assert_eq!(row["id"], "u1");
        assert_eq!(row["n"], 5);
        assert_eq!(row["amount"], "1.25");
        assert_eq!(row["ok"], true);
        assert_eq!(row["created"], "2024-01-02T05:04:05.000000Z");
        assert_eq!(row["day"], "2024-01-02");
        assert_eq!(row["profile"], json!({"a": [1, {"b": null}]}));
        assert_eq!(row["tags"], json!(["x"]));
        assert!(row.get("unknown").is_none());
        assert!(e.undeclared);
        assert_eq!(row[EXTRACTED_AT], "2024-01-02T03:04:05.123Z");
        assert_eq!(row[GENERATION_ID], 3);
        assert_eq!(row[META], json!({"sync_id": 7, "changes": []}));
        assert_eq!(row[RAW_ID].as_str().unwrap().len(), 36);
    }

    #[test]
    fn nulls_and_missing_fields_are_omitted() {
        let (row, e) = encode(json!({"id": "u2", "n": null}), None);
        assert_eq!(e.nulled, 0);
        assert!(!e.undeclared);
        assert!(row.get("n").is_none());
        assert!(row.get("profile").is_none());
    }

    #[test]
    fn failed_casts_are_nulled_and_recorded() {
        let src = json!([{"field": "x", "change": "TRUNCATED", "reason": "SOURCE_FIELD_SIZE_LIMITATION"}]);
        let (row, e) = encode(
            json!({"id": 17, "n": "twelve", "amount": 1e40, "ok": "maybe", "created": "yesterday", "day": "0000-01-01"}),
            Some(src.clone()),
        );
        assert_eq!(e.nulled, 5);
        assert_eq!(
            row["id"], "17",
            "scalars are stringified into STRING columns"
        );
        for c in ["n", "amount", "ok", "created", "day"] {
            assert!(row.get(c).is_none(), "{c} must be nulled");
        }
        let changes = row[META]["changes"].as_array().unwrap();
        assert_eq!(changes[0], src[0]);
        assert_eq!(changes.len(), 6);
        assert_eq!(
            changes[1],
            json!({"field": "n", "change": "NULLED", "reason": SERIALIZATION_ERROR})
        );
    }

    #[test]
    fn raw_fields_encode_like_parsed_values() {
        let data = json!({"id": "u\"1", "n": "12", "amount": 2, "ok": false, "created": "2024-01-02T03:04:05Z",
            "day": "2024-01-02", "profile": {"a": [1, {"b": "é\n"}]}, "tags": [], "extra": null, "bad": 1});
        let text = data.to_string();
        let raw: Box<RawValue> = serde_json::from_str(&text).unwrap();
        let rec = RawRecord::parse(&raw).unwrap();
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut enc = Encoder::new(&schema(), 0, None);
        let ea = enc.encode(data.as_object().unwrap(), 5, None, &mut a);
        let eb = enc.encode(&rec, 5, None, &mut b);
        assert_eq!(ea, eb);
        let mut va: Value = serde_json::from_slice(&a).unwrap();
        let mut vb: Value = serde_json::from_slice(&b).unwrap();
        va[RAW_ID] = Value::Null;
        vb[RAW_ID] = Value::Null;
        assert_eq!(va, vb);
        assert!(RawRecord::parse(&serde_json::from_str::<Box<RawValue>>("[1]").unwrap()).is_none());
    }

    #[test]
    fn raw_fast_paths_write_what_the_general_path_writes() {
        let cases = [
            (BqType::Int64, r#"0"#),
            (BqType::Int64, r#"-0"#),
            (BqType::Int64, r#"42"#),
            (BqType::Int64, r#"-9223372036854775808"#),
            (BqType::Int64, r#"9223372036854775807"#),
            (BqType::Int64, r#"99999999999999999999"#),
            (BqType::Int64, r#"-99999999999999999999"#),
            (BqType::Int64, r#"1.0"#),
            (BqType::Int64, r#"1e3"#),
            (BqType::Int64, r#""17""#),
            (
                BqType::Timestamp,
                r#""2024-01-02T03:04:05.123456789+02:00""#,
            ),
            (BqType::Timestamp, r#""2024-01-02T03:04:05Z""#),
            (BqType::Timestamp, r#""0001-01-01T00:00:00Z""#),
            (BqType::Timestamp, r#""9999-12-31T23:59:59.999999Z""#),
            (BqType::Timestamp, r#""2016-12-31T23:59:60.5Z""#),
            (BqType::Timestamp, r#""2024-01-02 03:04:05""#),
            (BqType::Timestamp, r#""2024-01-02""#),
            (BqType::Timestamp, r#""\u0032024-01-02T03:04:05Z""#),
            (BqType::Timestamp, r#""yesterday""#),
            (BqType::Timestamp, r#"12"#),
            (BqType::Timestamp, r#"null"#),
        ];
        for (ty, text) in cases {
            let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            let a = write_field(&mut fast, Field::Raw(&raw), ty);
            let b = write_cast(&mut general, &value, ty);
            assert_eq!(a, b, "{ty:?} {text}");
            if a {
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    String::from_utf8(general).unwrap(),
                    "{ty:?} {text}"
                );
            }
        }
    }

    #[test]
    fn raw_records_keep_the_last_of_repeated_names_and_unescape_names() {
        let raw: Box<RawValue> =
            serde_json::from_str(r#"{"b": 1, "a\u0062": 2, "b": 3, "a": null}"#).unwrap();
        let rec = RawRecord::parse(&raw).unwrap();
        assert_eq!(rec.field_count(), 3);
        assert_eq!(rec.field_names(), vec!["a", "ab", "b"]);
        assert!(matches!(rec.field("b"), Some(Field::Raw(r)) if r.get() == "3"));
        assert!(matches!(rec.field("ab"), Some(Field::Raw(r)) if r.get() == "2"));
        assert!(rec.field("a").is_some_and(|f| f.is_null()));
        assert!(rec.field("c").is_none());
    }

    #[test]
    fn casts_lenient_but_exact() {
        assert_eq!(cast_int(&json!(3.0)), Some(3));
        assert_eq!(cast_int(&json!("42")), Some(42));
        assert_eq!(cast_int(&json!(3.5)), None);
        assert_eq!(cast_int(&json!(u64::MAX)), None);
        assert_eq!(
            cast_numeric(&json!(0.1234567891234)),
            Some("0.123456789".into())
        );
        assert_eq!(cast_numeric(&json!(-0.0000000001)), Some("0".into()));
        assert_eq!(
            parse_timestamp("2024-01-02 03:04:05").unwrap().to_rfc3339(),
            "2024-01-02T03:04:05+00:00"
        );
        assert_eq!(
            parse_timestamp("2024-01-02").unwrap().to_rfc3339(),
            "2024-01-02T00:00:00+00:00"
        );
        assert!(parse_timestamp("10000-01-01T00:00:00Z").is_none());
        assert_eq!(
            parse_date("2024-01-02T23:00:00Z"),
            NaiveDate::from_ymd_opt(2024, 1, 2)
        );
    }
}
