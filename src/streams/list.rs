//! Full-refresh readers: whole lists and singletons, and fan-out lists read once per parent id.

use crate::error::{Error, Result};
use crate::okta::page::{Extract, Pager};
use crate::output::Row;
use crate::streams::Parent;
use crate::sync::{Ctx, StreamRun};
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

/// The fields of a raw record the connector itself needs; everything else is skipped unparsed.
#[derive(Deserialize)]
pub struct Probe<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
}

/// The `id` of a raw record.
pub fn id_of(raw: &str) -> Result<String> {
    let p: Probe<'_> = serde_json::from_str(raw).map_err(|e| Error::Api {
        path: String::new(),
        message: format!("a record is not a JSON object: {e}"),
        internal: raw.chars().take(200).collect(),
    })?;
    p.id.map(Cow::into_owned).ok_or_else(|| Error::Api {
        path: String::new(),
        message: "a record has no id".into(),
        internal: raw.chars().take(200).collect(),
    })
}

/// `"column":"value"`, JSON-escaped, for splicing into a record.
pub fn column(name: &str, value: &str) -> String {
    format!(
        "{}:{}",
        serde_json::to_string(name).unwrap_or_default(),
        serde_json::to_string(value).unwrap_or_default()
    )
}

/// Reads a list (Link header or body paging) or a singleton.
pub async fn read_list(run: &mut StreamRun<'_>, path: &str, extract: Extract) -> Result<()> {
    let mut pager = Pager::new(run.ctx.client.url(path)?, extract);
    while let Some(page) = pager.next_page(&run.ctx.client).await? {
        run.emit(page.items.iter().map(|r| Row {
            raw: r.get(),
            prefix: None,
        }))?;
    }
    run.finish_full_refresh()
}

/// Reads one list per parent id, adding the parent id as `column`. A parent deleted between the
/// listing and its read (404) is skipped with a warning.
pub async fn read_fan_out(
    run: &mut StreamRun<'_>,
    parent: Parent,
    path: &str,
    extract: Extract,
    col: &str,
) -> Result<()> {
    let ids = parent_ids(run.ctx, parent).await?;
    for id in ids.iter() {
        let prefix = column(col, id);
        let url = run
            .ctx
            .client
            .url(&path.replace("{id}", &encode_segment(id)))?;
        let mut pager = Pager::new(url, extract);
        loop {
            match pager.next_page(&run.ctx.client).await {
                Ok(Some(page)) => run.emit(page.items.iter().map(|r| Row {
                    raw: r.get(),
                    prefix: Some(&prefix),
                }))?,
                Ok(None) => break,
                Err(Error::NotFound { .. }) => {
                    tracing::warn!(
                        stream = run.def.name,
                        parent = parent.name,
                        id = id.as_str(),
                        "parent no longer exists; skipping it"
                    );
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    run.finish_full_refresh()
}

/// The ids of a parent list, listed once per sync and shared by every child stream.
pub async fn parent_ids(ctx: &Ctx, parent: Parent) -> Result<Arc<Vec<String>>> {
    let cell = ctx.parent_cell(parent);
    cell.get_or_try_init(|| async {
        let mut ids = Vec::new();
        let mut pager = Pager::new(ctx.client.url(parent.path)?, parent.extract);
        while let Some(page) = pager.next_page(&ctx.client).await? {
            for raw in &page.items {
                ids.push(id_of(raw.get())?);
            }
        }
        tracing::info!(parent = parent.name, count = ids.len(), "listed parents");
        Ok(Arc::new(ids))
    })
    .await
    .cloned()
}

/// Percent-encodes an id for use as one path segment.
pub fn encode_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
