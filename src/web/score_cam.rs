//! Score-CAM in the page: one forward pass per channel (and per variant of the photo with
//! aug-smooth), far more than a backward, so it runs only on a layer the user picks, in chunks of
//! passes the page asks the worker for one at a time: the progress bar follows the chunks, and
//! Cancel simply asks for no more (the passes done are kept; Continue goes on from there).

use leptos::prelude::*;

use super::bridge;
use super::page::{State, memory};
use crate::cam::Method;
use crate::protocol::{ClassRawMaps, Request, ScoreProgress};

/// Passes per request: about a second of the worker's time in a browser, so Cancel, a class or a
/// photo waits at most that long.
const CHUNK: usize = 8;

/// Beyond this estimate the page does not offer to run the passes (and says so in place).
const LONGEST_S: f64 = 120.0;

/// Score-CAM's passes on one layer, running or paused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRun {
    pub layer: usize,
    pub done: usize,
    pub total: usize,
    /// Whether the next chunk is asked for when this one comes back (Cancel clears it).
    pub running: bool,
}

/// Starts (or continues) the passes of `layer` from where the worker is.
pub fn start(state: State, layer: usize) {
    let Some(progress) = state.raw.get_untracked().and_then(|raw| raw.score_passes.get(layer).copied()) else {
        return;
    };
    let done = state.score.get_untracked().filter(|run| run.layer == layer).map_or(progress.done, |run| run.done);
    state.score.set(Some(ScoreRun { layer, done, total: progress.total, running: true }));
    ask(state, layer, done, progress.total);
}

/// Asks for the next chunk; quietly (the grid stays as it is while they run).
fn ask(state: State, layer: usize, done: usize, total: usize) {
    let Some(raw) = state.raw.get_untracked() else {
        return;
    };
    let passes = (done, (done + CHUNK).min(total));
    let (methods, smoothing) = (untrack(|| state.wanted_methods()), state.smoothing.get_untracked());
    bridge::send(&Request::ScoreCam { layer, passes, class: raw.class, methods, smoothing });
}

/// A chunk came back: note it, and ask for the next one unless cancelled.
pub fn progressed(state: State, progress: ScoreProgress) {
    memory(|m| m.ms_per_pass = Some(progress.ms_per_pass));
    let Some(run) = state.score.get_untracked().filter(|run| run.layer == progress.layer) else {
        return; // another photo or layer since
    };
    let run = ScoreRun { done: progress.done, total: progress.total, ..run };
    state.score.set(Some(run));
    if run.running {
        ask(state, run.layer, run.done, run.total);
    }
}

/// The maps came with the last chunk's: the run is over.
pub fn finished(state: State, raw: &ClassRawMaps) {
    if let Some(run) = state.score.get_untracked() {
        if raw.score_passes.get(run.layer).is_some_and(|p| p.done == p.total) {
            state.score.set(None);
        }
    }
}

/// Seconds for `passes` more passes: measured on the last chunk, else a forward pass's time.
fn estimate_s(state: State, passes: usize) -> f64 {
    let per_pass = memory(|m| m.ms_per_pass).unwrap_or_else(|| state.timings.get_untracked().forward);
    passes as f64 * per_pass / 1e3
}

fn duration(seconds: f64) -> String {
    if seconds < 90.0 { format!("{seconds:.0} s") } else { format!("{:.1} min", seconds / 60.0) }
}

/// In place of a layer's Score-CAM map that is not computed yet: what it costs and the button that
/// runs it, its progress and Cancel, or why the page does not offer it.
#[component]
pub fn ScoreCell(state: State, layer: usize) -> impl IntoView {
    move || {
        let progress = state.raw.get()?.score_passes.get(layer).copied()?;
        let run = state.score.get();
        let busy_elsewhere = run.is_some_and(|r| r.layer != layer && r.running);
        let (done, total) = match run.filter(|r| r.layer == layer) {
            Some(r) => (r.done, r.total),
            None => (progress.done, progress.total),
        };
        let left = estimate_s(state, total - done);
        let view = match run.filter(|r| r.layer == layer) {
            Some(ScoreRun { running: true, .. }) => view! {
                <div class="score-cell running">
                    <progress max=total.to_string() value=done.to_string() aria-label="Score-CAM's forward passes"></progress>
                    <span>{format!("{done} of {total} passes · ≈ {} left", duration(left))}</span>
                    <button class="score-cancel" on:click=move |_| state.score.update(|r| if let Some(r) = r { r.running = false })>"Cancel"</button>
                </div>
            }
            .into_any(),
            _ if left > LONGEST_S => view! {
                <div class="score-cell too-long">
                    {format!("{} forward passes, ≈ {} in this browser: too long for the page. ", total - done, duration(left))}
                    <code>"layercam explain --method scorecam"</code>" runs them natively."
                </div>
            }
            .into_any(),
            _ => {
                let what = if done > 0 { format!("Continue Score-CAM ({done} of {total} done)") } else { "Run Score-CAM here".into() };
                view! {
                    <div class="score-cell">
                        <button class="score-run" disabled=busy_elsewhere on:click=move |_| start(state, layer)
                                title=if busy_elsewhere { "Score-CAM runs on one layer at a time" } else { "One forward pass per channel; Cancel stops it" }>
                            {what}
                        </button>
                        <span>{format!("{} forward passes, ≈ {}", total - done, duration(left))}</span>
                    </div>
                }
                .into_any()
            }
        };
        Some(view)
    }
}

/// Whether the map of `method` at `layer` is waiting for Score-CAM's passes.
pub fn waiting(raw: &ClassRawMaps, layer: usize, method: Method) -> bool {
    method.needs_forwards() && raw.methods.contains(&method) && !raw.has(layer, method)
}
