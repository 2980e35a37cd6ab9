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
    /// A chunk is with the worker: Continue then waits for it instead of asking again.
    pub in_flight: bool,
}

/// Starts (or continues) the passes of `layer` from where the worker is.
pub fn start(state: State, layer: usize) {
    let Some(progress) = state.raw.get_untracked().and_then(|raw| raw.score_passes.get(layer).copied()) else {
        return;
    };
    match state.score.get_untracked().filter(|run| run.layer == layer) {
        // Cancelled while a chunk was under way: its answer asks for the next one.
        Some(run) if run.in_flight => state.score.set(Some(ScoreRun { running: true, ..run })),
        paused => {
            let done = paused.map_or(progress.done, |run| run.done);
            ask(state, ScoreRun { layer, done, total: progress.total, running: true, in_flight: true });
        }
    }
}

/// Asks for the chunk after `run.done`; quietly (the grid stays as it is while they run). Not
/// while live frames come: each replaces the image the passes are for (freeze a frame first).
fn ask(state: State, run: ScoreRun) {
    let Some(raw) = state.raw.get_untracked().filter(|_| !state.live.get_untracked().moving()) else {
        state.score.set(None);
        return;
    };
    state.score.set(Some(ScoreRun { in_flight: true, ..run }));
    let passes = (run.done, (run.done + CHUNK).min(run.total));
    let (methods, smoothing) = (untrack(|| state.wanted_methods()), state.smoothing.get_untracked());
    bridge::send(&Request::ScoreCam { layer: run.layer, passes, class: raw.class, methods, smoothing });
}

/// A chunk came back: note it, and ask for the next one unless cancelled.
pub fn progressed(state: State, progress: ScoreProgress) {
    memory(|m| m.ms_per_pass = Some(progress.ms_per_pass));
    let Some(run) = state.score.get_untracked().filter(|run| run.layer == progress.layer) else {
        return; // another photo or layer since
    };
    let run = ScoreRun { done: progress.done, total: progress.total, in_flight: false, ..run };
    if run.running {
        ask(state, run);
    } else {
        state.score.set(Some(run));
    }
}

/// The maps came with the last chunk's: the run is over.
pub fn finished(state: State, raw: &ClassRawMaps) {
    if let Some(run) = state.score.get_untracked()
        && raw.score_passes.get(run.layer).is_some_and(|p| p.done == p.total)
    {
        state.score.set(None);
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
/// runs it, its progress and Cancel, or that it would take too long here. Short enough for a cell
/// on a phone; the whole sentence is in the tooltip and in [`ScoreHint`].
#[component]
pub fn ScoreCell(state: State, layer: usize) -> impl IntoView {
    move || {
        let progress = state.raw.get()?.score_passes.get(layer).copied()?;
        let run = state.score.get();
        let busy_elsewhere = run.is_some_and(|r| r.layer != layer && r.running);
        let here = run.filter(|r| r.layer == layer);
        let (done, total) = here.map_or((progress.done, progress.total), |r| (r.done, r.total));
        let left = estimate_s(state, total - done);
        let cost = format!("{} passes · ≈ {}", total - done, duration(left));
        let view = match here {
            Some(ScoreRun { running: true, .. }) => view! {
                <div class="score-cell running" title=format!("Score-CAM: {done} of {total} forward passes done, ≈ {} left", duration(left))>
                    <progress max=total.to_string() value=done.to_string() aria-label="Score-CAM's forward passes"></progress>
                    <span>{format!("{done}/{total}")}</span>
                    <button class="score-cancel" on:click=move |_| state.score.update(|r| if let Some(r) = r { r.running = false })>"Cancel"</button>
                </div>
            }
            .into_any(),
            _ if left > LONGEST_S => view! {
                <div class="score-cell too-long"
                     title=format!("Score-CAM here: {} forward passes, ≈ {} in this browser. `layercam explain --method scorecam` runs them natively.", total - done, duration(left))>
                    <span>{cost}</span>
                    <strong>"too long here"</strong>
                </div>
            }
            .into_any(),
            _ => {
                let (label, help) = if done > 0 {
                    ("▶ Continue", format!("Score-CAM: {done} of {total} passes done; continue ({})", duration(left)))
                } else {
                    ("▶ Run", format!("Run Score-CAM on this stage: {} forward passes, ≈ {}; Cancel stops it", total - done, duration(left)))
                };
                let live = state.live.get().moving();
                let help = match (live, busy_elsewhere) {
                    (true, _) => "Score-CAM runs on a frozen frame: press Freeze (F) first".to_string(),
                    (false, true) => "Score-CAM runs on one stage at a time".to_string(),
                    (false, false) => help,
                };
                view! {
                    <div class="score-cell" title=help>
                        <button class="score-run" disabled=live || busy_elsewhere on:click=move |_| start(state, layer)>{label}</button>
                        <span>{cost}</span>
                    </div>
                }
                .into_any()
            }
        };
        Some(view)
    }
}

/// Under the legend while Score-CAM is a row: how it runs in the page, in a sentence.
#[component]
pub fn ScoreHint(state: State) -> impl IntoView {
    move || {
        state.shown_methods().contains(&Method::ScoreCam).then(|| {
            view! {
                <p class="hint score-hint">
                    "Score-CAM classifies the photo once per channel of a stage: press ▶ Run on a stage to compute it here (Cancel stops it). \
                     Stages that would take minutes in the browser are left to "<code>"layercam explain --method scorecam"</code>", which runs them natively."
                </p>
            }
        })
    }
}

/// Whether the map of `method` at `layer` is waiting for Score-CAM's passes.
pub fn waiting(raw: &ClassRawMaps, layer: usize, method: Method) -> bool {
    method.needs_forwards() && raw.methods.contains(&method) && !raw.has(layer, method)
}
