//! Stages a student can read: "Stage 2 · 56×56 · 96 channels" rather than `hardtanh_5 [96, 56, 56]`,
//! and layer lists kept in graph order, so that the columns always go from shallow to deep.
//!
//! A stage is one spatial resolution of the network: stage 1 is the finest among the explainable
//! tensors, and each stride-2 step down starts the next one.

use std::fmt;

use leptos::prelude::*;

use crate::model::layers::Candidate;
use crate::protocol::ModelInfo;

/// A tensor as a student reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub number: usize,
    /// "a", "b", … when several chosen layers share the stage; empty otherwise.
    pub letter: &'static str,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// A transformer's tokens laid out on their patch grid, not a convolution's map.
    pub tokens: bool,
}

impl Stage {
    /// "Stage 2" or "Stage 2b".
    pub fn name(&self) -> String {
        format!("Stage {}{}", self.number, self.letter)
    }

    /// "56×56 · 96 channels", or "14×14 patch tokens · 768 channels".
    pub fn size(&self) -> String {
        let unit = if self.channels == 1 { "channel" } else { "channels" };
        let tokens = if self.tokens { " patch tokens" } else { "" };
        format!("{}×{}{tokens} · {} {unit}", self.height, self.width, self.channels)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} · {}", self.name(), self.size())
    }
}

/// The distinct resolutions `(height, width)` of the explainable tensors, finest first.
fn resolutions(candidates: &[Candidate]) -> Vec<(usize, usize)> {
    let mut sizes: Vec<(usize, usize)> = candidates.iter().map(|c| (c.shape[1], c.shape[2])).collect();
    sizes.sort_by_key(|&(h, w)| std::cmp::Reverse(h * w));
    sizes.dedup();
    sizes
}

/// The stage of a tensor whose map is `[C, H, W]` (`tokens`: a transformer's patch tokens).
pub fn stage(model: &ModelInfo, [channels, height, width]: [usize; 3], tokens: bool) -> Stage {
    let number = resolutions(&model.candidates).iter().position(|&s| s == (height, width)).map_or(0, |i| i + 1);
    Stage { number, letter: "", height, width, channels, tokens }
}

/// The stage of each explained layer, lettered where two share a resolution.
pub fn chosen(model: &ModelInfo) -> Vec<Stage> {
    const LETTERS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut stages: Vec<Stage> = model.layers.iter().map(|l| stage(model, l.shape, l.tokens.is_some())).collect();
    for i in 0..stages.len() {
        let same: Vec<usize> = (0..stages.len()).filter(|&j| stages[j].number == stages[i].number).collect();
        if same.len() > 1 {
            let rank = same.iter().position(|&j| j == i).unwrap_or(0);
            stages[i].letter = LETTERS.get(rank).copied().unwrap_or("+");
        }
    }
    stages
}

/// The stages in the fusion, as a column subtitle: "stages 2–5", "stages 1, 3", "stage 4".
pub fn fused(stages: &[Stage], in_fusion: &[bool]) -> String {
    let labels: Vec<String> =
        stages.iter().zip(in_fusion).filter(|(_, fused)| **fused).map(|(s, _)| format!("{}{}", s.number, s.letter)).collect();
    let numbers: Vec<usize> = labels.iter().map_while(|l| l.parse().ok()).collect();
    let consecutive = numbers.len() == labels.len() && numbers.windows(2).all(|w| w[1] == w[0] + 1);
    match labels.as_slice() {
        [] => "no stage".into(),
        [one] => format!("stage {one}"),
        [first, .., last] if consecutive && labels.len() > 2 => format!("stages {first}–{last}"),
        _ => format!("stages {}", labels.join(", ")),
    }
}

/// `names` sorted as the tensors appear in the graph (unknown names last, as given).
pub fn in_graph_order(model: &ModelInfo, mut names: Vec<String>) -> Vec<String> {
    names.sort_by_key(|name| model.candidates.iter().position(|c| c.name == *name).unwrap_or(usize::MAX));
    names.dedup();
    names
}

/// Hover text for a tensor: its name, shape and the operator that makes it.
pub fn tensor_help(candidate: &Candidate) -> String {
    let [c, h, w] = candidate.shape;
    format!("tensor {} [{c}, {h}, {w}], output of {}", candidate.name, candidate.op)
}

/// The explainable tensor called `name`.
pub fn candidate<'a>(model: &'a ModelInfo, name: &str) -> Option<&'a Candidate> {
    model.candidates.iter().find(|c| c.name == name)
}

/// A column's or a fusion row's title: "Stage 2 · 56×56 · 96 channels" as one text, drawn on two
/// lines (web/style.css hides the " · " between the name and the size).
pub fn title(name: String, size: String) -> impl IntoView {
    view! { <span class="stage-title"><span class="stage-name">{name}</span><span class="sep">" · "</span><span class="stage-size">{size}</span></span> }
}
