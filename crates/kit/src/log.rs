//! Logging setup: one `tracing` subscriber writing to stderr (stdout belongs to the protocol), filtered by
//! `RUST_LOG`, with an optional extra layer (the source forwards its own INFO lines as protocol LOG messages).

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};

/// An extra layer next to the stderr one (it brings its own filter).
pub type ExtraLayer = Box<dyn Layer<Registry> + Send + Sync + 'static>;

/// When to colour stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ansi {
    /// Only when stderr is a terminal.
    Auto,
    /// Always (what `tracing_subscriber::fmt()` does by default).
    Always,
}

/// The options of the one stderr logger.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// The filter when `RUST_LOG` is unset or invalid, e.g. `info`.
    pub default_filter: &'static str,
    pub ansi: Ansi,
    /// Whether each line names its target module.
    pub with_target: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            default_filter: "info",
            ansi: Ansi::Auto,
            with_target: false,
        }
    }
}

/// Installs the global subscriber: stderr filtered by `RUST_LOG` (else `default_filter`), plus `extra`.
/// A second call (tests running several commands in one process) leaves the first subscriber in place.
pub fn init(options: &LogOptions, extra: Option<ExtraLayer>) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(options.default_filter));
    let ansi = match options.ansi {
        Ansi::Auto => std::io::IsTerminal::is_terminal(&std::io::stderr()),
        Ansi::Always => true,
    };
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(options.with_target)
        .with_filter(filter)
        .boxed();
    let layers: Vec<ExtraLayer> = std::iter::once(stderr).chain(extra).collect();
    let _ = tracing_subscriber::registry().with(layers).try_init();
}
