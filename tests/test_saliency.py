"""Saliency methods: equal to xaitk-saliency / captum, find the evidence, deterministic."""

from __future__ import annotations

import os
from types import SimpleNamespace

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from captum.attr import (
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Saliency,
)
from torch import nn

from salsweep.models.base import Classifier
from salsweep.models.layers import token_layout
from salsweep.saliency import (
    METHOD_INFO,
    METHOD_PARAMS,
    SALIENCY_METHODS,
    auto_batch_size,
    check_method_params,
)
from salsweep.saliency.batching import cpu_batch_size, largest_fitting
from salsweep.saliency.building_blocks import normalise_maxabs
from salsweep.saliency.rise import rise_masks
from salsweep.saliency.sliding_window import resolve_extent, sliding_window_masks

H, W = 16, 12  # not square, so a swapped axis shows


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The models here are tiny: thread hand-offs cost more than they save."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class TinyCNN(Classifier):
    name = "tiny_cnn"

    def __init__(self, n_classes: int = 4, seed: int = 0) -> None:
        super().__init__([f"c{i}" for i in range(n_classes)])
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
            self.conv2 = nn.Conv2d(6, 8, 3, padding=1)
            self.head = nn.Linear(16, n_classes)
        self.eval()

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2) / 255.0 - 0.5
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return 4.0 * self.head(pooled)

    def gradcam_layer(self) -> nn.Module:
        return self.conv2


class _Gate(nn.Module):
    """Zero everything but the top-left quadrant (the Grad-CAM layer of QuadrantModel)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = torch.zeros_like(x)
        mask[:, :, : x.shape[2] // 2, : x.shape[3] // 2] = 1.0
        return x * mask


class QuadrantModel(Classifier):
    """Logit 0 depends only on the top-left quadrant's mean brightness; logit 1 is 0."""

    name = "quadrant"

    def __init__(self) -> None:
        super().__init__(["top_left", "other"])
        self.feature = nn.Conv2d(3, 2, 1)
        with torch.no_grad():
            self.feature.weight.copy_(
                torch.tensor([[1.0, 1.0, 1.0], [0.5, -0.5, 0.2]])[..., None, None] / 3
            )
            self.feature.bias.zero_()
        self.gate = _Gate()

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        gated = self.gate(self.feature(images.permute(0, 3, 1, 2) / 255.0))
        quadrant_mean = gated[:, 0].sum(dim=(1, 2)) / (
            images.shape[1] // 2 * (images.shape[2] // 2)
        )
        logit = 6.0 * torch.tanh(quadrant_mean - 0.4)
        return torch.stack([logit, torch.zeros_like(logit)], dim=1)

    def gradcam_layer(self) -> nn.Module:
        return self.gate


class ConstantModel(Classifier):
    name = "constant"

    def __init__(self) -> None:
        super().__init__(["a", "b", "c"])
        self.bias = nn.Parameter(torch.tensor([0.5, -0.2, 0.1]))
        self.conv = nn.Conv2d(3, 2, 1)

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        features = self.conv(images.permute(0, 3, 1, 2)) * 0.0
        return self.bias.expand(images.shape[0], 3) + features.mean(dim=(1, 2, 3))[:, None]

    def gradcam_layer(self) -> nn.Module:
        return self.conv


def make_images(n: int, seed: int = 0, h: int = H, w: int = W, low: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, 256, (n, h, w, 3), dtype=np.uint8)


def all_targets(n: int, n_classes: int) -> np.ndarray:
    return np.tile(np.arange(n_classes), (n, 1))


FAST_PARAMS = {
    "sliding_window": {"window": [5, 4], "stride": [3, 2]},
    "vanilla_gradient": {},
    "rise": {"n": 120, "s": 4},
    "rise_debiased": {"n": 120, "s": 4},
    "smoothgrad": {"nt_samples": 6},
    "integrated_gradients": {"n_steps": 8},
    "smint": {"nt_samples": 3, "n_steps": 6},
    "gradcam": {},
}


def method(name: str, seed: int = 0, batch_size: int | str = 16, **params):
    return SALIENCY_METHODS.get(name)(
        seed=seed, batch_size=batch_size, **{**FAST_PARAMS[name], **params}
    )


# ---------------------------------------------------------------- parameters and registry


def test_registry_matches_torch_free_params() -> None:
    # The methods below get this file's behaviour tests; the mask methods have their own
    # (tests/test_mask_methods.py), and so does any method added later: a new method is its
    # module and its test file, with no list here to extend.
    mask_methods = {"mask_optimisation", "realtime_mask"}
    assert set(SALIENCY_METHODS.names()) == set(METHOD_PARAMS)
    assert set(FAST_PARAMS) | mask_methods <= set(METHOD_PARAMS)
    assert METHOD_INFO["rise"]["signed"] is False
    assert METHOD_INFO["rise_debiased"]["signed"] is True
    assert METHOD_INFO["gradcam"] == {
        "signed": False,
        "family": "gradient",
        "needs_gradients": True,
    }
    assert METHOD_INFO["sliding_window"]["needs_gradients"] is False


def test_params_import_without_torch() -> None:
    import subprocess
    import sys

    import salsweep

    code = (
        "import sys; from salsweep.saliency import METHOD_PARAMS, check_method_params; "
        "check_method_params('rise', {'n': 5}); assert 'torch' not in sys.modules, 'torch'"
    )
    src = os.path.dirname(os.path.dirname(salsweep.__file__))
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_a_method_imports_only_its_own_module() -> None:
    """A job imports what it uses (issue 15): sliding window does not pay captum's import
    (0.4 s, matplotlib included); asking for all names imports every method."""
    import subprocess
    import sys

    import salsweep

    code = (
        "import sys; from salsweep.saliency import SALIENCY_METHODS; "
        "SALIENCY_METHODS.get('sliding_window'); SALIENCY_METHODS.get('rise'); "
        "assert 'captum' not in sys.modules, 'captum'; "
        "assert 'salsweep.saliency.smoothgrad' not in sys.modules, 'smoothgrad'; "
        "assert len(SALIENCY_METHODS.names()) == 10; "
        "assert 'salsweep.saliency.smoothgrad' in sys.modules"
    )
    src = os.path.dirname(os.path.dirname(salsweep.__file__))
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_defaults_come_from_params() -> None:
    for name, defaults in METHOD_PARAMS.items():
        check_method_params(name, defaults)
        assert SALIENCY_METHODS.get(name)().params == defaults
    assert SALIENCY_METHODS.get("rise")(n=10).params["n"] == 10


@pytest.mark.parametrize(
    ("name", "params", "word"),
    [
        ("rise", {"p1": 1.0}, "p1"),
        ("rise", {"p1": 0}, "p1"),
        ("rise_debiased", {"n": 0}, "'n'"),
        ("rise", {"s": True}, "'s'"),
        ("rise", {"radius": 3}, "radius"),
        ("sliding_window", {"window": 1.5}, "window"),
        ("sliding_window", {"stride": [2, 0]}, "stride"),
        ("sliding_window", {"fill": "red"}, "fill"),
        ("sliding_window", {"fill": [0, 0, 256]}, "fill"),
        ("integrated_gradients", {"baseline": [300, 0, 0]}, "baseline"),
        ("smoothgrad", {"stdev": 0}, "stdev"),
        ("smint", {"n_steps": 0}, "n_steps"),
        ("vanilla_gradient", {"abs": 1}, "abs"),
        ("gradcam", {"layer": ""}, "layer"),
        ("gradcam", {"batch_size": 0}, "batch_size"),
        ("rise", {"precision": "fp8"}, "precision"),
        ("gradcam", {"precision": "bf16"}, "precision"),
        ("nope", {}, "nope"),
    ],
)
def test_bad_params_name_method_and_param(name: str, params: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        check_method_params(name, params)
    if name in SALIENCY_METHODS:
        with pytest.raises(ValueError, match=name):
            SALIENCY_METHODS.get(name)(**params)


def test_good_params_pass() -> None:
    check_method_params("sliding_window", {"window": [0.5, 8], "stride": 1, "fill": "mean"})
    check_method_params("integrated_gradients", {"baseline": [127.5, 127.5, 127.5]})
    check_method_params("gradcam", {"layer": "conv2", "seed": 3, "batch_size": "auto"})


def test_resolve_extent() -> None:
    assert resolve_extent(0.25, (16, 12), "window") == (4, 3)
    assert resolve_extent([5, 0.5], (16, 12), "window") == (5, 6)
    assert resolve_extent(0.01, (16, 12), "stride") == (1, 1)
    with pytest.raises(ValueError, match="window"):
        resolve_extent(0, (16, 12), "window")


# ---------------------------------------------------------------- equal to xaitk-saliency


class XaitkBlackbox:
    """smqtk ClassifyImage over a Classifier: softmax confidences, one image at a time."""

    def __new__(cls, classifier: Classifier):
        from smqtk_classifier.interfaces.classify_image import ClassifyImage

        class _Box(ClassifyImage):
            def get_labels(self):
                return list(range(classifier.n_classes))

            def classify_images(self, img_iter):
                for img in img_iter:
                    x = torch.from_numpy(np.ascontiguousarray(img)[None])
                    with torch.inference_mode():
                        conf = torch.softmax(classifier(x).float(), dim=1)[0]
                    yield {i: float(c) for i, c in enumerate(conf)}

            def get_config(self):
                return {}

        return _Box()


def test_sliding_window_masks_equal_xaitk() -> None:
    from xaitk_saliency.impls.perturb_image.sliding_window import SlidingWindow

    for hw, window, stride in [((16, 12), (5, 4), (3, 2)), ((13, 29), (7, 7), (4, 5))]:
        ref = SlidingWindow(window_size=window, stride=stride).perturb(np.zeros((*hw, 3), np.uint8))
        np.testing.assert_array_equal(sliding_window_masks(hw, window, stride), ref)


@pytest.mark.parametrize("fill", [[0, 0, 0], [200, 30, 90], "mean"])
def test_sliding_window_equals_xaitk(fill) -> None:
    from xaitk_saliency.impls.gen_image_classifier_blackbox_sal.slidingwindow import (
        SlidingWindowStack,
    )

    model, images = TinyCNN(), make_images(2, seed=1)
    ours = method("sliding_window", fill=fill, batch_size=7).explain(
        model, images, all_targets(2, 4)
    )
    stack = SlidingWindowStack(window_size=(5, 4), stride=(3, 2))
    for i, image in enumerate(images):
        stack.fill = (
            np.round(image.reshape(-1, 3).mean(0)).astype(int).tolist() if fill == "mean" else fill
        )
        ref = stack.generate(image, XaitkBlackbox(model))
        assert np.abs(ref).max() > 0.99  # normalised, not trivially zero
        np.testing.assert_allclose(ours[i], ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("hw", [(16, 12), (13, 29), (32, 32)])
def test_rise_masks_equal_xaitk_bitwise(hw) -> None:
    from xaitk_saliency.impls.perturb_image.rise import RISEGrid

    ref = RISEGrid(n=40, s=5, p1=0.3, seed=11, threads=0).perturb(np.zeros((*hw, 3), np.uint8))
    ours = rise_masks(40, 5, 0.3, 11, hw).numpy()
    assert ours.dtype == ref.dtype == np.float32
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize(
    ("name", "p1", "fill"),
    [("rise", 0.5, None), ("rise_debiased", 0.5, None), ("rise_debiased", 0.3, [10, 200, 30])],
)
def test_rise_equals_xaitk(name: str, p1: float, fill) -> None:
    from xaitk_saliency.impls.gen_image_classifier_blackbox_sal.rise import RISEStack

    model, images = TinyCNN(), make_images(2, seed=2)
    params = {"n": 60, "s": 4, "p1": p1, "fill": fill or [0, 0, 0]}
    ours = method(name, seed=7, batch_size=13, **params).explain(model, images, all_targets(2, 4))
    stack = RISEStack(n=60, s=4, p1=p1, seed=7, threads=0, debiased=name == "rise_debiased")
    stack.fill = fill
    for i, image in enumerate(images):
        ref = stack.generate(image, XaitkBlackbox(model))
        np.testing.assert_allclose(ours[i], ref, atol=1e-5, rtol=0)
    if name == "rise":
        assert ours.min() >= 0.0
    else:
        assert ours.min() < 0.0 < ours.max()


# ---------------------------------------------------------------- equal to captum


def _norm(attr: torch.Tensor) -> np.ndarray:
    return normalise_maxabs(attr.detach().sum(dim=-1)).numpy()


@pytest.mark.parametrize("use_abs", [False, True])
def test_vanilla_gradient_equals_captum(use_abs: bool) -> None:
    model, images = TinyCNN(), make_images(3, seed=3)
    targets = np.array([[0, 2], [1, 1], [3, 0]])
    ours = method("vanilla_gradient", batch_size=4, abs=use_abs).explain(model, images, targets)
    x = torch.from_numpy(images).float().repeat_interleave(2, dim=0).requires_grad_()
    ref = Saliency(model).attribute(x, target=torch.from_numpy(targets.reshape(-1)), abs=use_abs)
    np.testing.assert_allclose(ours.reshape(6, H, W), _norm(ref), atol=1e-5)
    assert (ours.min() >= 0) == use_abs


def test_smoothgrad_equals_captum_noise_tunnel() -> None:
    model, images = TinyCNN(), make_images(1, seed=4)
    ours = method("smoothgrad", seed=5, batch_size=4, nt_samples=6).explain(
        model, images, np.array([[2]])
    )
    torch.manual_seed(5)
    ref = NoiseTunnel(Saliency(model)).attribute(
        torch.from_numpy(images).float(),
        nt_type="smoothgrad",
        nt_samples=6,
        stdevs=0.15 * 255.0,
        target=2,
        abs=False,
    )
    np.testing.assert_allclose(ours[:, 0], _norm(ref), atol=1e-5)


@pytest.mark.parametrize("baseline", ["black", "mean", [127.5, 127.5, 127.5]])
def test_integrated_gradients_equals_captum(baseline) -> None:
    model, images = TinyCNN(), make_images(2, seed=6)
    targets = np.array([[1, 3], [0, 2]])
    ours = method("integrated_gradients", batch_size=20, baseline=baseline).explain(
        model, images, targets
    )
    x = torch.from_numpy(images).float()
    if baseline == "black":
        base = torch.zeros_like(x)
    elif baseline == "mean":
        base = x.mean(dim=(1, 2), keepdim=True).expand_as(x)
    else:
        base = torch.full_like(x, 127.5)
    ig = IntegratedGradients(model)
    for i in range(2):
        for j in range(2):
            ref = ig.attribute(
                x[i : i + 1], baselines=base[i : i + 1], target=int(targets[i, j]), n_steps=8
            )
            np.testing.assert_allclose(ours[i, j], _norm(ref)[0], atol=1e-5)


def test_smint_equals_captum_noise_tunnel_over_ig() -> None:
    model, images = TinyCNN(), make_images(1, seed=8)
    ours = method("smint", seed=9, batch_size=10).explain(model, images, np.array([[1]]))
    x = torch.from_numpy(images).float()
    torch.manual_seed(9)
    ref = NoiseTunnel(IntegratedGradients(model)).attribute(
        x,
        nt_type="smoothgrad",
        nt_samples=3,
        stdevs=0.15 * 255.0,
        baselines=torch.zeros_like(x),
        target=1,
        n_steps=6,
    )
    np.testing.assert_allclose(ours[:, 0], _norm(ref), atol=1e-5)


def test_gradcam_equals_captum_on_cnn() -> None:
    model, images = TinyCNN(), make_images(3, seed=10)
    targets = np.array([[0], [3], [1]])
    ours = method("gradcam", batch_size=2).explain(model, images, targets)
    coarse = LayerGradCam(model, model.conv2).attribute(
        torch.from_numpy(images).float(),
        target=torch.from_numpy(targets[:, 0]),
        relu_attributions=True,
    )
    ref = LayerAttribution.interpolate(coarse, (H, W), interpolate_mode="bilinear")[:, 0].detach()
    np.testing.assert_allclose(ours[:, 0], normalise_maxabs(ref).numpy(), atol=1e-6)
    assert ours.min() >= 0 and set(ours.max(axis=(2, 3)).ravel().tolist()) <= {0.0, 1.0}
    assert ours.max() == 1.0
    # The dotted-path override picks another layer and so gives another map.
    other = method("gradcam", layer="conv1").explain(model, images, targets)
    assert not np.allclose(other, ours)
    with pytest.raises(ValueError, match="layer"):
        method("gradcam", layer="conv9").explain(model, images, targets)


# ---------------------------------------------------------------- Grad-CAM on a ViT


def _tiny_vit(with_grid: bool) -> Classifier:
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=16,
        patch_size=4,
        num_labels=3,
    )

    class TinyViT(Classifier):
        name = "tiny_vit"

        def __init__(self) -> None:
            super().__init__(["a", "b", "c"])
            with torch.random.fork_rng():
                torch.manual_seed(0)
                self.vit = ViTForImageClassification(config)
            self.eval()

        def _logits(self, images: torch.Tensor) -> torch.Tensor:
            return self.vit(pixel_values=images.permute(0, 3, 1, 2) / 127.5 - 1.0).logits

        def gradcam_layer(self) -> nn.Module:
            return self.vit.vit.layers[-1].layernorm_before

    if with_grid:
        TinyViT.token_grid = lambda self: (1, 4, 4)
    return TinyViT()


def _manual_vit_gradcam(model: Classifier, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
    saved = {}
    layer = model.gradcam_layer()
    handle = layer.register_forward_hook(lambda m, i, o: saved.update(tokens=o))
    logits = model(torch.from_numpy(images).float())
    handle.remove()
    tokens = saved["tokens"]
    (grads,) = torch.autograd.grad(logits.gather(1, torch.from_numpy(targets)).sum(), tokens)
    acts, grads = tokens[:, 1:], grads[:, 1:]  # drop CLS; patches row-major on a 4x4 grid
    cam = torch.relu((grads.mean(dim=1, keepdim=True) * acts).sum(dim=2)).reshape(-1, 1, 4, 4)
    up = LayerAttribution.interpolate(cam, images.shape[1:3], interpolate_mode="bilinear")[:, 0]
    return normalise_maxabs(up.detach()).numpy()


@pytest.mark.parametrize("with_grid", [True, False])
def test_gradcam_on_tiny_vit(with_grid: bool) -> None:
    model = _tiny_vit(with_grid)
    images = make_images(2, seed=12, h=16, w=16)
    targets = np.array([[0], [2]])
    maps = method("gradcam").explain(model, images, targets)
    assert maps.shape == (2, 1, 16, 16) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and (maps.max(axis=(2, 3)) == 1.0).all() and maps.min() >= 0
    np.testing.assert_allclose(
        maps, _manual_vit_gradcam(model, images, targets)[:, None], atol=1e-5
    )
    # The hook is gone afterwards: the model's forward is untouched.
    assert not model.gradcam_layer()._forward_hooks


def test_token_layout() -> None:
    model = TinyCNN()
    assert token_layout(model, 17) == (1, 4, 4)
    with pytest.raises(ValueError, match="token"):
        token_layout(model, 18)
    model.token_grid = lambda: (2, 4, 4)  # a DeiT with a distillation token
    assert token_layout(model, 18) == (2, 4, 4)
    with pytest.raises(ValueError, match="does not fit"):
        token_layout(model, 17)
    other = TinyCNN()
    other.token_layout = lambda: SimpleNamespace(n_prefix=1, grid=(2, 8))  # models.hf style
    assert token_layout(other, 17) == (1, 2, 8)


# ---------------------------------------------------------------- behaviour of every method


@pytest.mark.parametrize("name", sorted(FAST_PARAMS))
def test_quadrant_model_map_is_in_the_quadrant(name: str) -> None:
    model = QuadrantModel()
    images = make_images(2, seed=13, low=100)
    maps = method(name).explain(model, images, np.array([[0], [0]]))
    assert maps.shape == (2, 1, H, W) and maps.dtype == np.float32 and np.isfinite(maps).all()
    inside = np.zeros((H, W), dtype=bool)
    inside[: H // 2, : W // 2] = True
    for m in maps[:, 0]:
        values = m if METHOD_INFO[name]["signed"] else np.abs(m)
        # Plain RISE maps carry the mean confidence everywhere, so their contrast is lower.
        margin = 0.05 if name == "rise" else 0.2
        assert values[inside].mean() > values[~inside].mean() + margin, name
        lo = -1.0 if METHOD_INFO[name]["signed"] else 0.0
        assert m.min() >= lo and m.max() <= 1.0 and np.isclose(np.abs(m).max(), 1.0)


@pytest.mark.parametrize("name", sorted(FAST_PARAMS))
def test_constant_model_gives_zero_maps_without_nan(name: str) -> None:
    images = np.zeros((2, H, W, 3), dtype=np.uint8)
    maps = method(name).explain(ConstantModel(), images, np.array([[0, 2], [1, 1]]))
    assert maps.shape == (2, 2, H, W) and maps.dtype == np.float32 and np.isfinite(maps).all()
    if name.startswith("rise"):
        # RISE weights masks by the confidence itself, not by its change: a constant model
        # gives the (normalised) mask density, identical for every target.
        np.testing.assert_allclose(maps[0, 0], maps[1, 1], atol=1e-6)
    else:
        assert np.abs(maps).max() < 1e-6


@pytest.mark.parametrize("name", ["sliding_window", "rise_debiased", "smoothgrad", "smint"])
def test_maps_do_not_depend_on_batch_composition_and_are_seeded(name: str) -> None:
    model, images = TinyCNN(), make_images(3, seed=14)
    targets = np.array([[0, 1], [2, 3], [1, 1]])
    together = method(name, seed=3, batch_size=5).explain(model, images, targets)
    again = method(name, seed=3, batch_size=16).explain(model, images, targets)
    alone = method(name, seed=3).explain(model, images[1:2], targets[1:2])
    np.testing.assert_allclose(together, again, atol=1e-5)
    np.testing.assert_allclose(together[1:2], alone, atol=1e-5)
    if name != "sliding_window":
        other = method(name, seed=4).explain(model, images, targets)
        assert np.abs(other - together).max() > 1e-3


@pytest.mark.parametrize("name", ["sliding_window", "rise", "rise_debiased"])
def test_reduced_precision_forwards_stay_close_to_fp32(name: str) -> None:
    """bf16 autocast really changes the forwards (maps differ) but keeps the maps' shape."""
    model, images = TinyCNN(), make_images(2, seed=16)
    targets = all_targets(2, 2)
    full = method(name).explain(model, images, targets)
    half = method(name, precision="bf16").explain(model, images, targets)
    assert half.dtype == np.float32
    assert 0 < np.abs(half - full).max() < 0.5
    assert np.corrcoef(half.ravel(), full.ravel())[0, 1] > 0.9


def test_same_seed_gives_identical_maps() -> None:
    model, images = TinyCNN(), make_images(2, seed=15)
    for name in ["rise", "smoothgrad"]:
        a = method(name, seed=21).explain(model, images, all_targets(2, 2))
        b = method(name, seed=21).explain(model, images, all_targets(2, 2))
        np.testing.assert_array_equal(a, b)


class Recorder(TinyCNN):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        self.seen.append(images.detach().clone())
        return super()._logits(images)


def test_rise_uses_the_same_masks_for_clean_and_perturbed_images() -> None:
    clean = make_images(1, seed=16, low=1)
    noisy = np.clip(
        clean.astype(int) + np.random.default_rng(0).integers(-40, 40, clean.shape), 1, 255
    )
    masks = rise_masks(30, 4, 0.5, 5, (H, W))[..., None]
    for image in (clean, noisy.astype(np.uint8)):
        model = Recorder()
        method("rise", seed=5, n=30, batch_size=8).explain(model, image, np.array([[0]]))
        seen = torch.cat(model.seen)
        expected = torch.trunc(masks * torch.from_numpy(image).float())
        # 30 masks in forwards of 8: the last forward is padded with copies of the last blend
        assert seen.shape[0] == 32
        torch.testing.assert_close(seen[:30], expected, atol=0, rtol=0)
        torch.testing.assert_close(seen[30:], expected[-1:].expand(2, -1, -1, -1))


def test_auto_batch_size() -> None:
    model = TinyCNN()
    assert auto_batch_size(model, (H, W), "cpu") == cpu_batch_size((H, W)) == 256
    assert cpu_batch_size((224, 224)) == 8
    assert cpu_batch_size((4000, 4000)) == 1
    assert largest_fitting(lambda size: size <= 40, 512) == 32
    assert largest_fitting(lambda size: False, 8) == 0
    maps = method("vanilla_gradient", batch_size="auto").explain(
        model, make_images(1), np.array([[0]])
    )
    assert maps.shape == (1, 1, H, W)


def test_cpu_batches_follow_the_size_the_network_computes_at() -> None:
    """A model that resizes small images up (Lite0, a 224x224 hub model) batches for the
    size it computes at: 16x16 photos through Lite0 get 8 a batch, not 256 (a shard of 2
    would be padded to 256 forwards at 224x224)."""
    from salsweep.models.efficientnet_lite0 import INPUT_SIZE, EfficientNetLite0
    from salsweep.saliency.batching import inference_batch_size

    class Upscaling(TinyCNN):
        def input_hw(self, image_hw):
            return (INPUT_SIZE, INPUT_SIZE)

    model = Upscaling()
    assert auto_batch_size(model, (16, 16), "cpu") == cpu_batch_size((224, 224)) == 8
    assert inference_batch_size("auto", model, (16, 16)) == 8
    assert inference_batch_size(5, model, (16, 16)) == 5
    assert inference_batch_size("auto", TinyCNN(), (16, 16)) == 256
    assert EfficientNetLite0.input_hw(model, (16, 16)) == (224, 224)


def test_empty_batch_and_bad_targets() -> None:
    model = TinyCNN()
    empty = method("rise").explain(model, make_images(0), np.zeros((0, 2), dtype=np.int64))
    assert empty.shape == (0, 2, H, W)
    with pytest.raises(ValueError, match="target"):
        method("rise").explain(model, make_images(1), np.array([[4]]))


def test_explain_owns_the_inference_mode_and_the_auto_batch_size(monkeypatch) -> None:
    """The runner passes "auto" and calls explain(); the method decides the rest."""
    import salsweep.saliency.base as base

    probed = []

    def fake_probe(classifier, hw, device):
        probed.append(hw)
        return 7

    monkeypatch.setattr(base, "auto_batch_size", fake_probe)
    seen = {}

    class Recorder(base.SaliencyMethod):
        name = "recorder"
        signed = False
        family = "black-box"
        needs_gradients = False

        def _explain(self, classifier, images, targets):
            seen[type(self).needs_gradients] = (
                torch.is_inference_mode_enabled(),
                self.batch_size_for(classifier, tuple(images.shape[1:3])),
            )
            return np.zeros((len(images), targets.shape[1], *images.shape[1:3]), np.float32)

    class GradientRecorder(Recorder):
        needs_gradients = True

    model = TinyCNN()
    for cls in (Recorder, GradientRecorder):
        explainer = cls(batch_size="auto")
        explainer.explain(model, make_images(2), np.zeros((2, 1), np.int64))
        explainer.explain(model, make_images(1), np.zeros((1, 1), np.int64))
    assert seen == {False: (True, 7), True: (False, 7)}
    assert probed == [(H, W), (H, W)]  # once per method and image size
    assert Recorder(batch_size=5).batch_size_for(model, (H, W)) == 5
