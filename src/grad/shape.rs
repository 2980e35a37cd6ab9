//! Ops that only move values: reshapes, transposes, concatenation, and identities.

use super::Step;
use super::builder::{Attributes, Builder, ints};
use super::conv::with_first;
use crate::Result;

pub(super) fn shape(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let g = step.output_grad()?.to_string();
    let node = step.node;
    let x = &node.input[0];
    let dx = match node.op_type.as_str() {
        // Only the element order matters: reshape back, keeping the seed axis in front.
        "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => {
            let xs = b.shape(x)?;
            b.reshape_like(&g, &xs)
        }
        "Identity" | "Dropout" => g,
        "Transpose" => {
            let rank = b.shape(x)?.len() as i64;
            let perm = node.attr_ints("perm").unwrap_or_else(|| (0..rank).rev().collect());
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p as usize] = i as i64;
            }
            b.op("Transpose", &[&g], vec![ints("perm", &inverse)])
        }
        "Concat" => return concat(b, step, &g),
        other => unreachable!("shape rule registered for {other}"),
    };
    Ok(with_first(dx, node.input.len()))
}

/// Each input gets its slice of the gradient along the concatenation axis.
fn concat(b: &mut Builder, step: &Step, g: &str) -> Result<Vec<Option<String>>> {
    let rank = b.shape(step.output())?.len() as i64;
    let axis = step.node.attr_int("axis").unwrap_or(0);
    let axis = if axis < 0 { axis + rank } else { axis };
    if axis == 0 {
        return Err(step.unsupported("concatenation along the batch axis"));
    }
    let axes = b.const_i64(&[axis]);
    let mut start = 0;
    let mut grads = vec![];
    for (input, &wanted) in step.node.input.iter().zip(&step.wanted) {
        let size = b.shape(input)?[axis as usize] as i64;
        grads.push(wanted.then(|| {
            let (starts, ends) = (b.const_i64(&[start]), b.const_i64(&[start + size]));
            b.op("Slice", &[g, &starts, &ends, &axes], vec![])
        }));
        start += size;
    }
    Ok(grads)
}
