//! Transformer tokens as maps: the grid rule, the automatic choice of a ViT-like graph's layer, and
//! the tokens laid out exactly where the patches came from; attention's sequence-first tensors and
//! products of two image-dependent operands against finite differences.

use crate::common::net::*;
use layercam::model::layers::{GradientFrom, TokenGrid, auto_layers, candidates};
use layercam::runtime::Explainer;
use ndarray::{Array4, Axis};

#[test]
fn the_grid_is_a_square_after_one_or_two_tokens() {
    assert_eq!(TokenGrid::guess(197), Some(TokenGrid { height: 14, width: 14, skip: 1 }));
    assert_eq!(TokenGrid::guess(198), Some(TokenGrid { height: 14, width: 14, skip: 2 }));
    assert_eq!(TokenGrid::guess(196), None, "no class token: the user says --tokens grid=14x14,skip=0");
    assert_eq!(TokenGrid::guess(2), None);
    assert_eq!("grid=14x14,skip=0".parse(), Ok(TokenGrid { height: 14, width: 14, skip: 0 }));
    assert_eq!("grid=7x9".parse(), Ok(TokenGrid { height: 7, width: 9, skip: 1 }));
    for bad in ["grid=14", "skip=1", "grid=axb", "size=3x3"] {
        assert!(bad.parse::<TokenGrid>().unwrap_err().contains("grid=HxW"), "{bad}");
    }
}

/// x [1, 3, 4, 4] → 2×2 patches (Conv, stride 2) [1, 4, 2, 2] → tokens [1, 4, 4] → a class token in
/// front [1, 5, 4] → one attention (softmax(T·Tᵀ)·T) → the class token → logits.
fn tiny_vit() -> (Net, String, String, String) {
    let mut net = Net::new(&[1, 3, 4, 4]);
    let w = net.weight(&[4, 3, 2, 2]);
    let patches = net.node("Conv", &["x", &w], vec![ints("strides", &[2, 2])]);
    let flat = net.int_constant(&[1, 4, 4]);
    let flat = net.node("Reshape", &[&patches, &flat], vec![]);
    let tokens = net.node("Transpose", &[&flat], vec![ints("perm", &[0, 2, 1])]);
    let class_token = net.weight(&[1, 1, 4]);
    let sequence = net.node("Concat", &[&class_token, &tokens], vec![int("axis", 1)]);
    let keys = net.node("Transpose", &[&sequence], vec![ints("perm", &[0, 2, 1])]);
    let scores = net.node("MatMul", &[&sequence, &keys], vec![]);
    let attention = net.node("Softmax", &[&scores], vec![int("axis", -1)]);
    let mixed = net.node("MatMul", &[&attention, &sequence], vec![]);
    let first = net.int_tensor(&[0], &[]);
    let class = net.node("Gather", &[&mixed, &first], vec![int("axis", 1)]);
    let logits = net.logits_from(&class);
    (net, patches, sequence, logits)
}

#[test]
fn tokens_are_laid_out_where_their_patches_were() {
    let (net, patches, sequence, logits) = tiny_vit();
    let model = net.build(&logits);
    let listed = candidates(&model, GradientFrom::Layer);
    let tokens = listed.iter().find(|c| c.name == sequence).expect("the token sequence is a candidate");
    assert_eq!((tokens.shape, tokens.tokens), ([4, 2, 2], Some(TokenGrid { height: 2, width: 2, skip: 1 })));
    // Maps and tokens are stages apart; of the tokens, the last before the attention's Softmax.
    assert_eq!(auto_layers(&model, GradientFrom::Layer), [patches.clone(), sequence.clone()]);

    let explainer = Explainer::new(&model, &[patches, sequence]).unwrap();
    let x = input_avoiding(&[1, 3, 4, 4], &[], 0.0, 1.0);
    let forward = explainer.forward(x.view()).unwrap();
    // Concat, Transpose and Reshape only move values: the tokens' map is the patches' map, and so
    // are their gradients, for each of two classes.
    assert_eq!(forward.activation(1), forward.activation(0));
    let gradients = explainer.backward(&forward, &[0, 2]).unwrap();
    assert_eq!(gradients[1].shape(), [2, 4, 2, 2]);
    let worst = (&gradients[1] - &gradients[0]).iter().fold(0f32, |m, d| m.max(d.abs()));
    println!("tokens' gradient − patches' gradient: {worst:.1e}");
    assert!(worst < 1e-6);
    assert!(gradients[1].index_axis(Axis(0), 0) != gradients[1].index_axis(Axis(0), 1), "two classes, two gradients");
}

#[test]
fn sequence_first_attention_against_finite_differences() {
    // torch's exported attention: tokens sequence-first [N, 1, D], heads folded into axis 0, and
    // products of two image-dependent operands (Q·Kᵀ, A·V).
    let mut net = Net::new(&[1, 3, 2, 2]);
    let shape = net.int_constant(&[1, 3, 4]);
    let tokens = net.node("Reshape", &["x", &shape], vec![]);
    let sequence_first = net.node("Transpose", &[&tokens], vec![ints("perm", &[1, 0, 2])]);
    let heads = net.int_constant(&[3, 2, 2]);
    let heads = net.node("Reshape", &[&sequence_first, &heads], vec![]);
    let heads = net.node("Transpose", &[&heads], vec![ints("perm", &[1, 0, 2])]);
    let (wq, wk) = (net.weight(&[2, 2]), net.weight(&[2, 2]));
    let (q, k) = (net.node("MatMul", &[&heads, &wq], vec![]), net.node("MatMul", &[&heads, &wk], vec![]));
    let k = net.node("Transpose", &[&k], vec![ints("perm", &[0, 2, 1])]);
    let scores = net.node("MatMul", &[&q, &k], vec![]);
    let attention = net.node("Softmax", &[&scores], vec![int("axis", -1)]);
    let mixed = net.node("MatMul", &[&attention, &heads], vec![]);
    let back = net.node("Transpose", &[&mixed], vec![ints("perm", &[1, 0, 2])]);
    let shape = net.int_constant(&[1, 3, 4]);
    let back = net.node("Reshape", &[&back, &shape], vec![]);
    let logits = net.logits_from(&back);
    let x: Array4<f32> = input_avoiding(&[1, 3, 2, 2], &[], 0.0, 1.0);
    let worst = check_against_finite_differences(&net.build(&logits), &x, 1e-2);
    println!("worst relative error {worst:.2e}");
    assert!(worst < 2e-3);
}
