//! How commands print: human text, or `--output json` for scripts (one JSON document on
//! stdout).

use clap::ValueEnum;

/// The output format.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, ValueEnum)]
pub(crate) enum Output {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

impl Output {
    /// Prints `value` as JSON, or as the text `render` makes of it.
    pub(crate) fn show(
        self,
        value: &serde_json::Value,
        render: impl FnOnce(&serde_json::Value) -> String,
    ) {
        match self {
            Output::Json => println!("{value}"),
            Output::Text => println!("{}", render(value)),
        }
    }
}
