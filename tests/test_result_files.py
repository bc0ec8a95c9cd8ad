"""Result files: written with the umask's modes, and a corrupt one is reported with its path
and what to do instead of a raw parser error (issue 11, defects 8 and 11)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from salsweep.io import (
    CorruptResultError,
    SaliencyMaps,
    load_maps,
    read_json,
    read_table,
    save_maps,
    write_json,
    write_table,
)


def tiny_maps() -> SaliencyMaps:
    rng = np.random.default_rng(0)
    return SaliencyMaps(
        maps=rng.random((2, 1, 8, 8), dtype=np.float32),
        targets=np.zeros((2, 1), dtype=np.int64),
        image_ids=["a", "b"],
        target_names=["truth"],
        method="rise",
        signed=False,
        class_names=["x", "y"],
    )


def write_all(folder) -> list:
    table, maps, js = folder / "t.parquet", folder / "m.safetensors", folder / "c.json"
    write_table(pd.DataFrame({"image_id": ["a", "b"], "label": [0, 1]}), table)
    save_maps(tiny_maps(), maps)
    write_json(["x", "y"], js)
    return [table, maps, js]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_get_the_mode_the_umask_allows(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        paths = write_all(tmp_path)
    finally:
        os.umask(old)
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "m.safetensors", "t.parquet"]


def truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def assert_says_what_to_do(error: pytest.ExceptionInfo, path) -> None:
    text = str(error.value)
    assert str(path) in text
    assert "Delete it" in text and f"--forcerun {path}" in text


def test_a_truncated_maps_file_names_the_file_and_the_remedy(tmp_path):
    _, maps, _ = write_all(tmp_path)
    truncate(maps)
    with pytest.raises(CorruptResultError) as error:
        load_maps(maps)
    assert_says_what_to_do(error, maps)
    assert "saliency maps file" in str(error.value)


def test_a_maps_file_of_garbage_names_the_file(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(CorruptResultError) as error:
        load_maps(path)
    assert_says_what_to_do(error, path)


def test_a_truncated_table_names_the_file_and_the_remedy(tmp_path):
    table, _, _ = write_all(tmp_path)
    truncate(table, keep=0.8)
    with pytest.raises(CorruptResultError) as error:
        read_table(table)
    assert_says_what_to_do(error, table)


def test_a_truncated_json_names_the_file_and_the_remedy(tmp_path):
    _, _, js = write_all(tmp_path)
    truncate(js)
    with pytest.raises(CorruptResultError) as error:
        read_json(js)
    assert_says_what_to_do(error, js)


def test_intact_files_read_back_and_missing_ones_stay_file_not_found(tmp_path):
    table, maps, js = write_all(tmp_path)
    assert read_table(table)["image_id"].tolist() == ["a", "b"]
    assert np.array_equal(load_maps(maps).maps, tiny_maps().maps)
    assert read_json(js) == ["x", "y"]
    for reader, name in ((read_table, "no.parquet"), (load_maps, "no.safetensors")):
        with pytest.raises(FileNotFoundError):
            reader(tmp_path / name)
