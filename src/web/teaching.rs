//! How to read the maps, for students: layers and stages, gradients, the methods, the fusion.

use leptos::prelude::*;

use super::methods;
use crate::cam::Method;

#[component]
pub fn Teaching() -> impl IntoView {
    // The same lines as the method picker's.
    let others = Method::ALL
        .into_iter()
        .filter(|m| !Method::PAPER.contains(m))
        .map(|m| view! { <li><strong>{methods::title(m)}</strong>": "{methods::help(m)}"."</li> })
        .collect_view();
    view! {
        <details open class="teaching-text">
            <summary>"How to read these maps"</summary>
            <div class="teaching-columns">
                <p><strong>"Layers and stages. "</strong>"A classifier is a stack of layers. Each layer turns the picture into many feature maps (channels). Early layers see small details — edges, fur, rims — at high resolution; deep layers see whole objects at low resolution (7×7 here). A "<em>"stage"</em>" is a group of layers that share one resolution; the grid shows one layer per stage, shallow on the left, deep on the right. The strip above the grid draws every layer as a block as tall as its resolution."</p>
                <p><strong>"Gradients. "</strong>"For the chosen class, the network's raw score (its logit) changes a little when a feature value changes. That rate of change, the gradient, says how much each value at each place matters for the class."</p>
                <p><strong>"Grad-CAM"</strong>" gives every channel one weight (its average gradient) and adds the channels up. In the deep layers that works well. In shallow layers a channel fires on the object and on the background alike, and one weight per channel cannot tell them apart: the map turns noisy."</p>
                <p><strong>"LayerCAM"</strong>" (Eq. 6–8) gives every "<em>"location"</em>" its own weight: the positive part of the gradient there. A feature counts only where it actually pushes the class up, so even shallow layers show the object's fine outline."</p>
                <div class="teaching-more">
                    <p><strong>"Other methods"</strong>" (“6 more” under the methods) weigh the same activations differently. All but Score-CAM reuse the gradients already computed, so they cost nothing more:"</p>
                    <ul>{others}</ul>
                    <p>"LayerCAM's claim is that it keeps working on shallow layers where the one-weight-per-channel methods blur; tick them, or "<em>"compare two"</em>" side by side, and see on the leftmost columns."</p>
                </div>
                <p><strong>"Smoothing. "</strong>"“Principal component” replaces each method's sum over the channels by the channels' main common pattern (less noise, fewer details). “6 variants of the photo” runs the network on the photo mirrored and 10 % darker or brighter too, and averages the six maps (each scaled to [0, 1] first)."</p>
                <p><strong>"Colours. "</strong>"Each map is divided by its own maximum: red is where that map is strongest, blue where it is near zero. Two stages' colours cannot be compared value for value; hover a map to read its raw value under the grid."</p>
                <p><strong>"Fusion"</strong>" (Eq. 9): each stage's map is divided by its maximum, resized to the photo, and the largest value at each pixel is kept. Shallow maps have weak, scattered responses, so the paper first lifts them with tanh(γ·M / max M); the coarse deep maps enter as they are, or they would cover the whole photo. The white box surrounds the largest region above the threshold (15 % of the maximum in the paper)."</p>
            </div>
            <p class="hint">"Try: compare Grad-CAM and LayerCAM on the leftmost column, click another class, or move γ."</p>
        </details>
    }
}
