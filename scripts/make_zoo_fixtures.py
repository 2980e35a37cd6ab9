"""The CI's model zoo: narrow variants of the architectures people bring (torchvision's own classes and
blocks, few channels, seeded weights, 64×64 input), exported by both torch exporters, each with
torch autograd's float64 maps at layercam's automatic layers and what torch float32 misses of them.
tests/integration/model_zoo.rs checks layercam against these. Run by hand, not by CI (needs torch, torchvision,
onnx, onnxscript, onnx2torch and a release build):

    python scripts/make_zoo_fixtures.py [--layercam target/release/layercam] [NAME ...]

writes tests/fixtures/zoo/input.npy (the photo every fixture explains) and
tests/fixtures/zoo/NAME-EXPORTER-OPSET/{model.onnx, reference.json, float64/METHOD/LAYER.npy}, and
prints layercam's errors against them.
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

import torch_reference as ref

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests/fixtures/zoo"
SIZE = 64
# TorchScript at 13 and 17, dynamo at 18. Opset 13 writes LayerNorm and attention differently (decomposed,
# no fused attention op); for the CNNs its graph is opset 17's, so they are exported at 17 only.
EXPORTS = [("torchscript", 13, False), ("torchscript", 17, False), ("dynamo", 18, True)]
OPSET_13_DIFFERS = {"convnext_tiny", "vit_b_16"}


def narrow_resnet50():
    from torchvision.models.resnet import Bottleneck, ResNet

    model = ResNet(Bottleneck, [3, 4, 6, 3], num_classes=10, width_per_group=64)
    # ResNet's widths are fixed (64…512): rebuild its stages 16× narrower with its own _make_layer.
    model.inplanes = 4
    model.conv1 = torch.nn.Conv2d(3, 4, 7, 2, 3, bias=False)
    model.bn1 = torch.nn.BatchNorm2d(4)
    for i, width in enumerate([4, 8, 16, 32]):
        setattr(model, f"layer{i + 1}", model._make_layer(Bottleneck, width, [3, 4, 6, 3][i], stride=1 if i == 0 else 2))
    model.fc = torch.nn.Linear(32 * 4, 10)
    return model


def narrow_vgg16_bn():
    from torchvision.models.vgg import VGG, make_layers

    cfg = [4, 4, "M", 8, 8, "M", 16, 16, 16, "M", 16, 16, 16, "M", 16, 16, 16, "M"]
    model = VGG(make_layers(cfg, batch_norm=True), num_classes=10)
    # VGG's 7×7 pooling and 4096-wide head want a 224² input and 100M weights: the same ops, smaller.
    model.avgpool = torch.nn.AdaptiveAvgPool2d(1)
    model.classifier = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(True), torch.nn.Dropout(), torch.nn.Linear(32, 10))
    return model


def narrow_densenet121():
    from torchvision.models import DenseNet

    return DenseNet(growth_rate=4, block_config=(6, 12, 24, 16), num_init_features=8, bn_size=2, num_classes=10)


def narrow_mobilenet_v3():
    from torchvision.models import mobilenetv3

    setting, _ = mobilenetv3._mobilenet_v3_conf("mobilenet_v3_large", width_mult=0.1)
    return mobilenetv3.MobileNetV3(setting, 32, num_classes=10)


def narrow_efficientnet_b0():
    from torchvision.models import efficientnet

    setting, _ = efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.1, depth_mult=0.5)
    return efficientnet.EfficientNet(setting, 0.2, num_classes=10, last_channel=32)


def narrow_regnet():
    from torchvision.models import regnet

    params = regnet.BlockParams.from_init_params(depth=6, w_0=8, w_a=8.0, w_m=2.0, group_width=8, se_ratio=0.25)
    return regnet.RegNet(params, num_classes=10, stem_width=8)


def narrow_convnext_tiny():
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt

    return ConvNeXt([CNBlockConfig(4, 8, 3), CNBlockConfig(8, 16, 3), CNBlockConfig(16, 32, 9), CNBlockConfig(32, None, 3)], num_classes=10)


def narrow_squeezenet1_1():
    from torchvision.models.squeezenet import Fire

    # SqueezeNet 1.1's layout (ceil-mode pools, Fire modules, conv classifier), 4× narrower.
    pool = lambda: torch.nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, 2), torch.nn.ReLU(True), pool(), Fire(16, 4, 16, 16), Fire(32, 4, 16, 16), pool(),
        Fire(32, 8, 32, 32), Fire(64, 8, 32, 32), pool(), Fire(64, 12, 48, 48), Fire(96, 16, 64, 64),
        torch.nn.Dropout(0.5), torch.nn.Conv2d(128, 10, 1), torch.nn.ReLU(True), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
    )


def narrow_googlenet():
    from torchvision.models.googlenet import BasicConv2d, Inception

    # GoogLeNet's stem and two inception stages (four parallel branches, ceil-mode pools), 8× narrower.
    pool = lambda: torch.nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    return torch.nn.Sequential(
        BasicConv2d(3, 8, kernel_size=7, stride=2, padding=3), pool(), BasicConv2d(8, 8, kernel_size=1),
        BasicConv2d(8, 24, kernel_size=3, padding=1), pool(), Inception(24, 8, 12, 16, 2, 4, 4), Inception(32, 16, 16, 24, 4, 12, 8),
        pool(), Inception(60, 24, 12, 26, 2, 6, 8), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10),
    )


def narrow_vit_b_16():
    from torchvision.models.vision_transformer import VisionTransformer

    model = VisionTransformer(image_size=SIZE, patch_size=16, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10)
    # torchvision starts the head at zero (constant logits, zero gradients): seeded instead.
    torch.nn.init.normal_(model.heads.head.weight, std=0.5)
    return model


class ChannelsLast(torch.nn.Module):
    """A model taking [N, H, W, C] as tf2onnx's Keras exports do: one Transpose to channels first."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x.permute(0, 3, 1, 2))


ARCHITECTURES = {
    "vgg16_bn": narrow_vgg16_bn, "resnet50": narrow_resnet50, "densenet121": narrow_densenet121,
    "mobilenet_v3_large": narrow_mobilenet_v3, "efficientnet_b0": narrow_efficientnet_b0, "regnet": narrow_regnet,
    "convnext_tiny": narrow_convnext_tiny, "squeezenet1_1": narrow_squeezenet1_1, "googlenet": narrow_googlenet,
    "vit_b_16": narrow_vit_b_16, "resnet50_nhwc": lambda: ChannelsLast(narrow_resnet50()),
}


def seeded(build):
    torch.manual_seed(0)
    # The fused attention kernel of eval mode has no ONNX export; the plain one does the same maths.
    torch.backends.mha.set_fastpath_enabled(False)
    model = build().eval()
    # Seeded BatchNorm statistics, so that the folded scales are not all 1.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model


def export(model, path, opset, dynamo):
    import onnx

    x = torch.zeros(1, SIZE, SIZE, 3) if isinstance(model, ChannelsLast) else torch.zeros(1, 3, SIZE, SIZE)
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), opset_version=opset, dynamo=dynamo, external_data=False,
                          input_names=["input"], output_names=["logits"])
    # The dynamo exporter keeps each node's Python stack trace: two thirds of a narrow model's bytes.
    exported = onnx.load(str(path))
    for node in exported.graph.node:
        node.doc_string = ""
        del node.metadata_props[:]
    onnx.save(exported, str(path))


def make(name, exporter, opset, dynamo, layercam, x):
    import onnx

    folder = FIXTURES / f"{name}-{exporter}-{opset}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    model = seeded(ARCHITECTURES[name])
    export(model, folder / "model.onnx", opset, dynamo)
    with torch.no_grad():
        exported = onnx.load(str(folder / "model.onnx"))
        cls = int(model.double()(torch.from_numpy(ref.in_model_layout(exported, x)).double()).argmax())
    layers, shapes, ours = ref.explain(layercam, folder / "model.onnx", x, cls, folder / "layercam")
    shutil.rmtree(folder / "layercam")
    reference, logits = ref.reference_maps(folder / "model.onnx", x, layers, shapes, cls)
    rows, passed = ref.compare(layers, ours, reference)
    for m in ref.METHODS:
        (folder / "float64" / m).mkdir(parents=True)
        for i, exact in enumerate(reference["float64"][m]):
            np.save(folder / "float64" / m / f"{i}.npy", exact)
    torch_errors = {f"torch_float32_{kind}_error": {m: [r[f"torch_float32_{kind}"] for r in rows if r["method"] == m] for m in ref.METHODS}
                    for kind in ("max", "median")}
    (folder / "reference.json").write_text(json.dumps({"class": cls, "layers": layers, "logits": logits.tolist(), **torch_errors}, indent=1))
    return passed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layercam", default=str(ROOT / "target/release/layercam"))
    parser.add_argument("names", nargs="*", default=list(ARCHITECTURES))
    options = parser.parse_args()
    x = ref.photo(SIZE)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    np.save(FIXTURES / "input.npy", x)
    failed = []
    for name in options.names:
        for exporter, opset, dynamo in EXPORTS:
            if opset == 13 and name not in OPSET_13_DIFFERS:
                continue
            print(f"{name} {exporter} {opset}", flush=True)
            try:
                if not make(name, exporter, opset, dynamo, options.layercam, x):
                    failed.append(f"{name}-{exporter}-{opset}")
            except Exception as err:  # an exporter's or layercam's refusal: reported, no fixture
                shutil.rmtree(FIXTURES / f"{name}-{exporter}-{opset}", ignore_errors=True)
                print(f"  no fixture: {str(err).strip().splitlines()[0][:160]}")
                failed.append(f"{name}-{exporter}-{opset}")
    print("failed: " + (", ".join(failed) or "none"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
