//! Logging with `tracing`: human-readable lines by default, one JSON object per line with
//! `--log-format json` (or `FERROCHAIN_LOG_FORMAT=json`), always on standard error so that a command's
//! output on standard output stays clean. The level comes from `RUST_LOG` (`info` by default; e.g.
//! `RUST_LOG=debug` shows every HTTP request with its route and latency).

/// How log lines look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines: time, level, message and fields.
    #[default]
    Human,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`), for log collectors.
    Json,
}

/// Installs the global subscriber. Does nothing if one is installed already.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: redirected logs stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
