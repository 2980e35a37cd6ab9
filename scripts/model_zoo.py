"""Which classifiers people bring does layercam explain? Exports torchvision architectures with
seeded random weights (no download needed) through both torch exporters — TorchScript at opsets 13
and 17, dynamo at 18 — and runs `layercam layers` and `layercam explain` on each, printing the
README's table: architecture × exporter × opset → ✅ (layers found, maps written) or the failing
message. Run by hand, not by CI:

    python scripts/model_zoo.py [--layercam target/release/layercam] [--out /tmp/zoo] [ARCH ...]

Needs torch, torchvision, onnx and onnxscript (for the dynamo exporter).
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

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
    return torchvision.models.get_model(name, weights=None, **kwargs).eval()


def export(model, path, opset, dynamo):
    import torch

    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), opset_version=opset, dynamo=dynamo, input_names=["input"], output_names=["logits"])


def run(layercam, args):
    done = subprocess.run([layercam, *args], capture_output=True, text=True, timeout=600)
    lines = (done.stderr or done.stdout).strip().splitlines()
    return done.returncode, (lines[-1] if lines else "")


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
            code, message = run(options.layercam, ["layers", "--model", str(path)])
            if code == 0:
                image = str(ROOT / "samples/chelsea.png")
                code, message = run(options.layercam, ["explain", "--model", str(path), "--image", image,
                                                       "--device", "cpu", "--out", str(out / f"{path.stem}-maps")])
            results[key] = "✅" if code == 0 else message.removeprefix("error: ")
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
