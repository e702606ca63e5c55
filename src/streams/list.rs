//! Full-refresh readers: whole lists and singletons (optionally one per `type`), fan-out lists read once
//! per parent key, and lists whose items are read again by id.

use crate::error::{Error, Result};
use crate::http::client::OktaClient;
use crate::okta::page::{Extract, Items, Page, Pager};
use crate::output::Row;
use crate::streams::context::{Ctx, Handoff, StreamRun};
use crate::streams::{Derive, IdFrom, Parent, ParentKey};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// The fields of a raw record the connector itself needs; everything else is skipped unparsed.
#[derive(Deserialize)]
pub struct Probe<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
}

fn not_an_object(raw: &str, e: &dyn std::fmt::Display) -> Error {
    Error::Api {
        path: String::new(),
        message: format!("a record is not a JSON object: {e}"),
        internal: raw.chars().take(200).collect(),
    }
}

/// Why a record's probe failed, in words a user can act on: the stream, the field of the wrong type (or
/// missing), and the record's key. `fields` are the string fields the probe reads, `key` first; the
/// record itself is never printed (it is customer data), only in the internal message's first bytes.
pub fn bad_record(stream: &str, path: &str, raw: &str, key: &str, fields: &[&str]) -> Error {
    let internal = raw.chars().take(200).collect();
    let Ok(v) = serde_json::from_str::<Map<String, Value>>(raw) else {
        return Error::Api {
            path: path.into(),
            message: format!("stream {stream}: a record is not a JSON object"),
            internal,
        };
    };
    let who = match v.get(key) {
        Some(Value::String(k)) => format!("the record with {key} {k:?}"),
        _ => "a record".to_string(),
    };
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let problem = fields.iter().find_map(|f| match v.get(*f) {
        None if *f == key => Some(format!("has no `{f}`")),
        Some(Value::Null) if *f == key => Some(format!("has a null `{f}`")),
        Some(x) if !x.is_string() && !x.is_null() => Some(format!(
            "has `{f}` of the wrong type ({}, expected a string)",
            kind(x)
        )),
        _ => None,
    });
    Error::Api {
        path: path.into(),
        message: format!(
            "stream {stream}: {who} {}",
            problem.unwrap_or_else(|| "cannot be read".into())
        ),
        internal,
    }
}

/// The `id` of a raw record.
pub fn id_of(raw: &str) -> Result<String> {
    let p: Probe<'_> = serde_json::from_str(raw).map_err(|e| not_an_object(raw, &e))?;
    p.id.map(Cow::into_owned).ok_or_else(|| Error::Api {
        path: String::new(),
        message: "a record has no id".into(),
        internal: raw.chars().take(200).collect(),
    })
}

/// A parent's key (a top-level string field, or the schema id at the end of `_links.schema.href`) and
/// its kind (the string field `kind`, when the parent declares one).
fn key_of(raw: &str, id: IdFrom, kind: Option<&str>) -> Result<(Option<String>, Option<String>)> {
    let v: Map<String, Value> = serde_json::from_str(raw).map_err(|e| not_an_object(raw, &e))?;
    let key = match id {
        IdFrom::Field(f) => v.get(f).and_then(Value::as_str).map(str::to_string),
        IdFrom::SchemaLink => v
            .get("_links")
            .and_then(|l| l.get("schema"))
            .and_then(|s| s.get("href"))
            .and_then(Value::as_str)
            .and_then(|h| h.trim_end_matches('/').rsplit('/').next())
            .map(str::to_string),
        IdFrom::Nested(object, field) => v
            .get(object)
            .and_then(|o| o.get(field))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let kind = kind.and_then(|k| v.get(k)).and_then(Value::as_str);
    Ok((key, kind.map(str::to_string)))
}

/// `"column":"value"`, JSON-escaped, for splicing into a record.
pub fn column(name: &str, value: &str) -> String {
    format!(
        "{}:{}",
        serde_json::to_string(name).unwrap_or_default(),
        serde_json::to_string(value).unwrap_or_default()
    )
}

pub use crate::http::url::encode_segment;

/// Emits one page of a stream, adding `prefix` columns, the stream's constant column and derived columns
/// (under `Derive::StringAs`, each bare string item becomes the record `{column: item}` first).
pub fn emit_page(run: &mut StreamRun<'_>, items: &Items, prefix: Option<&str>) -> Result<()> {
    let mut prefix = prefix.map(str::to_string);
    if let Some(stamp) = &run.stamp {
        let c = column(crate::streams::delta::UPDATED_AT, stamp);
        prefix = Some(match prefix {
            Some(p) => format!("{p},{c}"),
            None => c,
        });
    }
    if let Some((k, v)) = run.def.constant {
        let c = column(k, v);
        prefix = Some(match prefix {
            Some(p) => format!("{p},{c}"),
            None => c,
        });
    }
    if run.def.derive == Derive::None && run.def.omit.is_empty() {
        return run.emit(items.iter().map(|r| Row {
            raw: r.get(),
            prefix: prefix.as_deref(),
        }));
    }
    let mut derived = Vec::with_capacity(items.len());
    if let Derive::StringAs(col) = run.def.derive {
        for raw in items {
            derived.push(string_record(run.def.name, col, raw.get())?);
        }
        return run.emit(derived.iter().map(|d| Row {
            raw: d,
            prefix: prefix.as_deref(),
        }));
    }
    for raw in items {
        let mut v: Map<String, Value> =
            serde_json::from_str(raw.get()).map_err(|e| not_an_object(raw.get(), &e))?;
        // Secret material the stream leaves out never reaches the output.
        for field in run.def.omit {
            v.remove(*field);
        }
        let (col, source, value) = match run.def.derive {
            Derive::None => {
                derived.push(serde_json::to_string(&v).map_err(|source| Error::Json {
                    what: "encoding a record without its omitted fields",
                    source,
                })?);
                continue;
            }
            Derive::UserIdFromUser => (
                "user_id",
                "user.id",
                v.get("user").and_then(|u| u.get("id")).cloned(),
            ),
            Derive::PrimaryName => (
                "primary_name",
                "primary.name",
                v.get("primary").and_then(|p| p.get("name")).cloned(),
            ),
            Derive::NotificationType => (
                "notification_type",
                "notificationType",
                v.get("notificationType").cloned(),
            ),
            // Handled above: its items are strings, not objects.
            Derive::StringAs(_) => continue,
            Derive::TargetId => (
                "target_id",
                "id (or name)",
                v.get("id")
                    .filter(|i| i.is_string())
                    .or_else(|| v.get("name"))
                    .cloned(),
            ),
            Derive::SelfLinkId(col) => (
                col,
                "_links.self.href",
                self_link_id(&v).map(|id| Value::String(id.to_string())),
            ),
        };
        // A row without its key cannot be written, and skipping it would end the stream COMPLETE
        // without it: an unexpected answer, an error.
        let Some(value) = value.filter(Value::is_string) else {
            return Err(Error::Api {
                path: String::new(),
                message: format!(
                    "stream {}: a record lacks `{source}`, which its key column `{col}` comes from",
                    run.def.name
                ),
                internal: raw.get().chars().take(200).collect(),
            });
        };
        v.insert(col.to_string(), value);
        derived.push(serde_json::to_string(&v).map_err(|source| Error::Json {
            what: "encoding a record with derived columns",
            source,
        })?);
    }
    run.emit(derived.iter().map(|d| Row {
        raw: d,
        prefix: prefix.as_deref(),
    }))
}

/// The last path segment of a record's `_links.self.href` (a linked object value's user id).
fn self_link_id(v: &Map<String, Value>) -> Option<&str> {
    v.get("_links")?
        .get("self")?
        .get("href")?
        .as_str()?
        .split(['?', '#'])
        .next()?
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
}

/// The record `{"column":"item"}` a bare string item becomes (`Derive::StringAs`). An item that is no
/// string is an unexpected answer, an error: skipping it would end the stream COMPLETE without a row.
pub fn string_record(stream: &str, col: &str, raw: &str) -> Result<String> {
    let unexpected = |what: String| Error::Api {
        path: String::new(),
        message: format!("stream {stream}: {what}"),
        internal: raw.chars().take(200).collect(),
    };
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::String(s)) => Ok(format!("{{{}}}", column(col, &s))),
        Ok(_) => Err(unexpected(
            "an item of the list is not the string (an id) Okta documents".into(),
        )),
        Err(e) => Err(unexpected(format!(
            "an item of the list is not valid JSON: {e}"
        ))),
    }
}

/// Every page of a list; a 404 for a child list means its parent disappeared: no pages.
async fn pages(
    client: &OktaClient,
    path: &str,
    extract: Extract,
    mut each: impl FnMut(Page) -> Result<()>,
) -> Result<()> {
    let mut pager = Pager::new(client.url(path)?, extract);
    while let Some(page) = pager.next_page(client).await? {
        each(page)?;
    }
    Ok(())
}

/// Reads a list or singleton; with `types` (and the keys of `more_types`, a parent list), one list per
/// type, skipping types the org lacks.
pub async fn read_list(
    run: &mut StreamRun<'_>,
    path: &str,
    extract: Extract,
    types: &[&str],
    more_types: Option<Parent>,
    type_column: Option<&str>,
) -> Result<()> {
    let client = run.ctx.client_for(run.def.api)?;
    let path = run.ctx.expand(run.def.api, path);
    let mut handoff = HandoffKeys::new(run);
    if types.is_empty() && more_types.is_none() {
        pages(client, &path, extract, |page| {
            emit_page(run, &page.items, None)?;
            handoff.collect(&[], &page.items);
            Ok(())
        })
        .await?;
        handoff.hand_over();
        return run.finish_full_refresh();
    }
    let mut all: Vec<String> = types.iter().map(|t| (*t).to_string()).collect();
    if let Some(parent) = more_types {
        all.extend(
            parent_keys(run.ctx, parent)
                .await?
                .iter()
                .map(|k| k.last().to_string()),
        );
    }
    // A type the org does not have is skipped; a type the credentials may not read makes the stream
    // incomplete (its records are still emitted), never silently complete.
    let mut readable = 0;
    let mut denied: Vec<(&str, Error)> = Vec::new();
    for t in &all {
        let prefix = type_column.map(|c| column(c, t));
        let p = path.replace("{type}", &encode_segment(t));
        match pages(client, &p, extract, |page| {
            emit_page(run, &page.items, prefix.as_deref())?;
            handoff.collect(&[], &page.items);
            Ok(())
        })
        .await
        {
            Ok(()) => readable += 1,
            Err(e) if e.is_absent() => {
                tracing::info!(stream = run.def.name, r#type = t.as_str(), error = %e, "this type is not available in the org; skipping it");
            }
            Err(e) if e.is_stream_unavailable() => {
                tracing::warn!(stream = run.def.name, r#type = t.as_str(), error = %e, "the credentials may not read this type; the stream will be incomplete");
                denied.push((t.as_str(), e));
            }
            Err(e) => return Err(e),
        }
    }
    if denied.is_empty() {
        handoff.hand_over();
        return run.finish_full_refresh();
    }
    let names: Vec<&str> = denied.iter().map(|(t, _)| *t).collect();
    let (_, first) = denied.swap_remove(0);
    if readable == 0 {
        return Err(first);
    }
    Err(Error::Partial(format!(
        "types {} could not be read: {first}",
        names.join(", ")
    )))
}

/// Reads one list per parent key (per key and variant), adding the chain of keys to the stream's key
/// columns. A parent deleted between the listing and its read (404) is skipped with a warning; any other
/// failure of the parent list or of a child list ends the stream incomplete. When the stream is itself a
/// parent that a selected child waits for, its keys are handed over once every parent was read.
pub async fn read_fan_out(
    run: &mut StreamRun<'_>,
    parent: Parent,
    path: &str,
    extract: Extract,
) -> Result<()> {
    let keys = parent_keys(run.ctx, parent).await?;
    let mut handoff = HandoffKeys::new(run);
    fan_out_over(
        run,
        parent.name,
        &keys,
        path,
        extract,
        &mut handoff,
        |_, _| Ok(()),
    )
    .await?;
    handoff.hand_over();
    run.finish_full_refresh()
}

/// One request a fan-out makes per parent key: the path (its key placeholders still in), the constant
/// column its rows get (a variant's `"type_column":"value"`), and the parent kinds it is made for
/// (empty: every parent).
pub struct Read {
    path: String,
    constant: Option<String>,
    kinds: &'static [&'static str],
}

impl Read {
    fn for_key(&self, key: &ParentKey) -> bool {
        self.kinds.is_empty() || key.kind.as_deref().is_some_and(|k| self.kinds.contains(&k))
    }
}

/// The requests of a fan-out stream per parent key: its variants', or `path` once per `{type}` value
/// (`types`, a cross product), or `path` alone.
fn reads_of(run: &StreamRun<'_>, path: &str, types: &[String]) -> Vec<Read> {
    let def = run.def;
    if !def.variants.is_empty() {
        return def
            .variants
            .iter()
            .map(|v| Read {
                path: run.ctx.expand(def.api, v.endpoint),
                constant: def.type_column.map(|c| column(c, v.value)),
                kinds: v.kinds,
            })
            .collect();
    }
    let path = run.ctx.expand(def.api, path);
    if !path.contains("{type}") {
        return vec![Read {
            path,
            constant: None,
            kinds: &[],
        }];
    }
    types
        .iter()
        .map(|t| Read {
            path: path.replace("{type}", &encode_segment(t)),
            constant: def.type_column.map(|c| column(c, t)),
            kinds: &[],
        })
        .collect()
}

/// The `{type}` values a fan-out reads for every parent: its `types`, then the keys of `more_types`
/// (the relationship names of the org's linked object definitions).
async fn fan_out_types(run: &StreamRun<'_>) -> Result<Vec<String>> {
    use crate::streams::Catalogued;
    let mut all: Vec<String> = run.def.types.iter().map(|t| (*t).to_string()).collect();
    if let Some(more) = run.def.more_types_list() {
        let keys = parent_keys(run.ctx, more).await?;
        all.extend(keys.iter().map(|k| k.last().to_string()));
    }
    Ok(all)
}

/// `path` with its key placeholders (every `{name}` but `{type}` and `{team}`) filled with `ids` in
/// order, each encoded as one path segment.
pub fn fill(path: &str, ids: &[String]) -> String {
    let mut out = String::with_capacity(path.len() + 32);
    let mut ids = ids.iter();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(len) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        let placeholder = &rest[open..=open + len];
        match (placeholder, ids.next()) {
            ("{type}" | "{team}", _) | (_, None) => out.push_str(placeholder),
            (_, Some(id)) => out.push_str(&encode_segment(id)),
        }
        rest = &rest[open + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Reads the children of `keys` in order, calling `done` after each parent's last page.
pub async fn fan_out_over(
    run: &mut StreamRun<'_>,
    parent_name: &str,
    keys: &[ParentKey],
    path: &str,
    extract: Extract,
    handoff: &mut HandoffKeys<'_>,
    mut done: impl FnMut(&mut StreamRun<'_>, &ParentKey) -> Result<()>,
) -> Result<()> {
    let ctx = run.ctx;
    let types = fan_out_types(run).await?;
    let reads = reads_of(run, path, &types);
    let cols = run.def.key_columns();
    let (api, name) = (run.def.api, run.def.name);
    let prefix = |key: &ParentKey, read: &Read| -> Option<String> {
        let parts: Vec<String> = cols
            .iter()
            .zip(&key.ids)
            .filter_map(|(c, id)| c.map(|c| column(c, id)))
            .chain(read.constant.clone())
            .collect();
        (!parts.is_empty()).then(|| parts.join(","))
    };
    let fan = FanOut {
        ctx,
        api,
        stream: name,
        parent: parent_name,
        extract,
    };
    fan.run(keys, &reads, |seen| match seen {
        Seen::Page(key, read, items) => {
            emit_page(run, items, prefix(key, read).as_deref())?;
            handoff.collect(&key.ids, items);
            Ok(())
        }
        Seen::Done(key) => done(run, key),
    })
    .await
}

/// What a fan-out sees, in parent order: a page of one parent's list, then that parent done.
enum Seen<'a> {
    Page(&'a ParentKey, &'a Read, &'a Items),
    Done(&'a ParentKey),
}

/// One fan-out: the lists of many parents, read with prefetching.
struct FanOut<'a> {
    ctx: &'a Arc<Ctx>,
    api: crate::streams::Api,
    /// The stream read (for logs).
    stream: &'a str,
    /// The parent stream (for logs).
    parent: &'a str,
    extract: Extract,
}

impl FanOut<'_> {
    /// Reads each key's lists (its `reads` its kind allows), in key order; a parent gone (404) is skipped.
    async fn run(
        &self,
        keys: &[ParentKey],
        reads: &[Read],
        mut seen: impl FnMut(Seen<'_>) -> Result<()>,
    ) -> Result<()> {
        let (ctx, api, extract) = (self.ctx, self.api, self.extract);
        let client = ctx.client_for(api)?;
        // Every (key, read) request in order; a key none of whose reads applies still counts as done.
        let mut jobs: Vec<(usize, Option<usize>)> = Vec::with_capacity(keys.len());
        for (k, key) in keys.iter().enumerate() {
            let before = jobs.len();
            jobs.extend(
                reads
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.for_key(key))
                    .map(|(r, _)| (k, Some(r))),
            );
            if jobs.len() == before {
                jobs.push((k, None));
            }
        }
        // The first pages of the next few requests are fetched concurrently (most child lists are one
        // page); records are still emitted parent by parent, in order. Memory stays bounded by one page
        // per prefetched request; longer child lists continue page by page. Prefetches run as tasks of
        // their own, so they progress (and keep their place in the rate-limit window) while the head
        // parent's further pages are read.
        let prefetch = ctx.settings.max_concurrency.max(1);
        let spawn = |(k, r): (usize, Option<usize>)| -> Result<Option<tokio::task::JoinHandle<Result<Page>>>> {
            let Some(r) = r else { return Ok(None) };
            let url = client.url(&fill(&reads[r].path, &keys[k].ids))?;
            let ctx = Arc::clone(ctx);
            Ok(Some(tokio::spawn(async move {
                crate::okta::page::fetch(ctx.client_for(api)?, &url, extract).await
            })))
        };
        let mut pending = jobs.iter().copied();
        let mut firsts = Prefetched(std::collections::VecDeque::new());
        for job in pending.by_ref().take(prefetch) {
            firsts.0.push_back(spawn(job)?);
        }
        let mut in_order = jobs.iter().copied().peekable();
        while let Some(handle) = firsts.0.pop_front() {
            let Some((k, r)) = in_order.next() else {
                break;
            };
            if let Some(job) = pending.next() {
                firsts.0.push_back(spawn(job)?);
            }
            let key = &keys[k];
            if let (Some(handle), Some(r)) = (handle, r) {
                let read = &reads[r];
                let first = handle.await.unwrap_or_else(|source| {
                    Err(Error::TaskFailed {
                        what: "a prefetch task",
                        source,
                    })
                });
                match first {
                    Ok(first) => {
                        seen(Seen::Page(key, read, &first.items))?;
                        let mut pager = Pager::after(&first, extract)?;
                        drop(first);
                        loop {
                            match pager.next_page(client).await {
                                Ok(Some(page)) => seen(Seen::Page(key, read, &page.items))?,
                                Ok(None) => break,
                                Err(Error::NotFound { .. }) => break,
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    Err(Error::NotFound { .. }) => {
                        tracing::warn!(
                            stream = self.stream,
                            parent = self.parent,
                            key = key.ids.join("/"),
                            "parent no longer exists; skipping it"
                        );
                    }
                    Err(e) => return Err(e),
                }
            }
            if in_order.peek().is_none_or(|(next, _)| *next != k) {
                seen(Seen::Done(key))?;
            }
        }
        Ok(())
    }
}

/// First pages being fetched ahead; aborted if the stream stops early.
struct Prefetched(std::collections::VecDeque<Option<tokio::task::JoinHandle<Result<Page>>>>);

impl Drop for Prefetched {
    fn drop(&mut self) {
        for h in self.0.iter().flatten() {
            h.abort();
        }
    }
}

/// Reads a list, then each item again by id for its full form.
pub async fn read_list_then_detail(
    run: &mut StreamRun<'_>,
    path: &str,
    detail: &str,
) -> Result<()> {
    let client = run.ctx.client_for(run.def.api)?;
    let mut ids = Vec::new();
    pages(client, path, Extract::Array, |page| {
        for raw in &page.items {
            ids.push(id_of(raw.get())?);
        }
        Ok(())
    })
    .await?;
    for id in ids {
        let url = client.url(&detail.replace("{id}", &encode_segment(&id)))?;
        match crate::okta::page::fetch(client, &url, Extract::Object).await {
            Ok(page) => emit_page(run, &page.items, None)?,
            Err(Error::NotFound { .. }) => tracing::warn!(
                stream = run.def.name,
                id = id.as_str(),
                "item no longer exists; skipping it"
            ),
            Err(e) => return Err(e),
        }
    }
    run.finish_full_refresh()
}

/// The keys a stream's own read collects for the children waiting on it ([`Handoff`]): each record's key
/// after the chain of keys it was read under. Dropped before [`HandoffKeys::hand_over`] (an error, a
/// denied type, a record without its key, a read of only some parents), it tells the children to list
/// the parents themselves.
pub struct HandoffKeys<'c> {
    to: Option<&'c tokio::sync::watch::Sender<Handoff>>,
    id: IdFrom,
    kind: Option<&'static str>,
    keys: Vec<ParentKey>,
}

impl<'c> HandoffKeys<'c> {
    /// Collects for the children of `run`'s stream, when some wait for it.
    pub fn new(run: &StreamRun<'c>) -> Self {
        Self {
            to: run.ctx.handoff(run.def.name),
            id: run.def.key_from,
            kind: run.def.kind_from,
            keys: Vec::new(),
        }
    }

    /// Collects nothing (a read of only some parents).
    pub fn none() -> Self {
        Self {
            to: None,
            id: IdFrom::Field("id"),
            kind: None,
            keys: Vec::new(),
        }
    }

    fn collect(&mut self, chain: &[String], items: &Items) {
        if self.to.is_none() {
            return;
        }
        for raw in items {
            match key_of(raw.get(), self.id, self.kind) {
                Ok((Some(k), kind)) => {
                    let mut ids = Vec::with_capacity(chain.len() + 1);
                    ids.extend_from_slice(chain);
                    ids.push(k);
                    self.keys.push(ParentKey { ids, kind });
                }
                _ => {
                    self.fail();
                    return;
                }
            }
        }
    }

    fn fail(&mut self) {
        if let Some(to) = self.to.take() {
            to.send_replace(Handoff::Failed);
        }
    }

    /// Hands the keys to the waiting children.
    pub fn hand_over(mut self) {
        if let Some(to) = self.to.take() {
            to.send_replace(Handoff::Ready(Arc::new(std::mem::take(&mut self.keys))));
        }
    }
}

impl Drop for HandoffKeys<'_> {
    fn drop(&mut self) {
        self.fail();
    }
}

/// The keys of a parent list, listed once per sync and shared by every child stream. When the parent
/// stream itself is selected, its own read hands them over instead. A parent that is itself a fan-out
/// is listed by fanning out over its own parent's keys: its keys are chains (the user's id, then the
/// role assignment's).
pub fn parent_keys(
    ctx: &Arc<Ctx>,
    parent: Parent,
) -> futures_util::future::BoxFuture<'_, Result<Arc<Vec<ParentKey>>>> {
    Box::pin(async move {
        let cell = ctx.parent_cell(parent);
        if let Some(from) = ctx.handoff(parent.name) {
            let mut rx = from.subscribe();
            loop {
                let now = rx.borrow_and_update().clone();
                match now {
                    Handoff::Ready(keys) => {
                        tracing::info!(
                            parent = parent.name,
                            count = keys.len(),
                            "parents handed over by the parent stream"
                        );
                        return Ok(cell.get_or_init(|| async { keys }).await.clone());
                    }
                    Handoff::Failed => break,
                    Handoff::Pending => {
                        if rx.changed().await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        cell.get_or_try_init(|| async {
            let keys = match parent.over {
                Some(over) => list_nested(ctx, parent, over).await?,
                None => list_parents(ctx, parent).await?,
            };
            tracing::info!(parent = parent.name, count = keys.len(), "listed parents");
            Ok(Arc::new(keys))
        })
        .await
        .cloned()
    })
}

/// The field a parent's key comes from, for errors.
fn key_field(id: IdFrom) -> String {
    match id {
        IdFrom::Field(f) => f.to_string(),
        IdFrom::SchemaLink => "_links.schema.href".to_string(),
        IdFrom::Nested(object, field) => format!("{object}.{field}"),
    }
}

/// The keys of a top-level parent list (once per `type` when it has types).
async fn list_parents(ctx: &Arc<Ctx>, parent: Parent) -> Result<Vec<ParentKey>> {
    let client = ctx.client_for(parent.api)?;
    let path = ctx.expand(parent.api, parent.path);
    let mut keys = Vec::new();
    let types: Vec<Option<&str>> = if parent.types.is_empty() {
        vec![None]
    } else {
        parent.types.iter().map(|t| Some(*t)).collect()
    };
    for t in types {
        let p = match t {
            Some(t) => path.replace("{type}", &encode_segment(t)),
            None => path.clone(),
        };
        let result = pages(client, &p, parent.extract, |page| {
            for raw in &page.items {
                // A parent without its key is never skipped silently: its children would be missing.
                match key_of(raw.get(), parent.id, parent.kind)? {
                    (Some(k), kind) => keys.push(ParentKey { ids: vec![k], kind }),
                    (None, _) => {
                        let field = key_field(parent.id);
                        return Err(bad_record(parent.name, &p, raw.get(), &field, &[&field]));
                    }
                }
            }
            Ok(())
        })
        .await;
        match result {
            Ok(()) => {}
            // A type the org does not have: no parents of that type.
            Err(e) if t.is_some() && e.is_absent() => {}
            // Parents we may not list: the children cannot be complete (never "complete, 0 rows").
            Err(e) if e.is_stream_unavailable() => {
                return Err(Error::ParentUnavailable {
                    parent: parent.name,
                    source: Box::new(e),
                })
            }
            Err(e) => return Err(e),
        }
    }
    Ok(keys)
}

/// The keys of a parent that is itself a fan-out over `over`: its lists read for every key of `over`
/// (with the same prefetching and 404 skipping as a stream's read), each record's key after its chain.
async fn list_nested(ctx: &Arc<Ctx>, parent: Parent, over: &'static str) -> Result<Vec<ParentKey>> {
    let up = Parent::named(over).ok_or_else(|| {
        Error::Config(format!(
            "{}: its parent stream {over} is not in the manifest",
            parent.name
        ))
    })?;
    let up_keys = parent_keys(ctx, up).await.map_err(|e| match e {
        Error::ParentUnavailable { source, .. } => Error::ParentUnavailable {
            parent: parent.name,
            source,
        },
        e => e,
    })?;
    let reads = [Read {
        path: ctx.expand(parent.api, parent.path),
        constant: None,
        kinds: &[],
    }];
    let fan = FanOut {
        ctx,
        api: parent.api,
        stream: parent.name,
        parent: up.name,
        extract: parent.extract,
    };
    let mut keys = Vec::new();
    let result = fan
        .run(&up_keys, &reads, |seen| {
            let Seen::Page(chain, read, items) = seen else {
                return Ok(());
            };
            for raw in items {
                match key_of(raw.get(), parent.id, parent.kind)? {
                    (Some(k), kind) => {
                        let mut ids = chain.ids.clone();
                        ids.push(k);
                        keys.push(ParentKey { ids, kind });
                    }
                    (None, _) => {
                        let field = key_field(parent.id);
                        let path = fill(&read.path, &chain.ids);
                        return Err(bad_record(parent.name, &path, raw.get(), &field, &[&field]));
                    }
                }
            }
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(keys),
        Err(e) if e.is_stream_unavailable() => Err(Error::ParentUnavailable {
            parent: parent.name,
            source: Box::new(e),
        }),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::{self_link_id, string_record};

    #[test]
    fn a_linked_object_value_names_its_user_by_the_end_of_its_self_link() {
        let id = |raw: &str| {
            let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw).unwrap();
            self_link_id(&v).map(str::to_string)
        };
        let link = |href: &str| format!(r#"{{"_links":{{"self":{{"href":"{href}"}}}}}}"#);
        assert_eq!(
            id(&link("https://x.okta.com/api/v1/users/00u1")).as_deref(),
            Some("00u1")
        );
        assert_eq!(
            id(&link("https://x.okta.com/api/v1/users/00u1/?a=b")).as_deref(),
            Some("00u1")
        );
        for raw in [
            r#"{}"#,
            r#"{"_links":{"self":{}}}"#,
            r#"{"_links":{"self":{"href":7}}}"#,
        ] {
            assert_eq!(id(raw), None, "{raw}");
        }
        assert_eq!(id(&link("")), None);
    }

    #[test]
    fn a_string_item_becomes_a_one_column_record() {
        let r = string_record("s", "allowed_app_id", r#""0oa1\"x""#).expect("a string");
        assert_eq!(r, r#"{"allowed_app_id":"0oa1\"x"}"#);
    }

    #[test]
    fn an_item_that_is_no_string_or_bad_json_is_an_error() {
        for raw in [r#"{"id":"0oa1"}"#, "12", "null", "[]", "{"] {
            assert!(string_record("s", "c", raw).is_err(), "{raw}");
        }
    }
}
