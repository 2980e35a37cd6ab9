//! "How to draw it", besides the fusion: the box threshold, the opacity and the colormap. They only
//! redraw (milliseconds on the page): the network does not run again.

use leptos::prelude::*;

use super::page::State;
use super::slider::Slider;
use crate::bounds::FRACTION;
use crate::cam::Colormap;

#[component]
pub fn DrawControls(state: State) -> impl IntoView {
    let colormaps = Colormap::ALL.map(|c| view! { <option value=c.name() selected=c == Colormap::Jet>{c.name()}</option> });
    view! {
        <fieldset class="drawing">
            <legend>"Drawing"</legend>
            <Slider id="threshold" label="box threshold" signal=state.threshold bounds=FRACTION min=0.05 max=0.95 step=0.01
                help="The white box on the fused map surrounds the largest region above this fraction of its maximum: higher, a tighter box"/>
            <Slider id="opacity" label="opacity" signal=state.opacity bounds=FRACTION min=0.0 max=1.0 step=0.05
                help="How strongly the map is painted over the photo: 0 shows only the photo, 1 only the map"/>
            <div class="slider" title="How map values become colours, in every map and in the legend under the grid">
                <label for="colormap">"colormap"</label>
                <select id="colormap" on:change=move |ev| { if let Ok(c) = event_target_value(&ev).parse() { state.colormap.set(c) } }>
                    {colormaps.into_iter().collect_view()}
                </select>
            </div>
        </fieldset>
    }
}
