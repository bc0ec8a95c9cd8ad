#!/usr/bin/env bash
# Shows here, without a GPU, that the wheel set of bench/gpu_wheels.sh runs the default study
# beside a plain Python 3.12 with torch: a clean 3.12 venv gets torch==2.13.0 and the
# packages the GPU machine has preinstalled (from PyPI), then only the absent wheels, installed
# as bench/gpu_check.sh installs them (--no-index --no-deps --target), and runs
# `snakemake --cores 2` in a fresh clone. Prints the study's wall time and table hashes.
#
#   PYTHON312=/path/to/python3.12 bash bench/gpu_wheels_venv_check.sh [work folder]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-$(mktemp -d)}"
PYTHON312="${PYTHON312:-python3.12}"

bash "$REPO/bench/gpu_wheels.sh" | tail -1
rm -rf "$WORK/venv" "$WORK/site" "$WORK/run"
"$PYTHON312" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check torch==2.13.0 transformers pandas \
    pyarrow scikit-image scikit-learn seaborn opencv-python-headless
mapfile -t absent < <("$WORK/venv/bin/python" "$REPO/bench/absent_wheels.py" "$REPO/.whl")
echo "installing ${#absent[@]} absent wheels of $(ls "$REPO"/.whl/*.whl | wc -l)"
"$WORK/venv/bin/python" -m pip install -q --no-index --no-deps --disable-pip-version-check \
    --target "$WORK/site" "${absent[@]}"
git clone -q "$REPO" "$WORK/run"
cd "$WORK/run"
start=$(date +%s)
HF_HUB_OFFLINE=1 PYTHONPATH="$WORK/site:$WORK/run/src" "$WORK/venv/bin/python" -m snakemake \
    --cores 2 --quiet > "$WORK/run.log" 2>&1 && rc=0 || rc=$?
echo "default study in a clean Python 3.12 venv: exit $rc, $(($(date +%s) - start)) s"
sha256sum "$WORK"/run/results/tables/*
exit "$rc"
