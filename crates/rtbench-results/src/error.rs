use thiserror::Error;

/// Why a `run.json` could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// Not JSON, or not the layout its version says.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A `schema_version` this rtbench cannot read.
    #[error("schema_version {found} is not one this rtbench reads (1 or {current})", current = crate::SCHEMA_VERSION)]
    Version { found: String },
}
