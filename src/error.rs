//! One error type for the whole pipeline. Every message names the problem in words a user can act on.

/// Everything that can go wrong between the bytes a user hands us and the maps we give back.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },

    #[error("the image cannot be decoded: {0}")]
    Image(String),

    #[error("the image is {width}×{height} pixels; the largest side accepted is {max} pixels")]
    ImageTooLarge { width: u32, height: u32, max: u32 },

    #[error("the image is {width}×{height} pixels; the smallest side accepted is {min} pixels")]
    ImageTooSmall { width: u32, height: u32, min: u32 },

    #[error("not an ONNX model: {0}")]
    NotOnnx(String),

    #[error("the model is not an image classifier: {0}")]
    NotClassifier(String),

    #[error("the model's input is too large: {0}")]
    ModelTooLarge(String),

    #[error("unknown layer `{name}`; valid layers are: {valid}")]
    UnknownLayer { name: String, valid: String },

    #[error("cannot differentiate node `{node}`: operator {op} has no backward rule")]
    UnsupportedOp { op: String, node: String },

    #[error("cannot differentiate node `{node}` ({op}): {reason}")]
    UnsupportedCase { op: String, node: String, reason: String },

    #[error("the model's sidecar {path} is invalid: {reason}")]
    Sidecar { path: String, reason: String },

    #[error("invalid input: {0}")]
    Input(String),

    #[error("no GPU adapter: {0}")]
    NoGpu(String),

    #[error("the GPU path failed: {0}")]
    Gpu(String),

    #[error("the inference engine failed: {0}")]
    Runtime(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: impl std::fmt::Display, err: impl std::fmt::Display) -> Self {
        Error::Io { path: path.to_string(), reason: err.to_string() }
    }

    /// tract reports a chain of contexts; the whole chain (`{:#}`) is what tells the user what failed.
    #[cfg(feature = "engine")]
    pub(crate) fn runtime(err: impl std::fmt::Display) -> Self {
        Error::Runtime(format!("{err:#}"))
    }
}

/// Runs one stage of the engine on an untrusted model, a panic inside it (tract indexes attributes
/// a hostile file can leave out; found by examples/fuzz_models) becoming an error that says which
/// stage. In the browser a panic aborts the worker instead, and the page starts a fresh one.
#[cfg(feature = "engine")]
pub(crate) fn guarded<T>(stage: &str, run: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|panic| {
        let message = panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied());
        Err(Error::Runtime(format!("{stage} failed on this model: {}", message.unwrap_or("an internal error"))))
    })
}
