//! Every model file the fuzzer (examples/fuzz_models, scripts/fuzz.sh) ever found a problem with,
//! and one mutant per kind of mutation (tests/fixtures/fuzz): the page's session answers each
//! with maps or with a message, and does not panic.

#[path = "../../examples/fuzz_models/check.rs"]
mod check;

#[test]
fn the_session_answers_every_saved_mutant() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut files: Vec<_> =
        std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "onnx")).collect();
    files.sort();
    assert!(files.len() >= 10, "only {} saved mutants", files.len());
    let photo = check::photo();
    for file in files {
        let answer = check::load_and_explain(std::fs::read(&file).unwrap(), &photo);
        println!("{}: {answer}", file.file_name().unwrap().to_string_lossy());
        assert!(answer.starts_with("refused: ") || answer.starts_with("explained") || answer.starts_with("loaded, explain refused: "));
    }
}
