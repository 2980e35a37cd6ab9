"""References for the methods beyond the paper's, on the CI's model zoo (tests/fixtures/zoo, made by
make_zoo_fixtures.py): each fixture's layers and class, their activations and gradients by torch
autograd over the same ONNX graph (torch_reference.py), and the raw maps of pytorch-grad-cam
1.5.x's own definitions — its classes' `get_cam_image` (HiResCAM, GradCAMElementWise, XGradCAM,
ScoreCAM; the latter's masked forward passes through the converted model) and its
`get_2d_projection_with_sign_correction` for EigenCAM and EigenGradCAM (the library's EigenCAM calls
`get_2d_projection`, whose sign is whatever LAPACK returns; the script counts how often it differs)
— in float64, then in float32 for what torch float32 itself misses. For two fixtures also every
method under eigen_smooth (with the sign-corrected projection) and aug_smooth (ttach's flips and
multiplications, each map min-max scaled by the library's `scale_cam_image` and mirrored back, at
the layer's resolution); and torch float32's own error, at the input and at its worst over three
inputs moved by ±1e-6 (the brief's noise for the chaotic HiResCAM). tests/integration/methods_golden.rs
checks layercam against them.

Run by hand, not by CI (torch, onnx, onnx2torch, grad-cam 1.5.x, ttach):

    python scripts/make_method_fixtures.py [NAME ...]

writes tests/fixtures/zoo/NAME/{float64/METHOD/LAYER.npy, float64/eigen-smooth/METHOD/LAYER.npy,
float64/aug-smooth/METHOD/LAYER.npy, methods.json}.
"""
import argparse
import contextlib
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch

import torch_reference as ref

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests/fixtures/zoo"
# The methods this script references (make_zoo_fixtures.py references the paper's) and, for the
# smoothings, every method layercam has (LayerCAM-normal is HiResCAM's map).
METHODS = ("hirescam", "gradcam-elementwise", "xgradcam", "eigencam", "eigengradcam", "scorecam")
EVERY = ("layercam", "gradcam", "gradcam++") + METHODS
SMOOTHED = {"resnet50-torchscript-17", "vit_b_16-dynamo-18"}
# Signed sums that cancel (HiResCAM, LayerCAM-normal) are chaotic: torch float32's own error at one
# input is luck. Their noise is torch float32's worst error over a few inputs moved by ±1e-6
# (uniform), and twice it is allowed.
NUDGE = 1e-6
NUDGES = 3


def library_cam(method):
    """The pytorch-grad-cam object whose `get_cam_image` defines `method`, without a model's hooks
    (only Score-CAM's weights run the model: `score_model`)."""
    from pytorch_grad_cam import (
        GradCAM, GradCAMElementWise, GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM, XGradCAM)

    classes = {"layercam": LayerCAM, "gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "hirescam": HiResCAM,
               "gradcam-elementwise": GradCAMElementWise, "xgradcam": XGradCAM, "scorecam": ScoreCAM}
    cam = object.__new__(classes[method])
    cam.activations_and_grads = types.SimpleNamespace(release=lambda: None)  # what its __del__ releases
    return cam


class Logits(torch.nn.Module):
    """The converted ONNX model taking a [N, 3, H, W] batch, as Score-CAM feeds it its masked inputs."""

    def __init__(self, module, channels_last):
        super().__init__()
        self.module, self.channels_last = module, channels_last

    def forward(self, x):
        return self.module(x.permute(0, 2, 3, 1) if self.channels_last else x)


def score_model(onnx_path, dtype, x):
    """The model for Score-CAM's passes, and how many inputs it takes at once: 16 (the library's
    default batch) where a batch gives each input its own logits, else 1 (an export may fix the batch)."""
    import onnx
    from onnx2torch import convert

    model = ref.for_onnx2torch(onnx.load(str(onnx_path)))
    channels_last = ref.in_model_layout(model, np.zeros((1, 3, 2, 2), np.float32)).shape[-1] == 3
    logits = Logits(convert(model).to(dtype).eval(), channels_last)
    one = torch.from_numpy(x).to(dtype)
    with torch.no_grad():
        try:
            batched = logits(torch.cat([one, 0.5 * one]))
            alone = torch.cat([logits(one), logits(0.5 * one)])
            batch = 16 if batched.shape == alone.shape and torch.allclose(batched, alone, rtol=1e-5, atol=1e-6) else 1
        except RuntimeError:
            batch = 1
    return logits, batch


class Float64Numpy:
    """numpy, except that `float32(x)` keeps x as it is: the library's helpers (`scale_cam_image`,
    the projections) cast their results to float32, which the float64 reference must not."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def float32(x):
        return np.asarray(x)


@contextlib.contextmanager
def library_in(dtype, sign_corrected_smoothing=False):
    """pytorch-grad-cam's helpers in `dtype` (float64: no float32 casts; torch.Tensor(list), which
    Score-CAM builds its scores with, in the default dtype), and with eigen_smooth projecting through
    the sign-corrected projection (the brief's choice: the uncorrected one's sign is arbitrary)."""
    import pytorch_grad_cam.base_cam as base
    import pytorch_grad_cam.grad_cam_elementwise as elementwise
    import pytorch_grad_cam.hirescam as hirescam
    import pytorch_grad_cam.layer_cam as layer_cam
    import pytorch_grad_cam.utils.image as image
    import pytorch_grad_cam.utils.svd_on_activations as svd

    modules = [base, elementwise, hirescam, layer_cam]
    saved = ([(m, m.get_2d_projection) for m in modules], svd.np, image.np, torch.get_default_dtype())
    if dtype == torch.float64:
        svd.np = image.np = Float64Numpy()
        torch.set_default_dtype(torch.float64)
    if sign_corrected_smoothing:
        for module in modules:
            module.get_2d_projection = svd.get_2d_projection_with_sign_correction
    try:
        yield svd
    finally:
        for module, function in saved[0]:
            module.get_2d_projection = function
        svd.np, image.np = saved[1], saved[2]
        torch.set_default_dtype(saved[3])


def raw_map(method, a, g, x, cls, model, eigen_smooth):
    """`method`'s raw map (after the library's relu, before its scaling) of one layer: `a`, `g` are
    [C, H, W], `x` the [1, 3, H, W] input the activations come from."""
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection_with_sign_correction as projection

    if method == "eigencam":
        cam = projection(a[None])
    elif method == "eigengradcam":
        cam = projection((g * a)[None])
    else:
        library = library_cam(method)
        if method == "scorecam":
            (library.model, library.batch_size), library.device = model, torch.device("cpu")
        input_tensor = torch.from_numpy(x)
        cam = library.get_cam_image(input_tensor, None, [ClassifierOutputTarget(cls)], a[None], g[None], eigen_smooth)
    return np.maximum(cam, 0)[0]


def shapes_of(tensors):
    """Each layer's map shape [C, H, W]; a transformer's tokens [N, D] laid out as layercam does
    (N = s² + 1 or s² + 2)."""
    shapes = []
    for t in tensors:
        if t.ndim == 3:
            shapes.append(list(t.shape))
            continue
        n, d = t.shape
        side = int(np.sqrt(n))
        shapes.append([d, side, side])
    return shapes


def tensors(onnx_path, x, layers, cls, dtype):
    """Each layer's activation and gradient as maps [C, H, W] (float64 numpy) of `x` for `cls`."""
    import onnx
    from onnx2torch import convert

    model = ref.for_onnx2torch(onnx.load(str(onnx_path)))
    assert not {o.name for o in model.graph.output} & set(layers), "a layer is a graph output already"
    model.graph.output.extend(onnx.ValueInfoProto(name=layer) for layer in layers)
    module = convert(model).to(dtype).eval()
    outputs = module(torch.from_numpy(ref.in_model_layout(model, x)).to(dtype))
    found = outputs[1 : 1 + len(layers)]
    grads = torch.autograd.grad(outputs[0][0, cls], found)
    shapes = shapes_of([t.detach()[0] for t in found])
    maps = lambda ts: [ref.as_map(t.detach()[0].double().numpy(), s) for t, s in zip(ts, shapes)]  # noqa: E731
    return maps(found), maps(grads)


def maps_of(folder, x, layers, cls, dtype, methods, eigen_smooth=False):
    """{method: [raw map per layer]} of `x`, everything in `dtype`."""
    acts, grads = tensors(folder / "model.onnx", x, layers, cls, dtype)
    model = score_model(folder / "model.onnx", dtype, x) if "scorecam" in methods else None
    to = np.float64 if dtype == torch.float64 else np.float32
    xs = x.astype(to)
    with library_in(dtype, sign_corrected_smoothing=eigen_smooth):
        return {m: [raw_map(m, a.astype(to), g.astype(to), xs, cls, model, eigen_smooth).astype(np.float64)
                    for a, g in zip(acts, grads)] for m in methods}


def aug_smoothed(folder, x, layers, cls, dtype, methods):
    """aug_smooth at the layer's resolution: for each of the library's default augmentations
    (ttach's HorizontalFlip × Multiply([0.9, 1, 1.1])), each method's raw map min-max scaled by
    `scale_cam_image` (no resize), mirrored back by the transform's `deaugment_mask`; the mean."""
    import ttach as tta
    from pytorch_grad_cam.utils.image import scale_cam_image

    transforms = tta.Compose([tta.HorizontalFlip(), tta.Multiply(factors=[0.9, 1, 1.1])])
    per_aug = []
    for transform in transforms:
        augmented = transform.augment_image(torch.from_numpy(x)).numpy()
        maps = maps_of(folder, augmented, layers, cls, dtype, methods)
        with library_in(dtype):
            back = {m: [transform.deaugment_mask(torch.from_numpy(scale_cam_image(r[None])[:, None]))[0, 0].numpy()
                        for r in per_layer] for m, per_layer in maps.items()}
        per_aug.append(back)
    return {m: [np.mean([aug[m][i] for aug in per_aug], axis=0).astype(np.float64) for i in range(len(layers))] for m in methods}


def errors(maps, exact):
    """[(max, median) of |maps − exact| / max |exact| per layer] per method."""
    return {m: [ref.errors(a, b) for a, b in zip(maps[m], exact[m])] for m in exact}


def nudged_noise(folder, x, layers, cls, methods, smoothing=None):
    """Per method and layer, torch float32's worst (max, median) error against float64 over NUDGES
    inputs moved by ±NUDGE. Not for Score-CAM (0): a softmax of logits is no cancelling sum, and its
    passes are the slow part of this script."""
    rng = np.random.default_rng(0)
    worst = {m: [(0.0, 0.0)] * len(layers) for m in methods}
    methods = tuple(m for m in methods if m != "scorecam")
    for _ in range(NUDGES):
        moved = x + rng.uniform(-NUDGE, NUDGE, x.shape)
        if smoothing == "aug-smooth":
            exact = aug_smoothed(folder, moved, layers, cls, torch.float64, methods)
            f32 = aug_smoothed(folder, moved.astype(np.float32), layers, cls, torch.float32, methods)
        else:
            eigen = smoothing == "eigen-smooth"
            exact = maps_of(folder, moved, layers, cls, torch.float64, methods, eigen_smooth=eigen)
            f32 = maps_of(folder, moved.astype(np.float32), layers, cls, torch.float32, methods, eigen_smooth=eigen)
        for m, per_layer in errors(f32, exact).items():
            worst[m] = [tuple(max(a, b) for a, b in zip(w, e)) for w, e in zip(worst[m], per_layer)]
    return worst


def library_eigencam_sign(folder, x, layers, cls):
    """How many layers' maps the library's own EigenCAM (uncorrected `get_2d_projection`) gives with
    the other sign than the sign-corrected projection: relu of the negated projection differs."""
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection, get_2d_projection_with_sign_correction

    acts, grads = tensors(folder / "model.onnx", x, layers, cls, torch.float64)
    flips = 0
    for a, g in zip(acts, grads):
        for t in (a, g * a):
            flips += int(np.dot(get_2d_projection(t[None]).ravel(), get_2d_projection_with_sign_correction(t[None]).ravel()) < 0)
    return flips, 2 * len(layers)


def save(folder, kind, maps):
    for m, per_layer in maps.items():
        out = folder / "float64" / kind / m if kind else folder / "float64" / m
        out.mkdir(parents=True, exist_ok=True)
        for i, exact in enumerate(per_layer):
            np.save(out / f"{i}.npy", exact)


def make(folder):
    x = np.load(FIXTURES / "input.npy").astype(np.float64)
    reference = json.loads((folder / "reference.json").read_text())
    layers, cls = reference["layers"], reference["class"]
    cases = [("", METHODS)]
    if folder.name in SMOOTHED:
        # eigen_smooth changes neither EigenCAM nor EigenGradCAM (they are projections already).
        cases += [("eigen-smooth", tuple(m for m in EVERY if not m.startswith("eigen"))), ("aug-smooth", EVERY)]
    report = {"layers": layers, "class": cls}
    for kind, methods in cases:
        eigen = kind == "eigen-smooth"
        if kind == "aug-smooth":
            exact = aug_smoothed(folder, x, layers, cls, torch.float64, methods)
            f32 = aug_smoothed(folder, x.astype(np.float32), layers, cls, torch.float32, methods)
        else:
            exact = maps_of(folder, x, layers, cls, torch.float64, methods, eigen_smooth=eigen)
            f32 = maps_of(folder, x.astype(np.float32), layers, cls, torch.float32, methods, eigen_smooth=eigen)
        noise = nudged_noise(folder, x, layers, cls, methods, kind or None)
        save(folder, kind, exact)
        torch32 = errors(f32, exact)
        key = kind or "plain"
        report[key] = {m: {"torch_float32_max_error": [e[0] for e in torch32[m]], "torch_float32_median_error": [e[1] for e in torch32[m]],
                           "nudged_max_error": [e[0] for e in noise[m]], "nudged_median_error": [e[1] for e in noise[m]]} for m in methods}
        for m in methods:
            worst32 = max(e[0] for e in torch32[m])
            worst_noise = max(e[0] for e in noise[m])
            print(f"  {key:<12} {m:<20} torch float32 {worst32:.1e}, at inputs moved by ±{NUDGE:g} {worst_noise:.1e} (worst layer, of the max)")
    flips, total = library_eigencam_sign(folder, x, layers, cls)
    report["library_eigen_sign_flips"] = [flips, total]
    print(f"  the library's EigenCAM/EigenGradCAM (uncorrected sign) negate {flips} of {total} projections")
    (folder / "methods.json").write_text(json.dumps(report, indent=1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    options = parser.parse_args()
    torch.set_num_threads(1)
    folders = [FIXTURES / n for n in options.names] if options.names else sorted(p for p in FIXTURES.iterdir() if p.is_dir())
    torch.manual_seed(0)
    for folder in folders:
        print(folder.name, flush=True)
        make(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
