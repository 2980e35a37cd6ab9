"""Which classifiers people bring does layercam explain? Exports torchvision architectures with
seeded random weights (no download needed) through both torch exporters — TorchScript at opsets 13
and 17, dynamo at 18 — runs `layercam explain` on each (samples/chelsea.png, 224², the class torch
ranks first) and compares every automatic layer's LayerCAM, Grad-CAM and Grad-CAM++ map with torch
autograd in float64 (torch_reference.py). Prints the README's table: architecture × exporter ×
opset → ✅ (every map right by the brief's rule), the worst map, or the failing message. Run by
hand, not by CI:

    python scripts/model_zoo.py [--layercam target/release/layercam] [--out /tmp/zoo] [ARCH ...]

Needs torch, torchvision, onnx, onnxscript (for the dynamo exporter) and onnx2torch.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch_reference as ref

ARCHITECTURES = [
    "vgg16", "vgg16_bn", "resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1",
    "densenet121", "googlenet", "efficientnet_b0", "convnext_tiny", "regnet_y_400mf", "vit_b_16",
]
EXPORTS = [("TorchScript", 13, False), ("TorchScript", 17, False), ("dynamo", 18, True)]
ROOT = Path(__file__).resolve().parent.parent


def build(name):
    import torch
    import torchvision

    torch.manual_seed(0)
    # The fused attention kernel of eval mode has no ONNX export; the plain one does the same maths.
    torch.backends.mha.set_fastpath_enabled(False)
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    model = torchvision.models.get_model(name, weights=None, **kwargs).eval()
    if name.startswith("vit"):
        # torchvision starts the head at zero (constant logits, zero gradients): seeded instead.
        torch.nn.init.normal_(model.heads.head.weight, std=0.5)
    return model


def export(model, path, opset, dynamo):
    import torch

    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), opset_version=opset, dynamo=dynamo, input_names=["input"], output_names=["logits"])


def check_maps(layercam, model, path, out):
    """✅ when every map of every automatic layer is right against torch float64, else the worst."""
    import torch

    x = ref.photo(224)
    with torch.no_grad():
        cls = int(model(torch.from_numpy(x)).argmax())
    layers, shapes, ours = ref.explain(layercam, path, x, cls, out)
    reference, _ = ref.reference_maps(path, x, layers, shapes, cls)
    rows, passed = ref.compare(layers, ours, reference)
    if passed:
        return f"✅ ({len(layers)} layers)"
    worst = max((r for r in rows if not r["ok"]), key=lambda r: r["max"] / ref.tolerance(r["torch_float32_max"]))
    return f"maps differ: {worst['method']} at `{worst['layer']}`, max error {worst['max']:.1e}, median {worst['median']:.1e}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layercam", default=str(ROOT / "target/release/layercam"))
    parser.add_argument("--out", default="/tmp/layercam-zoo")
    parser.add_argument("architectures", nargs="*", default=ARCHITECTURES)
    options = parser.parse_args()
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as missing:
        print(f"skipped: {missing.name} is not installed (pip install torch torchvision onnx onnxscript)")
        return 0
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in options.architectures:
        model = build(name)
        for exporter, opset, dynamo in EXPORTS:
            path = out / f"{name}-{exporter.lower()}-{opset}.onnx"
            key = f"{name} | {exporter} | {opset}"
            started = time.time()
            try:
                export(model, path, opset, dynamo)
            except Exception as err:  # the exporter's own failure, reported as such
                results[key] = f"export failed: {str(err).splitlines()[0][:120]}"
                print(f"{key}: {results[key]}", flush=True)
                continue
            try:
                results[key] = check_maps(options.layercam, model, path, out / f"{path.stem}-maps")
            except RuntimeError as refused:
                results[key] = str(refused).removeprefix("error: ")
            print(f"{key}: {results[key]} ({time.time() - started:.0f} s)", flush=True)
            path.unlink(missing_ok=True)  # VGG16 is 0.5 GB per export
            path.with_suffix(".onnx.data").unlink(missing_ok=True)
    (out / "zoo.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print("\n| architecture | exporter | opset | layercam |\n|---|---|---|---|")
    for key, result in results.items():
        print(f"| {key} | {result} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
