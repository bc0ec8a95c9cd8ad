"""ImageNet-C corruptions (Hendrycks & Dietterich, 2019) at severities 1-5.

The formulas and per-severity constants are those of the reference implementation, the
``imagecorruptions`` package 1.1.2 (Michaelis et al.), rewritten here because three of its
corruptions no longer run on this stack (glass_blur and gaussian_blur pass skimage's removed
``multichannel``; fog uses numpy's removed ``np.float_``) and because it draws from numpy's
global random state. Kept as in the reference, quirks included:

- each corruption returns floats in [0, 255] that are truncated to uint8 (``np.uint8``), as
  the reference's ``corrupt`` does;
- glass_blur's "swap" copies (``x[h, w], x[h', w'] = x[h', w'], x[h, w]`` on numpy views
  writes the neighbour into ``x[h, w]`` and leaves the neighbour as it was);
- frost draws one of the first five of its six frost images.

Randomness comes from the ``rng`` argument, drawn in the reference's order with the same
calls, so that a legacy ``np.random.RandomState`` seeded like the reference's global state
gives the reference's output (the tests do this); the pipeline passes a per-image
``np.random.Generator``. Any image size works: the reference assumes >= 32 px (its
``corrupt`` refuses smaller images) and was tuned for 224 px; see the README for what each
corruption does at 32 px and 8 px.
"""

from __future__ import annotations

import importlib.util
import math
from io import BytesIO
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from salsweep.params import OneOf, Param, Plugin
from salsweep.perturbations.base import PERTURBATIONS, Perturbation
from salsweep.perturbations.sweep import check_int

BENCHMARK_CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
EXTRA_CORRUPTIONS = ("speckle_noise", "gaussian_blur", "spatter", "saturate")

PARAMS = {
    "imagenet_c": Plugin(
        "An ImageNet-C corruption as the imagecorruptions package computes it; the level is "
        "the severity 1-5, 0 the identity. frost needs the frost images of the "
        "imagecorruptions package (pip install --no-deps imagecorruptions==1.1.2).",
        {
            "corruption": Param(
                None,
                "The corruption: one of the 15 benchmark ones or the 4 extra (validation) ones.",
                OneOf(*BENCHMARK_CORRUPTIONS, *EXTRA_CORRUPTIONS),
                required=True,
            )
        },
    )
}

FROST_INSTALL = "pip install --no-deps imagecorruptions==1.1.2"

Rng = np.random.Generator | np.random.RandomState


def _randint(rng: Rng, low: int, high: int, size: Any = None) -> Any:
    # The reference calls np.random.randint; a Generator spells it integers.
    if isinstance(rng, np.random.RandomState):
        return rng.randint(low, high, size=size)
    return rng.integers(low, high, size=size)


def _gaussian(x: np.ndarray, sigma: Any, **kwargs: Any) -> np.ndarray:
    from skimage.filters import gaussian

    return gaussian(x, sigma=sigma, **kwargs)


# --- helpers of the reference --------------------------------------------------------------


def _disk(radius: float, alias_blur: float) -> np.ndarray:
    import cv2

    if radius <= 8:
        grid, ksize = np.arange(-8, 8 + 1), (3, 3)
    else:
        grid, ksize = np.arange(-radius, radius + 1), (5, 5)
    xs, ys = np.meshgrid(grid, grid)
    aliased = np.array((xs**2 + ys**2) <= radius**2, dtype=np.float32)
    aliased /= np.sum(aliased)
    return cv2.GaussianBlur(aliased, ksize=ksize, sigmaX=alias_blur)


def _plasma_fractal(mapsize: int, wibbledecay: float, rng: Rng) -> np.ndarray:
    """Diamond-square heightmap in [0, 1], side ``mapsize`` (a power of two)."""
    maparray = np.empty((mapsize, mapsize), dtype=np.float64)
    maparray[0, 0] = 0
    stepsize = mapsize
    wibble = 100.0

    def wibbledmean(array: np.ndarray) -> np.ndarray:
        return array / 4 + wibble * rng.uniform(-wibble, wibble, array.shape)

    while stepsize >= 2:
        half = stepsize // 2
        corners = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        squares = corners + np.roll(corners, shift=-1, axis=0)
        squares += np.roll(squares, shift=-1, axis=1)
        maparray[half:mapsize:stepsize, half:mapsize:stepsize] = wibbledmean(squares)
        centres = maparray[half:mapsize:stepsize, half:mapsize:stepsize]
        corners = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        left = (centres + np.roll(centres, 1, axis=0)) + (corners + np.roll(corners, -1, axis=1))
        maparray[0:mapsize:stepsize, half:mapsize:stepsize] = wibbledmean(left)
        top = (centres + np.roll(centres, 1, axis=1)) + (corners + np.roll(corners, -1, axis=0))
        maparray[half:mapsize:stepsize, 0:mapsize:stepsize] = wibbledmean(top)
        stepsize //= 2
        wibble /= wibbledecay
    maparray -= maparray.min()
    return maparray / maparray.max()


def _clipped_zoom(img: np.ndarray, zoom_factor: float) -> np.ndarray:
    """Zoom the centre crop of side ceil(side / factor) by ``factor``; the result is at
    least the input's size (round(ceil(n / z) * z) >= n), larger by up to a pixel."""
    from scipy.ndimage import zoom

    ch0 = int(np.ceil(img.shape[0] / float(zoom_factor)))
    top0 = (img.shape[0] - ch0) // 2
    ch1 = int(np.ceil(img.shape[1] / float(zoom_factor)))
    top1 = (img.shape[1] - ch1) // 2
    crop = img[top0 : top0 + ch0, top1 : top1 + ch1]
    return zoom(crop, (zoom_factor, zoom_factor, 1), order=1)


def _shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    # Roll, then repeat the edge row/column over what wrapped around.
    if dx < 0:
        shifted = np.roll(image, shift=image.shape[1] + dx, axis=1)
        shifted[:, dx:] = shifted[:, dx - 1 : dx]
    elif dx > 0:
        shifted = np.roll(image, shift=dx, axis=1)
        shifted[:, :dx] = shifted[:, dx : dx + 1]
    else:
        shifted = image
    if dy < 0:
        shifted = np.roll(shifted, shift=image.shape[0] + dy, axis=0)
        shifted[dy:, :] = shifted[dy - 1 : dy, :]
    elif dy > 0:
        shifted = np.roll(shifted, shift=dy, axis=0)
        shifted[:dy, :] = shifted[dy : dy + 1, :]
    return shifted


def _motion_blur(x: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    width = radius * 2 + 1
    kernel = np.exp(-(np.arange(width) ** 2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    kernel = kernel / np.sum(kernel)
    point = (width * np.sin(np.deg2rad(angle)), width * np.cos(np.deg2rad(angle)))
    hypot = math.hypot(point[0], point[1])
    blurred = np.zeros_like(x, dtype=np.float32)
    for i in range(width):
        dy = -math.ceil(((i * point[0]) / hypot) - 0.5)
        dx = -math.ceil(((i * point[1]) / hypot) - 0.5)
        if abs(dy) >= x.shape[0] or abs(dx) >= x.shape[1]:
            break  # the motion left the image: the reference stops here
        blurred = blurred + kernel[i] * _shift(x, dx, dy)
    return blurred


def frost_dir() -> Path:
    """The frost images shipped in the imagecorruptions wheel (found without importing it:
    its __init__ imports pkg_resources, which new setuptools no longer has)."""
    spec = importlib.util.find_spec("imagecorruptions")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "frost"
        if all((path / name).is_file() for name in FROST_FILES):
            return path
    raise ValueError(
        "imagenet_c corruption 'frost' needs the frost images of the imagecorruptions "
        f"package, which is not installed; install it with: {FROST_INSTALL}"
    )


FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")


# --- the corruptions: uint8 HxWx3 in, floats in [0, 255] out --------------------------------


def gaussian_noise(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    c = [0.08, 0.12, 0.18, 0.26, 0.38][severity - 1]
    x = x / 255.0
    return np.clip(x + rng.normal(0.0, c, size=x.shape), 0, 1) * 255


def shot_noise(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    c = [60, 25, 12, 5, 3][severity - 1]
    x = x / 255.0
    return np.clip(rng.poisson(x * c) / float(c), 0, 1) * 255


def impulse_noise(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    # skimage.util.random_noise(mode="s&p", amount=c) on [0, 1], written out (it takes no
    # RandomState): each value flips with probability c, half of the flips to 1.
    c = [0.03, 0.06, 0.09, 0.17, 0.27][severity - 1]
    out = x / 255.0
    flipped = rng.random(out.shape) <= c
    salted = rng.random(out.shape) <= 0.5
    out[flipped & salted] = 1.0
    out[flipped & ~salted] = 0.0
    return np.clip(out, 0, 1) * 255


def speckle_noise(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    c = [0.15, 0.2, 0.35, 0.45, 0.6][severity - 1]
    x = x / 255.0
    return np.clip(x + x * rng.normal(0.0, c, size=x.shape), 0, 1) * 255


def gaussian_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    c = [1, 2, 3, 4, 6][severity - 1]
    return np.clip(_gaussian(x / 255.0, c, channel_axis=-1), 0, 1) * 255


def glass_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    sigma, delta, iterations = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][
        severity - 1
    ]
    x = np.uint8(_gaussian(x / 255.0, sigma, channel_axis=-1) * 255)
    height, width = x.shape[:2]
    rows = range(height - delta, delta, -1)
    cols = range(width - delta, delta, -1)
    for _ in range(iterations):
        # One (dx, dy) pair per pixel, in the reference's loop order.
        shifts = _randint(rng, -delta, delta, size=(len(rows) * len(cols), 2)).tolist()
        pairs = iter(shifts)
        for h in rows:
            for w in cols:
                dx, dy = next(pairs)
                x[h, w] = x[h + dy, w + dx]
    return np.clip(_gaussian(x / 255.0, sigma, channel_axis=-1), 0, 1) * 255


def defocus_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    import cv2

    radius, alias_blur = [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)][severity - 1]
    x = x / 255.0
    kernel = _disk(radius, alias_blur)
    channels = [cv2.filter2D(x[:, :, d], -1, kernel) for d in range(3)]
    return np.clip(np.array(channels).transpose((1, 2, 0)), 0, 1) * 255


def motion_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    radius, sigma = [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)][severity - 1]
    angle = rng.uniform(-45, 45)
    return np.clip(_motion_blur(x, radius, sigma, angle), 0, 255)


def zoom_blur(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    factors = [
        np.arange(1, 1.11, 0.01),
        np.arange(1, 1.16, 0.01),
        np.arange(1, 1.21, 0.02),
        np.arange(1, 1.26, 0.02),
        np.arange(1, 1.31, 0.03),
    ][severity - 1]
    x = (x / 255.0).astype(np.float32)
    out = np.zeros_like(x)
    for factor in factors:
        out += _clipped_zoom(x, factor)[: x.shape[0], : x.shape[1], :]
    return np.clip((x + out) / (len(factors) + 1), 0, 1) * 255


def snow(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    import cv2

    c = [
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    ][severity - 1]
    x = np.array(x, dtype=np.float32) / 255.0
    layer = rng.normal(c[0], c[1], size=x.shape[:2])
    layer = _clipped_zoom(layer[..., np.newaxis], c[2])
    layer[layer < c[3]] = 0
    layer = np.clip(layer.squeeze(), 0, 1)
    layer = _motion_blur(layer, radius=c[4], sigma=c[5], angle=rng.uniform(-135, -45))
    layer = np.round(layer * 255).astype(np.uint8) / 255.0
    layer = layer[..., np.newaxis][: x.shape[0], : x.shape[1], :]
    grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).reshape(x.shape[0], x.shape[1], 1)
    x = c[6] * x + (1 - c[6]) * np.maximum(x, grey * 1.5 + 0.5)
    return np.clip(x + layer + np.rot90(layer, k=2), 0, 1) * 255


def frost(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    import cv2

    image_weight, frost_weight = [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)][
        severity - 1
    ]
    index = _randint(rng, 0, 5)  # the reference never picks the sixth image
    texture = cv2.imread(str(frost_dir() / FROST_FILES[index]))
    height, width = x.shape[:2]
    # Scale the frost image up only where the image is larger; small images get a crop of
    # it at its own scale.
    scale = max(1.0, height / texture.shape[0], width / texture.shape[1]) * 1.1
    size = (int(np.ceil(texture.shape[1] * scale)), int(np.ceil(texture.shape[0] * scale)))
    texture = cv2.resize(texture, dsize=size, interpolation=cv2.INTER_CUBIC)
    top = _randint(rng, 0, texture.shape[0] - height)
    left = _randint(rng, 0, texture.shape[1] - width)
    crop = texture[top : top + height, left : left + width][..., [2, 1, 0]]
    return np.clip(image_weight * np.array(x) + frost_weight * crop, 0, 255)


def fog(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    strength, decay = [(1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)][severity - 1]
    height, width = x.shape[:2]
    mapsize = 1 << (max(x.shape) - 1).bit_length()
    x = x / 255.0
    max_val = x.max()
    x += strength * _plasma_fractal(mapsize, decay, rng)[:height, :width][..., np.newaxis]
    return np.clip(x * max_val / (max_val + strength), 0, 1) * 255


def brightness(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    from skimage.color import hsv2rgb, rgb2hsv

    c = [0.1, 0.2, 0.3, 0.4, 0.5][severity - 1]
    hsv = rgb2hsv(x / 255.0)
    hsv[:, :, 2] = np.clip(hsv[:, :, 2] + c, 0, 1)
    return np.clip(hsv2rgb(hsv), 0, 1) * 255


def contrast(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    c = [0.4, 0.3, 0.2, 0.1, 0.05][severity - 1]
    x = x / 255.0
    means = np.mean(x, axis=(0, 1), keepdims=True)
    return np.clip((x - means) * c + means, 0, 1) * 255


def saturate(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    from skimage.color import hsv2rgb, rgb2hsv

    factor, offset = [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)][severity - 1]
    hsv = rgb2hsv(x / 255.0)
    hsv[:, :, 1] = np.clip(hsv[:, :, 1] * factor + offset, 0, 1)
    return np.clip(hsv2rgb(hsv), 0, 1) * 255


def jpeg_compression(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    from PIL import Image

    quality = [25, 18, 15, 10, 7][severity - 1]
    buffer = BytesIO()
    Image.fromarray(x).save(buffer, "JPEG", quality=quality)
    return np.array(Image.open(buffer))


def pixelate(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    from PIL import Image

    c = [0.6, 0.5, 0.4, 0.3, 0.25][severity - 1]
    height, width = x.shape[:2]
    # At least one pixel (the reference's int() gives 0 below 4 px and PIL then fails).
    small = (max(1, int(width * c)), max(1, int(height * c)))
    image = Image.fromarray(x).resize(small, Image.BOX)
    return np.array(image.resize((width, height), Image.NEAREST))


def elastic_transform(image: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    from scipy.ndimage import map_coordinates

    image = np.array(image, dtype=np.float32) / 255.0
    shape = image.shape
    sigma = np.array(shape[:2]) * 0.01
    alpha = [250 * 0.05, 250 * 0.065, 250 * 0.085, 250 * 0.1, 250 * 0.12][severity - 1]
    max_d = shape[0] * 0.005
    fields = []
    for _ in range(2):
        noise = rng.uniform(-max_d, max_d, size=shape[:2])
        smooth = _gaussian(noise, sigma, mode="reflect", truncate=3) * alpha
        fields.append(smooth.astype(np.float32)[..., np.newaxis])
    dx, dy = fields
    xs, ys, zs = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]), np.arange(shape[2]))
    indices = (
        np.reshape(ys + dy, (-1, 1)),
        np.reshape(xs + dx, (-1, 1)),
        np.reshape(zs, (-1, 1)),
    )
    warped = map_coordinates(image, indices, order=1, mode="reflect").reshape(shape)
    return np.clip(warped, 0, 1) * 255


def spatter(x: np.ndarray, severity: int, rng: Rng) -> np.ndarray:
    import cv2

    c = [
        (0.65, 0.3, 4, 0.69, 0.6, 0),
        (0.65, 0.3, 3, 0.68, 0.6, 0),
        (0.65, 0.3, 2, 0.68, 0.5, 0),
        (0.65, 0.3, 1, 0.65, 1.5, 1),
        (0.67, 0.4, 1, 0.65, 1.5, 1),
    ][severity - 1]
    rgb = x
    x = np.array(x, dtype=np.float32) / 255.0
    liquid = rng.normal(c[0], c[1], size=x.shape[:2])
    liquid = _gaussian(liquid, c[2])
    liquid[liquid < c[3]] = 0
    if c[5] == 0:  # water: pale turquoise drops with shaded edges
        liquid = (liquid * 255).astype(np.uint8)
        dist = 255 - cv2.Canny(liquid, 50, 150)
        dist = cv2.distanceTransform(dist, cv2.DIST_L2, 5)
        _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
        dist = cv2.blur(dist, (3, 3)).astype(np.uint8)
        dist = cv2.equalizeHist(dist)
        ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
        dist = cv2.filter2D(dist, cv2.CV_8U, ker)
        dist = cv2.blur(dist, (3, 3)).astype(np.float32)
        m = cv2.cvtColor(liquid * dist, cv2.COLOR_GRAY2BGRA)
        m /= np.max(m, axis=(0, 1))
        m *= c[4]
        ones = np.ones_like(m[..., :1])
        color = np.concatenate((175 / 255.0 * ones, 238 / 255.0 * ones, 238 / 255.0 * ones), 2)
        color = cv2.cvtColor(color, cv2.COLOR_BGR2BGRA)
        x = cv2.cvtColor(x, cv2.COLOR_BGR2BGRA)
        return cv2.cvtColor(np.clip(x + m * color, 0, 1), cv2.COLOR_BGRA2BGR) * 255
    # mud: brown blots
    m = np.where(liquid > c[3], 1, 0)
    m = _gaussian(m.astype(np.float32), c[4])
    m[m < 0.8] = 0
    ones = np.ones_like(rgb[..., :1], dtype=np.float64)
    color = np.concatenate((63 / 255.0 * ones, 42 / 255.0 * ones, 20 / 255.0 * ones), axis=2)
    color *= m[..., np.newaxis]
    x *= 1 - m[..., np.newaxis]
    return np.clip(x + color, 0, 1) * 255


CORRUPTIONS = {
    function.__name__: function
    for function in (
        gaussian_noise,
        shot_noise,
        impulse_noise,
        defocus_blur,
        glass_blur,
        motion_blur,
        zoom_blur,
        snow,
        frost,
        fog,
        brightness,
        contrast,
        elastic_transform,
        pixelate,
        jpeg_compression,
        speckle_noise,
        gaussian_blur,
        spatter,
        saturate,
    )
}


def corrupt(image: np.ndarray, corruption: str, severity: int, rng: Rng) -> np.ndarray:
    """One corruption at severity 1-5 on a uint8 HxWx3 image, as the reference's
    ``corrupt`` (floats truncated to uint8)."""
    return np.uint8(CORRUPTIONS[corruption](image, severity, rng))


@PERTURBATIONS.register("imagenet_c")
class ImageNetC(Perturbation):
    """An ImageNet-C corruption (param ``corruption``) at severity 1-5; 0 is the identity."""

    level_name: ClassVar[str] = "severity"
    identity_level: ClassVar[float] = 0
    integer_level: ClassVar[bool] = True
    level_label: ClassVar[str] = "severity (ImageNet-C, 1-5)"
    stochastic: ClassVar[bool] = True

    @classmethod
    def level_label_for(cls, params: Any) -> str:
        return f"{params.get('corruption', 'ImageNet-C')} severity (ImageNet-C, 1-5)"

    @classmethod
    def check_level(cls, level: float) -> None:
        check_int(cls.name, cls.level_name, level, low=0, high=5)

    @classmethod
    def check_params(cls, **params: Any) -> None:
        super().check_params(**params)
        if params.get("corruption") == "frost":
            frost_dir()  # fail at config time, not in a job

    def _perturb(self, image: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        severity = int(self.level)
        if severity == 0:
            return image.copy()
        assert rng is not None
        return corrupt(image, str(self.param("corruption")), severity, rng)
