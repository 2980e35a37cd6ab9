//! A fuzzer for untrusted model files (the page takes any file a user drops). It mutates the zoo
//! fixtures (tests/fixtures/zoo/*/model.onnx) — truncated and flipped bytes, absurd and 10¹²-element
//! declared shapes, cycles, dangling inputs, duplicate names, huge attribute lists, other ops — and
//! hands each mutant to the page's session ([`check::load_and_explain`]) in a child process limited
//! to 10 s and 4 GiB. A panic, an abort, a hang or a memory blow-up is saved to tests/fixtures/fuzz/
//! (the CI runs every file there, tests/integration/fuzz_corpus.rs) and reported. Run by scripts/fuzz.sh:
//!
//!     cargo run --release --example fuzz_models -- SECONDS      # fuzz for SECONDS (default 600)
//!     cargo run --release --example fuzz_models -- check FILE   # one file, in this process
//!     cargo run --release --example fuzz_models -- corpus       # one mutant per kind into tests/fixtures/fuzz

mod check;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use prost::Message;
use tract_onnx::pb;

const TIME_LIMIT: Duration = Duration::from_secs(10);
const MEMORY_LIMIT: &str = "--as=4294967296";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("check") => println!("{}", check::load_and_explain(std::fs::read(&args[2]).expect("a file"), &check::photo())),
        Some("corpus") => corpus(),
        seconds => fuzz(Duration::from_secs(seconds.map_or(600, |s| s.parse().expect("SECONDS")))),
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fuzz(budget: Duration) {
    let seeds = seed_models();
    let work = std::env::temp_dir().join(format!("layercam-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let started = Instant::now();
    let mut rng = Lcg(started.elapsed().as_nanos() as u64 ^ 0x9e37_79b9_7f4a_7c15 ^ std::process::id() as u64);
    let (mut runs, mut found) = (0, 0);
    let mut outcomes: std::collections::BTreeMap<String, usize> = Default::default();
    while started.elapsed() < budget {
        let (seed, proto) = &seeds[rng.below(seeds.len())];
        let (bytes, what) = mutate(proto, &mut rng);
        let file = work.join("mutant.onnx");
        std::fs::write(&file, &bytes).unwrap();
        let (verdict, line) = run_child(&file);
        runs += 1;
        *outcomes.entry(line.split(':').next().unwrap_or("").to_string()).or_default() += 1;
        if let Some(problem) = verdict {
            found += 1;
            let saved = root().join(format!("tests/fixtures/fuzz/found-{:016x}.onnx", hash(&bytes)));
            std::fs::write(&saved, &bytes).unwrap();
            println!("{problem}: {what} of {seed} → {}", saved.display());
        }
    }
    println!("{runs} mutants in {:.0} s, {found} problems; outcomes: {outcomes:?}", started.elapsed().as_secs_f64());
    std::fs::remove_dir_all(&work).ok();
    std::process::exit(i32::from(found > 0));
}

/// One mutant of each kind, of the smallest seed, from a fixed seed: the CI's regular corpus.
fn corpus() {
    let seeds = seed_models();
    let (name, proto) = seeds.iter().min_by_key(|(_, p)| p.encoded_len()).unwrap();
    let mut rng = Lcg(1);
    for kind in 0..STRUCTURAL + 2 {
        let mut mutant = proto.clone();
        let (bytes, what) = match kind.checked_sub(STRUCTURAL) {
            None => {
                let what = mutate_structure(&mut mutant, &mut rng, kind);
                (mutant.encode_to_vec(), what)
            }
            Some(byte_kind) => mutate_bytes(mutant.encode_to_vec(), &mut rng, byte_kind),
        };
        let file = root().join(format!("tests/fixtures/fuzz/kind-{kind:02}.onnx"));
        std::fs::write(&file, bytes).unwrap();
        println!("{}: {what} of {name}", file.display());
    }
}

/// Runs `check FILE` in a child under the limits: None when it answered (loaded or refused),
/// else what went wrong; and the child's last line.
fn run_child(file: &Path) -> (Option<String>, String) {
    let me = std::env::current_exe().unwrap();
    let mut child = Command::new("prlimit")
        .args([MEMORY_LIMIT, "--"])
        .arg(me)
        .arg("check")
        .arg(file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs the child");
    let started = Instant::now();
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            child.kill().ok();
            child.wait().ok();
            return (Some(format!("hang (> {} s)", TIME_LIMIT.as_secs())), String::new());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let problem = (!status.success()).then(|| {
        let last = stderr.lines().find(|l| l.contains("panicked") || l.contains("memory allocation")).unwrap_or("no message");
        format!("crash ({status}; {last})")
    });
    (problem, stdout)
}

/// The zoo's narrow models, decoded.
fn seed_models() -> Vec<(String, pb::ModelProto)> {
    let zoo = root().join("tests/fixtures/zoo");
    let mut seeds: Vec<(String, pb::ModelProto)> = std::fs::read_dir(&zoo)
        .unwrap()
        .filter_map(|e| {
            let path: PathBuf = e.ok()?.path().join("model.onnx");
            let proto = pb::ModelProto::decode(std::fs::read(&path).ok()?.as_slice()).ok()?;
            Some((path.parent()?.file_name()?.to_string_lossy().into_owned(), proto))
        })
        .collect();
    seeds.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!seeds.is_empty(), "no seed models under {}", zoo.display());
    seeds
}

/// One to three mutations of a model, encoded; and what they were.
fn mutate(proto: &pb::ModelProto, rng: &mut Lcg) -> (Vec<u8>, String) {
    let mut proto = proto.clone();
    let mut what = vec![];
    for _ in 0..1 + rng.below(3) {
        let kind = rng.below(STRUCTURAL);
        what.push(mutate_structure(&mut proto, rng, kind));
    }
    let bytes = proto.encode_to_vec();
    // A quarter of the mutants are also damaged as bytes.
    let kind = rng.below(8);
    if kind >= 2 {
        return (bytes, what.join(", "));
    }
    let (bytes, damage) = mutate_bytes(bytes, rng, kind);
    what.push(damage);
    (bytes, what.join(", "))
}

/// Kind 0 truncates the file, kind 1 flips bits in it.
fn mutate_bytes(mut bytes: Vec<u8>, rng: &mut Lcg, kind: usize) -> (Vec<u8>, String) {
    if kind == 0 {
        let at = rng.below(bytes.len());
        bytes.truncate(at);
        return (bytes, format!("truncated at {at}"));
    }
    for _ in 0..1 + rng.below(16) {
        let at = rng.below(bytes.len());
        bytes[at] ^= 1 << rng.below(8);
    }
    (bytes, "bits flipped".into())
}

/// Absurd numbers a hostile file might hold.
const ABSURD: [i64; 9] = [0, -1, -7, 1, 3, 100_000, 1_000_000_000_000, i64::MAX, i64::MIN];

/// How many kinds of structural mutation [`mutate_structure`] knows.
const STRUCTURAL: usize = 11;

fn mutate_structure(proto: &mut pb::ModelProto, rng: &mut Lcg, kind: usize) -> String {
    let graph = proto.graph.as_mut().expect("seed models have graphs");
    let nodes = graph.node.len();
    let n = rng.below(nodes);
    match kind {
        0 => {
            let dims = &mut graph.input[0].r#type.as_mut().and_then(|t| t.value.as_mut());
            if let Some(pb::type_proto::Value::TensorType(tensor)) = dims
                && let Some(shape) = tensor.shape.as_mut()
            {
                let d = rng.below(shape.dim.len());
                let value = ABSURD[rng.below(ABSURD.len())];
                shape.dim[d].value = Some(pb::tensor_shape_proto::dimension::Value::DimValue(value));
                return format!("input dim {d} = {value}");
            }
            "input left alone".into()
        }
        1 => {
            let i = rng.below(graph.initializer.len().max(1));
            if let Some(init) = graph.initializer.get_mut(i) {
                let value = ABSURD[rng.below(ABSURD.len())];
                let d = rng.below(init.dims.len().max(1));
                match init.dims.get_mut(d) {
                    Some(dim) => *dim = value,
                    None => init.dims.push(value),
                }
                return format!("initializer `{}` dim {d} = {value}", init.name);
            }
            "no initializer".into()
        }
        2 => {
            // A cycle: a node reads the output of itself or of a later node.
            let later = n + rng.below(nodes - n);
            let output = graph.node[later].output[0].clone();
            let slot = rng.below(graph.node[n].input.len().max(1));
            set_input(&mut graph.node[n], slot, output);
            format!("cycle: node {n} reads node {later}")
        }
        3 => {
            let slot = rng.below(graph.node[n].input.len().max(1));
            set_input(&mut graph.node[n], slot, "nowhere".into());
            format!("dangling input of node {n}")
        }
        4 => {
            let other = rng.below(nodes);
            graph.node[n].output[0] = graph.node[other].output[0].clone();
            format!("node {n} writes node {other}'s output")
        }
        5 => {
            let name = ["kernel_shape", "pads", "strides", "perm", "axes", "dilations"][rng.below(6)];
            let len = [0, 1, 5, 100_000, 1_000_000][rng.below(5)];
            let ints: Vec<i64> = (0..len).map(|_| ABSURD[rng.below(ABSURD.len())]).collect();
            let node = &mut graph.node[n];
            node.attribute.retain(|a| a.name != name);
            node.attribute.push(pb::AttributeProto {
                name: name.into(),
                r#type: pb::attribute_proto::AttributeType::Ints as i32,
                ints,
                ..Default::default()
            });
            format!("node {n} ({}) `{name}` of {len} values", node.op_type)
        }
        6 => {
            let op = ["Relu", "Conv", "MaxPool", "Reshape", "Loop", "If", "Scan", "NoSuchOp", "Gather", "Concat", "Softmax", "Sin"];
            let op = op[rng.below(op.len())];
            let before = std::mem::replace(&mut graph.node[n].op_type, op.into());
            format!("node {n}: {before} → {op}")
        }
        7 => {
            let removed = graph.node.remove(n);
            format!("node {n} ({}) removed", removed.op_type)
        }
        8 => {
            let node = &mut graph.node[n];
            let value = ABSURD[rng.below(ABSURD.len())];
            match node.attribute.first_mut() {
                Some(attribute) => {
                    attribute.i = value;
                    attribute.ints.iter_mut().for_each(|v| *v = value);
                    format!("node {n} ({}) `{}` = {value}", node.op_type, attribute.name)
                }
                None => "no attribute".into(),
            }
        }
        9 => {
            // An integer constant (a Reshape's shape, a Slice's bounds) holding absurd values.
            let i = rng.below(graph.initializer.len().max(1));
            match graph.initializer.get_mut(i).filter(|t| !t.int64_data.is_empty() || t.data_type == 7) {
                Some(init) => {
                    let value = ABSURD[rng.below(ABSURD.len())];
                    init.int64_data = vec![value; init.dims.iter().product::<i64>().clamp(1, 8) as usize];
                    init.raw_data.clear();
                    format!("integer constant `{}` = {value}", init.name)
                }
                None => "no integer constant".into(),
            }
        }
        _ => {
            let other = rng.below(nodes);
            graph.node.swap(n, other);
            format!("nodes {n} and {other} swapped")
        }
    }
}

fn set_input(node: &mut pb::NodeProto, slot: usize, name: String) {
    match node.input.get_mut(slot) {
        Some(input) => *input = name,
        None => node.input.push(name),
    }
}

fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// A small generator; the seed comes from the clock, each found input is saved as it was.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}
