"""The mask-based methods (Dabkowski & Gal 2017): mask_optimisation and realtime_mask, their
objective, the learned masker and its training, and the split the masker trains on."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from test_saliency import QuadrantModel, _tiny_vit, make_images

from salsweep.masker.model import (
    FeatureTap,
    MaskerNet,
    load_masker,
    n_up_blocks,
    normalise_images,
    save_masker,
)
from salsweep.masker.objective import (
    Weights,
    blurred,
    gaussian_blur,
    mask_terms,
    noise_images,
    total_variation,
    upsample,
)
from salsweep.masker.plan import training_split
from salsweep.masker.training import train_masker
from salsweep.saliency import METHOD_INFO, METHOD_PARAMS, SALIENCY_METHODS, check_method_params
from salsweep.saliency.mask_optimisation import grid_size, optimise_masks
from salsweep.stages.train_masker import training_subset

H, W = 16, 12
INSIDE = np.zeros((H, W), dtype=bool)
INSIDE[: H // 2, : W // 2] = True
# The toy model has two classes and reads a mean brightness: a strong blur (half the side)
# removes its evidence, and a lower area weight suits its small log-probability range.
TOY = {"blur_sigma": 0.5, "area_weight": 1.0}
OPT_TOY = {**TOY, "mask_size": 8, "steps": 100}
MASKER_TOY = {**TOY, "train_steps": 150, "train_batch_size": 16, "train_lr": 0.01, "width": 8}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def quadrant_images(n: int, seed: int = 0) -> np.ndarray:
    """Dark images with a bright top-left quadrant: QuadrantModel's class 0 at p ~ 0.94."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, (n, H, W, 3)).astype(np.uint8)
    images[:, : H // 2, : W // 2] = rng.integers(200, 256, (n, H // 2, W // 2, 3))
    return images


def params_of(name: str, *updates: dict, **overrides) -> dict:
    merged = dict(METHOD_PARAMS[name])
    for update in (*updates, overrides):
        merged.update(update)
    return merged


def class0_prob(model, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(model(images), dim=1)[:, 0].numpy()


# ---------------------------------------------------------------- registry and parameters


def test_both_methods_are_registered_as_unsigned_mask_methods() -> None:
    assert {"mask_optimisation", "realtime_mask"} <= set(SALIENCY_METHODS.names())
    assert set(SALIENCY_METHODS.names()) == set(METHOD_PARAMS)
    assert METHOD_INFO["mask_optimisation"] == {
        "signed": False,
        "family": "mask",
        "needs_gradients": True,
    }
    assert METHOD_INFO["realtime_mask"]["family"] == "mask"
    assert METHOD_INFO["realtime_mask"]["signed"] is False
    for name in ("mask_optimisation", "realtime_mask"):
        assert SALIENCY_METHODS.get(name)().params == METHOD_PARAMS[name]


@pytest.mark.parametrize(
    ("name", "params", "word"),
    [
        ("mask_optimisation", {"mask_size": 0}, "mask_size"),
        ("mask_optimisation", {"steps": 0}, "steps"),
        ("mask_optimisation", {"lr": 0}, "'lr'"),
        ("mask_optimisation", {"alternative": "fog"}, "alternative"),
        ("mask_optimisation", {"blur_sigma": 1.5}, "blur_sigma"),
        ("mask_optimisation", {"tv_weight": -1}, "tv_weight"),
        ("mask_optimisation", {"destroy_power": 0}, "destroy_power"),
        ("mask_optimisation", {"train_steps": 5}, "train_steps"),  # realtime_mask's only
        ("realtime_mask", {"fake_fraction": 1.0}, "fake_fraction"),
        ("realtime_mask", {"width": 2}, "width"),
        ("realtime_mask", {"train_split": "test"}, "train_split"),
        ("realtime_mask", {"masker_path": ""}, "masker_path"),
        ("realtime_mask", {"area_weight": "big"}, "area_weight"),
        ("realtime_mask", {"mask_size": 8}, "mask_size"),  # mask_optimisation's only
    ],
)
def test_bad_params_name_the_parameter(name: str, params: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        check_method_params(name, params)
    with pytest.raises(ValueError, match=name):
        SALIENCY_METHODS.get(name)(**params)


def test_good_params_pass() -> None:
    check_method_params("mask_optimisation", {"alternative": "noise", "blur_sigma": 1, "lr": 2})
    check_method_params("realtime_mask", {"layer": "block2", "train_split": "eval", "seed": 3})


# ---------------------------------------------------------------- the objective


def test_total_variation_does_not_depend_on_the_grid_resolution() -> None:
    for side in (8, 32):
        half = torch.zeros((1, 1, side, side))
        half[..., : side // 2] = 1.0  # one sharp edge across the image
        assert total_variation(half).item() == pytest.approx(1.0)
        ramp = torch.linspace(0, 1, side).expand(1, 1, side, side)  # the same step, smoothly
        assert total_variation(ramp).item() < 0.5 * total_variation(half).item()
    assert total_variation(torch.full((2, 1, 5, 7), 0.3)).tolist() == [0.0, 0.0]


def test_gaussian_blur_keeps_constants_and_mass_and_spreads() -> None:
    flat = torch.full((1, 9, 7, 3), 80.0)
    torch.testing.assert_close(gaussian_blur(flat, 3.0), flat)
    impulse = torch.zeros((1, 41, 41, 3))
    impulse[0, 20, 20] = 100.0
    out = gaussian_blur(impulse, 2.0)
    assert out.sum().item() == pytest.approx(300.0, rel=1e-4)
    assert out.max().item() < 5.0 and out[0, 20, 26].sum().item() > 0.1
    assert torch.equal(gaussian_blur(impulse, 0.0), impulse)
    # blur_sigma is a fraction of the longer side
    torch.testing.assert_close(blurred(impulse, 0.05), gaussian_blur(impulse, 2.05))


def test_noise_alternative_is_seeded_and_valid() -> None:
    a = noise_images(torch.Generator().manual_seed(4), 3, (H, W), torch.device("cpu"))
    b = noise_images(torch.Generator().manual_seed(4), 3, (H, W), torch.device("cpu"))
    c = noise_images(torch.Generator().manual_seed(5), 3, (H, W), torch.device("cpu"))
    assert a.shape == (3, H, W, 3) and torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 255
    colours = a.mean(dim=(1, 2))
    assert ((colours - 127.5).abs() < 50).all() and colours.std() > 1  # a random colour each


def test_objective_terms_on_the_toy_model() -> None:
    model, images = QuadrantModel(), torch.from_numpy(quadrant_images(2)).float()
    alt = blurred(images, 0.5)
    weights = Weights(tv=1.0, area=1.0, destroy=3.0, destroy_power=0.3)
    targets = torch.zeros(2, dtype=torch.long)
    keep_all = mask_terms(model, images, alt, torch.ones((2, 1, 4, 4)), targets, weights)
    keep_none = mask_terms(model, images, alt, torch.zeros((2, 1, 4, 4)), targets, weights)
    p_image, p_alt = class0_prob(model, images), class0_prob(model, alt)
    np.testing.assert_allclose(torch.exp(-keep_all.keep).detach().numpy(), p_image, rtol=1e-5)
    np.testing.assert_allclose(keep_all.destroy.detach().numpy(), p_alt, rtol=1e-5)
    np.testing.assert_allclose(keep_none.destroy.detach().numpy(), p_image, rtol=1e-5)
    assert keep_all.area.tolist() == [1.0, 1.0] and keep_none.area.tolist() == [0.0, 0.0]
    expected = 1.0 - np.log(p_image) + 3.0 * p_alt**0.3
    np.testing.assert_allclose(keep_all.total.detach().numpy(), expected, rtol=1e-5)


# ---------------------------------------------------------------- mask_optimisation


def test_grid_size_is_capped_at_the_image() -> None:
    assert grid_size(28, (224, 224)) == (28, 28)
    assert grid_size(28, (16, 12)) == (16, 12)


@pytest.mark.parametrize("alternative", ["blur", "noise"])
def test_mask_optimisation_objective_decreases(alternative: str) -> None:
    model, images = QuadrantModel(), torch.from_numpy(quadrant_images(2)).float()
    params = params_of("mask_optimisation", OPT_TOY, alternative=alternative, steps=60)
    _, history = optimise_masks(model, images, torch.zeros(2, dtype=torch.long), params, 0, 8)
    assert history.shape == (60,)
    assert history[-10:].mean() < history[:10].mean() - 0.1
    assert history[-1] < history[0]


@pytest.mark.parametrize("alternative", ["blur", "noise"])
def test_mask_optimisation_keeps_the_quadrant_and_its_class(alternative: str) -> None:
    model, images = QuadrantModel(), quadrant_images(3)
    explainer = SALIENCY_METHODS.get("mask_optimisation")(
        seed=1, batch_size=8, **OPT_TOY, alternative=alternative
    )
    maps = explainer.explain(model, images, np.zeros((3, 1), dtype=np.int64))
    assert maps.shape == (3, 1, H, W) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    for m in maps[:, 0]:
        assert m[INSIDE].mean() > m[~INSIDE].mean() + 0.3
    # The preserved region alone keeps the class; without it the class probability drops.
    x = torch.from_numpy(images).float()
    alt = blurred(x, OPT_TOY["blur_sigma"])
    mask = torch.from_numpy(maps[:, 0, :, :, None])
    preserved = class0_prob(model, x * mask + alt * (1 - mask))
    destroyed = class0_prob(model, x * (1 - mask) + alt * mask)
    original, removed = class0_prob(model, x), class0_prob(model, alt)
    if alternative == "blur":
        assert (preserved > 0.9 * original).all()
    assert (preserved > removed + 0.1).all() and (destroyed < preserved).all()


def test_mask_optimisation_is_seeded_and_independent_of_the_batch() -> None:
    model, images = QuadrantModel(), quadrant_images(3, seed=2)
    targets = np.array([[0, 1], [0, 0], [1, 0]])
    params = {**OPT_TOY, "alternative": "noise", "steps": 30}

    def run(seed, imgs, tgts, batch_size=8):
        method = SALIENCY_METHODS.get("mask_optimisation")(
            seed=seed, batch_size=batch_size, **params
        )
        return method.explain(model, imgs, tgts)

    together = run(3, images, targets)
    np.testing.assert_array_equal(together, run(3, images, targets))
    np.testing.assert_allclose(together[1:2], run(3, images[1:2], targets[1:2], 2), atol=1e-4)
    assert np.abs(run(4, images, targets) - together).max() > 1e-3


def test_mask_optimisation_constant_model_gives_finite_small_masks() -> None:
    from test_saliency import ConstantModel

    maps = SALIENCY_METHODS.get("mask_optimisation")(mask_size=4, steps=40).explain(
        ConstantModel(), make_images(2), np.array([[0, 2], [1, 1]])
    )
    assert np.isfinite(maps).all() and maps.max() < 0.1  # nothing to keep: area wins


# ---------------------------------------------------------------- the learned masker


class NoLayerQuadrant(QuadrantModel):
    """The toy model without a default feature layer: the masker brings its own encoder."""

    def gradcam_layer(self):
        return None


def test_feature_tap_grids_and_stops_early() -> None:
    model = QuadrantModel()
    features = FeatureTap(model, None)(torch.from_numpy(quadrant_images(2)).float())
    assert features.shape == (2, 2, H, W) and not features.requires_grad
    assert FeatureTap(NoLayerQuadrant(), None)(torch.zeros((1, H, W, 3))) is None
    with pytest.raises(ValueError, match="layer"):
        FeatureTap(model, "nope")
    vit = _tiny_vit(with_grid=True)
    images = torch.from_numpy(make_images(2, h=16, w=16)).float()
    saved = {}
    handle = vit.gradcam_layer().register_forward_hook(lambda m, i, o: saved.update(tokens=o))
    vit(images)
    handle.remove()
    grid = FeatureTap(vit, None)(images)
    expected = saved["tokens"][:, 1:].transpose(1, 2).reshape(2, 32, 4, 4)
    torch.testing.assert_close(grid, expected)


def test_n_up_blocks() -> None:
    assert n_up_blocks((4, 4), (32, 32)) == 2  # small CNN on digits: 16x16 masks
    assert n_up_blocks((7, 7), (224, 224)) == 3  # EfficientNet-Lite0: 56x56
    assert n_up_blocks((16, 12), (16, 12)) == 1


@pytest.fixture(scope="module")
def toy_masker(tmp_path_factory):
    model = QuadrantModel()
    images = quadrant_images(48, seed=5)
    params = params_of("realtime_mask", **MASKER_TOY)
    net, metrics = train_masker(model, images, np.zeros(48, dtype=np.int64), params, seed=11)
    path = tmp_path_factory.mktemp("masker") / "masker.safetensors"
    save_masker(net, path, layer=None, class_names=model.class_names, metrics=metrics)
    return model, net, metrics, path, params


def test_masker_training_reduces_the_loss(toy_masker) -> None:
    _, _, metrics, _, _ = toy_masker
    assert metrics["steps"] == 150 and metrics["n_train"] == 48
    assert metrics["loss_last"] < metrics["loss_first"] - 0.1
    assert metrics["area_fake"] < 0.1 < metrics["area_real"]
    assert metrics["feature_shape"] == [2, H, W] and metrics["mask_grid"] == [2 * H, 2 * W]


def test_realtime_mask_finds_the_quadrant(toy_masker) -> None:
    model, _, _, path, _ = toy_masker
    images = quadrant_images(4, seed=9)  # not the training images
    explainer = SALIENCY_METHODS.get("realtime_mask")(masker_path=str(path), batch_size=3)
    with torch.inference_mode():
        maps = explainer.explain(model, images, np.array([[0, 1]] * 4))
    assert maps.shape == (4, 2, H, W) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    for m in maps[:, 0]:
        assert m[INSIDE].mean() > m[~INSIDE].mean() + 0.3
    # class 1 was only ever a fake label: the masker keeps (almost) nothing for it
    assert maps[:, 1].mean() < 0.5 * maps[:, 0].mean()
    x = torch.from_numpy(images).float()
    alt = blurred(x, TOY["blur_sigma"])
    mask = torch.from_numpy(maps[:, 0, :, :, None])
    preserved = class0_prob(model, x * mask + alt * (1 - mask))
    assert (preserved > class0_prob(model, alt) + 0.1).all()


def test_saved_masker_gives_the_same_maps(toy_masker) -> None:
    model, net, _, path, _ = toy_masker
    loaded, info = load_masker(path)
    assert info["layer"] is None and info["class_names"] == model.class_names
    assert info["metrics"]["steps"] == 150
    x = torch.from_numpy(quadrant_images(2, seed=3)).float()
    features = FeatureTap(model, None)(x)
    t = torch.tensor([0, 1])
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(features, normalise_images(x), t), net(features, normalise_images(x), t)
        )
    maps = SALIENCY_METHODS.get("realtime_mask")(masker_path=str(path)).explain(
        model, x.numpy().astype(np.uint8), np.array([[0], [1]])
    )
    expected = upsample(net(features, normalise_images(x), t).detach(), (H, W))
    np.testing.assert_allclose(maps[:, 0], expected.numpy(), atol=1e-6)


def test_masker_training_is_reproducible() -> None:
    model, images = QuadrantModel(), quadrant_images(8)
    params = params_of("realtime_mask", **{**MASKER_TOY, "train_steps": 5})
    labels = np.zeros(8, dtype=np.int64)
    a, _ = train_masker(model, images, labels, params, seed=2)
    b, _ = train_masker(model, images, labels, params, seed=2)
    c, _ = train_masker(model, images, labels, params, seed=3)
    for key, value in a.state_dict().items():
        torch.testing.assert_close(value, b.state_dict()[key], atol=0, rtol=0)
    assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())
    assert all(p.requires_grad for p in model.parameters())  # the classifier is restored


def test_masker_without_a_feature_layer_uses_its_own_encoder(tmp_path) -> None:
    model = NoLayerQuadrant()
    params = params_of("realtime_mask", **{**MASKER_TOY, "train_steps": 3, "alternative": "noise"})
    net, metrics = train_masker(model, quadrant_images(8), np.zeros(8, np.int64), params, seed=0)
    assert net.encoder is not None and metrics["feature_shape"] is None
    path = tmp_path / "m.safetensors"
    save_masker(net, path, layer=None, class_names=model.class_names)
    maps = SALIENCY_METHODS.get("realtime_mask")(masker_path=str(path)).explain(
        model, quadrant_images(2), np.array([[0], [1]])
    )
    assert maps.shape == (2, 1, H, W) and np.isfinite(maps).all()


def test_realtime_mask_errors(toy_masker, tmp_path) -> None:
    model, net, _, path, _ = toy_masker
    images, targets = quadrant_images(1), np.array([[0]])
    with pytest.raises(ValueError, match="masker_path"):
        SALIENCY_METHODS.get("realtime_mask")().explain(model, images, targets)
    with pytest.raises(ValueError, match="masker_path"):
        SALIENCY_METHODS.get("realtime_mask")(masker_path=str(tmp_path / "none")).explain(
            model, images, targets
        )
    other = tmp_path / "other.safetensors"
    save_masker(net, other, layer=None, class_names=["x", "y"])
    with pytest.raises(ValueError, match="other classes"):
        SALIENCY_METHODS.get("realtime_mask")(masker_path=str(other)).explain(
            model, images, targets
        )
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"format": "something"})
    with pytest.raises(ValueError, match="salsweep-masker"):
        load_masker(foreign)
    with pytest.raises(ValueError, match="targets"):
        train_masker(model, images, np.array([2]), params_of("realtime_mask"), seed=0)


def test_masker_net_shapes() -> None:
    net = MaskerNet(n_classes=5, feature_channels=6, width=8, n_blocks=2)
    out = net(torch.randn(3, 6, 4, 5), torch.zeros(3, 3, 16, 20), torch.tensor([0, 4, 2]))
    assert out.shape == (3, 1, 16, 20) and out.min() >= 0 and out.max() <= 1


# ---------------------------------------------------------------- which images train it


def test_training_split(tmp_path) -> None:
    assert training_split({"source": "sklearn_digits"}) == "train"
    assert training_split({"source": "sklearn_digits"}, "eval") == "eval"
    assert training_split({"source": "bundled_photos"}) == "eval"
    with pytest.raises(ValueError, match="train_split"):
        training_split({"source": "bundled_photos"}, "train")
    with pytest.raises(ValueError, match="train_split"):
        training_split({"source": "sklearn_digits"}, "test")
    hf = {"source": "hf", "path": "parquet"}
    assert training_split({**hf, "data_files": {"test": "a.parquet"}}) == "eval"
    assert training_split({**hf, "data_files": {"test": "a", "train": "b"}}) == "train"
    fit = {**hf, "data_files": {"test": "a", "fit": "b"}, "train_split": "fit"}
    assert training_split(fit) == "train"
    assert training_split({"source": "hf", "path": "uoft-cs/cifar10"}) == "train"
    single = tmp_path / "one.parquet"
    single.write_bytes(b"")
    assert training_split({"source": "hf", "path": str(single)}) == "eval"
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "dataset_dict.json").write_text(json.dumps({"splits": ["test"]}))
    assert training_split({"source": "hf", "path": str(saved)}) == "eval"
    (saved / "dataset_dict.json").write_text(json.dumps({"splits": ["test", "train"]}))
    assert training_split({"source": "hf", "path": str(saved)}) == "train"
    assert training_split({**hf, "data_files": {"test": "a"}}, "train") == "train"


def test_training_subset() -> None:
    np.testing.assert_array_equal(training_subset(5, 10, 0), np.arange(5))
    rows = training_subset(100, 10, 3)
    assert len(rows) == 10 and len(set(rows)) == 10 and (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(rows, training_subset(100, 10, 3))
