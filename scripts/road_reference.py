"""ROAD's removal masks and linear imputation from pytorch-grad-cam 1.5.x itself, on a small image, for
tests/integration/road.rs. Run by hand, not by CI (needs torch and grad-cam==1.5.*):

    python scripts/road_reference.py

writes tests/fixtures/road/: input.npy (float32 [1, 3, 12, 16], a smooth picture with noise, in the
units of a normalised input), map.npy (float32 [12, 16], a map without ties), and for MoRF and LeRF
at 10 … 90 % removed: removed.npy (uint8 [2, 9, 12, 16], 1 where pytorch-grad-cam removes the pixel)
and imputed.npy (float32 [2, 9, 1, 3, 12, 16], its NoisyLinearImputer with the noise set to 0).
pytorch-grad-cam names a share by the percentile it *keeps*: removing r % is its percentile 100 − r.
With 12 × 16 pixels (n − 1 = 191, a prime) no percentile falls on a whole index, so numpy's
floating-point percentile cannot round a pixel across the threshold.
"""
from pathlib import Path

import numpy as np
import torch
from pytorch_grad_cam.metrics.perturbation_confidence import RemoveLeastRelevantFirst, RemoveMostRelevantFirst
from pytorch_grad_cam.metrics.road import NoisyLinearImputer

OUT = Path(__file__).resolve().parent.parent / "tests/fixtures/road"
HEIGHT, WIDTH = 12, 16
PERCENTS = range(10, 100, 10)


class Recording(NoisyLinearImputer):
    """pytorch-grad-cam's imputer without noise, keeping the binary mask it is handed (1 = kept)."""

    def __init__(self):
        super().__init__(noise=0.0)
        self.mask = None

    def __call__(self, img, mask):
        self.mask = mask.clone()
        return super().__call__(img, mask)


def main():
    rng = np.random.default_rng(18)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH] / np.array([HEIGHT, WIDTH]).reshape(2, 1, 1)
    smooth = np.stack([np.sin(3 * x + c) + np.cos(2 * y - c) for c in range(3)])
    image = (smooth + 0.3 * rng.standard_normal((3, HEIGHT, WIDTH))).astype(np.float32)
    relevance = (np.exp(-((x - 0.6) ** 2 + (y - 0.4) ** 2) * 6) + 0.05 * rng.random((HEIGHT, WIDTH))).astype(np.float32)
    assert len(np.unique(relevance)) == relevance.size, "the map has no ties"

    removed = np.zeros((2, len(PERCENTS), HEIGHT, WIDTH), np.uint8)
    imputed = np.zeros((2, len(PERCENTS), 1, 3, HEIGHT, WIDTH), np.float32)
    for o, remover in enumerate([RemoveMostRelevantFirst, RemoveLeastRelevantFirst]):
        for i, percent in enumerate(PERCENTS):
            imputer = Recording()
            result = remover(100 - percent, imputer)(torch.from_numpy(image), torch.from_numpy(relevance))
            removed[o, i] = (imputer.mask.numpy() == 0).astype(np.uint8)
            imputed[o, i, 0] = result.numpy()
            print(f"{remover.__name__} {percent} % removed: {removed[o, i].sum()} of {relevance.size} pixels")

    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "input.npy", image[None])
    np.save(OUT / "map.npy", relevance)
    np.save(OUT / "removed.npy", removed)
    np.save(OUT / "imputed.npy", imputed)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
