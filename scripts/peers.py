"""Peer benchmark: what the same LayerCAM work costs in PyTorch and its CAM libraries, on this CPU.

Optional. `layercam bench` runs this script and prints its figures as ratios next to ours; nothing
else (CI included) needs it. Without the Python packages it prints one `{"skip": ...}` line and
exits 0.

The model is models/efficientnet_lite0.onnx converted with onnx2torch, so PyTorch runs literally the
same graph as our engine and onnxruntime. It measures (milliseconds, median of --runs after a
warm-up, `torch_threads` intra-op threads unless the name says 1t):

  torch_forward_ms               forward only, under no_grad
  torch_image_ms                 preprocess the decoded image, forward, gradients of the top-1 logit
                                 and LayerCAM of the five default layers (also torch_image_1t_ms)
  torch_five_classes_ms          forward and the gradients of the top-5 logits for the five layers
  torchcam_folder_ms_per_image   torchcam.methods.LayerCAM on the five layers over --folder-images
                                 files: decode, preprocess, forward, CAM; total / files
  gradcam_ms_per_layer_call      pytorch_grad_cam.LayerCAM, one target layer per call (what it
                                 supports); the mean over the five layers of each layer's median
  ort_forward_2t_ms, ort_forward_1t_ms   onnxruntime forward, intra_op_num_threads 2 and 1

Before timing it checks that PyTorch's logits and hooked activations match onnxruntime's within
1e-3 and that chelsea.png comes out as class 282 (tiger cat); a failed check exits non-zero.

    python3 scripts/peers.py [--image samples/chelsea.png] [--runs 10] [--folder-images 40]

One JSON object goes to stdout; progress and details go to stderr.
"""

import argparse
import importlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "efficientnet_lite0.onnx"
CHELSEA = ROOT / "samples" / "chelsea.png"
TIGER_CAT = 282
# The tensors `layercam` explains by default, and the map sizes LayerCAM must give for them.
LAYERS = ["hardtanh_1", "hardtanh_5", "hardtanh_9", "hardtanh_21", "head_act_out"]
MAP_SIDES = [112, 56, 28, 14, 7]
TOLERANCE = 1e-3
THREADS = 2  # the bench machine's core count

# module -> PyPI name; core ones are needed for every figure, peer ones only for their own.
CORE = {
    "numpy": "numpy",
    "PIL": "pillow",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "torch": "torch",
    "onnx2torch": "onnx2torch",
}
PEERS = {"torchcam": "torchcam", "pytorch_grad_cam": "grad-cam"}
PIP = "pip install " + " ".join([*CORE.values(), *PEERS.values()])


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def importable(module):
    # A broken install (say torch without its shared libraries) counts as missing, not as a crash.
    try:
        importlib.import_module(module)
        return True
    except Exception:  # noqa: BLE001
        return False


def median_ms(fn, runs):
    fn()  # warm-up: first-call allocations, oneDNN primitive caches, thread-pool start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def fail(message):
    log(f"peers.py: check failed: {message}")
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default=str(CHELSEA))
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--folder-images", type=int, default=40)
    args = parser.parse_args()
    if args.runs < 1 or args.folder_images < 1:
        parser.error("--runs and --folder-images must be at least 1")

    have_torchcam, have_gradcam = importable("torchcam"), importable("pytorch_grad_cam")
    missing = [pip for module, pip in CORE.items() if not importable(module)]
    if missing:
        missing += [pip for have, pip in zip((have_torchcam, have_gradcam), PEERS.values()) if not have]
        print(json.dumps({"skip": f"missing Python packages: {', '.join(missing)}; install with: {PIP}"}))
        return
    skipped = {}
    if not have_torchcam:
        skipped["torchcam_folder_ms_per_image"] = "torchcam missing: pip install torchcam"
    if not have_gradcam:
        skipped["gradcam_ms_per_layer_call"] = "grad-cam missing: pip install grad-cam"

    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    from onnx2torch import convert
    from PIL import Image

    torch.set_num_threads(THREADS)

    def load(path):
        image = Image.open(path)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            # Composite over white, as our decoder does, rather than dropping the alpha channel.
            image = image.convert("RGBA")
            return Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
        return image.convert("RGB")

    def preprocess(image):
        # TF EfficientNet-Lite eval: central crop of 224/256 of the short side, bicubic to 224².
        width, height = image.size
        side = int(224 / (224 + 32) * min(height, width))
        top, left = (height - side + 1) // 2, (width - side + 1) // 2
        crop = image.crop((left, top, left + side, top + side)).resize((224, 224), Image.Resampling.BICUBIC)
        pixels = (np.asarray(crop, dtype=np.float32) - 127.0) / 128.0
        return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None]

    # --- the model: converted for torch and the CAM libraries, the file itself for onnxruntime ---
    graph = onnx.load(MODEL)
    # onnx2torch refuses Reshape(allowzero=1); the shape here is [1, -1], which has no zero, so
    # allowzero=0 means the same.
    for node in graph.graph.node:
        for attribute in node.attribute:
            if node.op_type == "Reshape" and attribute.name == "allowzero":
                attribute.i = 0
    model = convert(graph).eval()
    # onnx2torch names each module after the ONNX node, so a tensor's producer is its module.
    producer = {output: node.name for node in graph.graph.node for output in node.output}
    modules = [model.get_submodule(producer[name]) for name in LAYERS]

    def session(threads, onnx_model=None):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        source = onnx_model.SerializeToString() if onnx_model is not None else str(MODEL)
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])

    class Taps:
        """Forward hooks that keep the five layers' outputs (still in the autograd graph)."""

        def __enter__(self):
            self.acts = [None] * len(modules)

            def keep(index):
                return lambda _module, _inputs, output: self.acts.__setitem__(index, output)

            self.handles = [module.register_forward_hook(keep(i)) for i, module in enumerate(modules)]
            return self

        def __exit__(self, *_):
            for handle in self.handles:
                handle.remove()

    def layercam(acts, grads):
        with torch.no_grad():
            return [torch.relu((torch.relu(g) * a).sum(1))[0] for a, g in zip(acts, grads)]

    # --- correctness, once ------------------------------------------------------------------------
    chelsea = preprocess(load(CHELSEA))
    probe = onnx.load(MODEL)
    probe.graph.output.extend(onnx.helper.make_empty_tensor_value_info(name) for name in LAYERS)
    ort_logits, *ort_acts = session(THREADS, probe).run(["logits", *LAYERS], {"input": chelsea.numpy()})
    with Taps() as taps, torch.no_grad():
        logits = model(chelsea)
        differences = {"logits": float(np.abs(logits.numpy() - ort_logits).max())}
        for name, act, reference in zip(LAYERS, taps.acts, ort_acts):
            differences[name] = float(np.abs(act.numpy() - reference).max())
    log("max |torch − onnxruntime|:", ", ".join(f"{k} {v:.2e}" for k, v in differences.items()))
    if max(differences.values()) > TOLERANCE:
        fail(f"torch and onnxruntime differ by more than {TOLERANCE}: {differences}")
    if int(logits.argmax()) != TIGER_CAT:
        fail(f"chelsea.png is class {int(logits.argmax())}, expected {TIGER_CAT} (tiger cat)")

    image = load(args.image)
    x = preprocess(image)

    def explain(decoded):
        with Taps() as taps:
            logits = model(preprocess(decoded))
        # autograd.grad to the five activations only: no parameter gradients, no backward below
        # hardtanh_1 — less than loss.backward() would do.
        grads = torch.autograd.grad(logits[0, int(logits.argmax())], taps.acts)
        return layercam(taps.acts, grads)

    shapes = [tuple(cam.shape) for cam in explain(image)]
    if shapes != [(side, side) for side in MAP_SIDES]:
        fail(f"LayerCAM map shapes {shapes}, expected sides {MAP_SIDES}")

    def five_classes_loop():
        with Taps() as taps:
            logits = model(x)
        top5 = logits[0].topk(5).indices.tolist()
        return [torch.autograd.grad(logits[0, c], taps.acts, retain_graph=i < 4) for i, c in enumerate(top5)]

    def five_classes_batched():
        # One vmapped backward with five one-hot seeds instead of five backward passes.
        with Taps() as taps:
            logits = model(x)
        seeds = torch.zeros(5, *logits.shape)
        seeds[torch.arange(5), 0, logits[0].topk(5).indices] = 1.0
        return torch.autograd.grad(logits, taps.acts, grad_outputs=seeds, is_grads_batched=True)

    looped, batched = five_classes_loop(), five_classes_batched()
    for k in range(5):
        for layer in range(len(LAYERS)):
            if not torch.allclose(looped[k][layer], batched[layer][k], atol=1e-5):
                fail(f"batched and looped gradients differ for class rank {k}, {LAYERS[layer]}")
    log("checks passed: logits and layer tensors match onnxruntime, chelsea → 282, map shapes", shapes)

    # --- timings ---------------------------------------------------------------------------------
    result = {"torch_threads": THREADS}

    def forward():
        with torch.no_grad():
            model(x)

    result["torch_forward_ms"] = median_ms(forward, args.runs)
    result["torch_image_ms"] = median_ms(lambda: explain(image), args.runs)
    torch.set_num_threads(1)
    result["torch_image_1t_ms"] = median_ms(lambda: explain(image), args.runs)
    torch.set_num_threads(THREADS)
    # Report whichever of torch's two correct ways is faster here.
    loop_ms = median_ms(five_classes_loop, args.runs)
    batched_ms = median_ms(five_classes_batched, args.runs)
    log(f"five classes: 5 × autograd.grad {loop_ms:.1f} ms, one vmapped autograd.grad {batched_ms:.1f} ms")
    result["torch_five_classes_ms"] = min(loop_ms, batched_ms)
    log(f"torch: forward {result['torch_forward_ms']:.1f} ms, image {result['torch_image_ms']:.1f} ms")

    if have_torchcam:
        from torchcam.methods import LayerCAM as TorchcamLayerCAM

        with tempfile.TemporaryDirectory() as folder:
            suffix = Path(args.image).suffix
            paths = [Path(folder) / f"{i:04d}{suffix}" for i in range(args.folder_images)]
            for path in paths:
                shutil.copyfile(args.image, path)
            with TorchcamLayerCAM(model, [producer[name] for name in LAYERS]) as extractor:

                def torchcam_one(path):
                    scores = model(preprocess(load(path)))
                    return extractor(class_idx=int(scores.argmax()), scores=scores)

                torchcam_one(paths[0])  # warm-up
                start = time.perf_counter()
                for path in paths:
                    torchcam_one(path)
                total = time.perf_counter() - start
        result["torchcam_folder_ms_per_image"] = total * 1e3 / len(paths)
        log(f"torchcam: {len(paths)} files in {total:.2f} s")

    if have_gradcam:
        from pytorch_grad_cam import LayerCAM as GradcamLayerCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        with torch.no_grad():
            target = [ClassifierOutputTarget(int(model(x).argmax()))]
        per_layer = {}
        for name, module in zip(LAYERS, modules):
            with GradcamLayerCAM(model=model, target_layers=[module]) as cam:
                per_layer[name] = median_ms(lambda: cam(input_tensor=x, targets=target), args.runs)
        log("grad-cam per call:", ", ".join(f"{k} {v:.1f} ms" for k, v in per_layer.items()))
        result["gradcam_ms_per_layer_call"] = statistics.mean(per_layer.values())

    feed = {"input": x.numpy()}
    for threads in (2, 1):
        run = session(threads).run
        result[f"ort_forward_{threads}t_ms"] = median_ms(lambda run=run: run(["logits"], feed), args.runs)

    def version(distribution):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return None

    distributions = ("torch", "onnxruntime", "torchcam", "grad-cam", "onnx2torch")
    result["versions"] = {name: version(name) for name in distributions}
    if skipped:
        result["skipped"] = skipped
    print(json.dumps(result))


if __name__ == "__main__":
    main()
