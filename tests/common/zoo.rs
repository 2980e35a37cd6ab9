//! The model zoo's fixtures (tests/fixtures/zoo, made by scripts/make_zoo_fixtures.py and
//! scripts/make_method_fixtures.py) and how a map is compared with their float64 references.

use std::path::{Path, PathBuf};

use ndarray::ArrayView2;

/// Every fixture's folder, in name order.
pub fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zoo");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}

/// Runs `check` on every fixture (at least 10 of them) and fails with every problem it lists.
pub fn assert_every_fixture(check: impl Fn(&Path) -> Vec<String>) {
    let dirs = fixtures();
    assert!(dirs.len() >= 10, "only {} zoo fixtures", dirs.len());
    let wrong: Vec<String> = dirs.iter().flat_map(|dir| check(dir)).collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// (max, median) of |ours − exact| / max |exact|.
pub fn errors(ours: ArrayView2<f32>, exact: ArrayView2<f64>) -> (f64, f64) {
    assert_eq!(ours.shape(), exact.shape());
    let scale = exact.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
    let mut diff: Vec<f64> = ours.iter().zip(exact).map(|(&a, &b)| (a as f64 - b).abs() / scale).collect();
    diff.sort_by(f64::total_cmp);
    (diff[diff.len() - 1], diff[diff.len() / 2])
}
