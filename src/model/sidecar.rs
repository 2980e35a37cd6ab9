//! The small JSON file beside a model that says how to feed it: `models/x.onnx` → `models/x.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::preprocess::Recipe;
use crate::{Error, Result};

/// What the ONNX file cannot tell us: how its inputs were made and what its classes are called.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// The preprocessing the weights were trained with. Required: a wrong guess here silently
    /// degrades every prediction.
    pub preprocess: Recipe,
    /// The labels file, relative to the sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// The default target tensors; absent means the engine chooses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Sidecar {
    /// Parses sidecar JSON; `path` only names the file in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Sidecar> {
        serde_json::from_str(text).map_err(|err| Error::Sidecar { path: path.display().to_string(), reason: err.to_string() })
    }

    /// The labels file, resolved against the directory of the sidecar at `sidecar_path`.
    pub fn labels_path(&self, sidecar_path: &Path) -> Option<PathBuf> {
        let directory = sidecar_path.parent().unwrap_or(Path::new(""));
        self.labels.as_ref().map(|labels| directory.join(labels))
    }

    /// Reads the sidecar beside `model_path`; a model without one gives `Ok(None)`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_beside(model_path: &Path) -> Result<Option<Sidecar>> {
        let path = sidecar_path(model_path);
        match std::fs::read_to_string(&path) {
            Ok(text) => Sidecar::parse(&text, &path).map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(Error::io(path.display(), err)),
        }
    }
}

/// Where a model's sidecar lives: the model's path with the extension `.json`.
pub fn sidecar_path(model_path: &Path) -> PathBuf {
    model_path.with_extension("json")
}
