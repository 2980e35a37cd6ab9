//! The classifier and what it expects: the ONNX file, its sidecar, labels and preprocessing.
//! The parsed classifier ([`classifier`], [`Model`]) is the engine's (feature `engine`); labels,
//! layers, preprocessing and the sidecar are shared with the page.

#[cfg(feature = "engine")]
pub mod classifier;
pub mod labels;
pub mod layers;
pub mod preprocess;
pub mod sidecar;

#[cfg(feature = "engine")]
pub use engine::Model;
use preprocess::Recipe;

/// Preprocessing assumed for a model without a sidecar: most ONNX classifiers come from torchvision.
pub const RECIPE_WITHOUT_SIDECAR: Recipe = Recipe::Torchvision;

#[cfg(feature = "engine")]
mod engine {
    use super::classifier::Classifier;
    use super::labels::Labels;
    use super::preprocess::Recipe;
    use super::sidecar::Sidecar;
    #[cfg(not(target_arch = "wasm32"))]
    use super::sidecar::sidecar_path;
    use super::{RECIPE_WITHOUT_SIDECAR, layers};
    #[cfg(not(target_arch = "wasm32"))]
    use crate::Error;
    use crate::Result;

    /// A classifier with everything needed to feed it and name its classes.
    #[derive(Clone, Debug)]
    pub struct Model {
        /// What the user calls it (the file name).
        pub name: String,
        pub classifier: Classifier,
        pub labels: Labels,
        pub recipe: Recipe,
        /// Default layers from the sidecar; None means the automatic choice.
        pub layers: Option<Vec<String>>,
    }

    impl Model {
        /// Assembles a model from bytes already in memory (the page has no file system).
        pub fn from_parts(name: &str, onnx: &[u8], sidecar: Option<&Sidecar>, labels: Option<Labels>) -> Result<Model> {
            Model::assemble(name, Classifier::from_bytes(onnx)?, sidecar, labels)
        }

        fn assemble(name: &str, classifier: Classifier, sidecar: Option<&Sidecar>, labels: Option<Labels>) -> Result<Model> {
            // Names for another number of classes would be wrong names: number the classes instead.
            let labels = labels.filter(|l| l.len() == classifier.classes).unwrap_or_else(|| Labels::parse(""));
            Ok(Model {
                name: name.to_string(),
                classifier,
                labels,
                recipe: sidecar.map_or(RECIPE_WITHOUT_SIDECAR, |s| s.preprocess),
                layers: sidecar.and_then(|s| s.layers.clone()),
            })
        }

        /// Loads `path` and the sidecar and labels beside it.
        #[cfg(not(target_arch = "wasm32"))]
        pub fn load(path: &std::path::Path) -> Result<Model> {
            let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| Error::io(p.display(), e));
            let classifier = Classifier::from_file(path)?;
            let sidecar = Sidecar::load_beside(path)?;
            let labels = match sidecar.as_ref().and_then(|s| s.labels_path(&sidecar_path(path))) {
                Some(labels) => Some(Labels::parse(&String::from_utf8_lossy(&read(&labels)?))),
                None => None,
            };
            let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
            Model::assemble(&name, classifier, sidecar.as_ref(), labels)
        }

        /// The layers to explain: `["auto"]` (or nothing) gives the sidecar's list, else the automatic
        /// choice; other names are checked when the [`crate::runtime::Explainer`] is built.
        pub fn resolve_layers(&self, requested: &[String], from: layers::GradientFrom) -> Vec<String> {
            if requested.is_empty() || requested == ["auto"] {
                return self.layers.clone().unwrap_or_else(|| layers::auto_layers(&self.classifier, from));
            }
            requested.to_vec()
        }
    }
}
