#!/usr/bin/env bash
# The GPU check, run on a lent GPU machine without network (one run, at most 8 minutes):
#   bash bench/gpu_check.sh             # on the GPU machine, after bench/gpu_wheels.sh here
#   bash bench/gpu_check.sh --dry-run   # the same steps on the CPU with tiny sizes (a test)
#
# Installs the wheels of .whl/ whose distributions the machine lacks into a folder of their
# own (pip --target, so the preinstalled CUDA torch is never replaced), puts it and src/ on
# PYTHONPATH, and hands over to bench/gpu_check.py, which runs the steps and prints one
# markdown table. GPU_WHEELS, GPU_SITE and PYTHON override the wheel folder, the install
# folder and the interpreter.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WHEELS="${GPU_WHEELS:-$REPO/.whl}"
SITE="${GPU_SITE:-${TMPDIR:-/tmp}/salsweep-gpu-site}"
DRY_RUN=0
for arg in "$@"; do [[ "$arg" == "--dry-run" ]] && DRY_RUN=1; done

start=$(date +%s.%N)
installed=0
if compgen -G "$WHEELS/*.whl" >/dev/null; then
    mapfile -t absent < <("$PYTHON" "$REPO/bench/absent_wheels.py" "$WHEELS")
    rm -rf "$SITE"
    if ((${#absent[@]})); then
        "$PYTHON" -m pip install --quiet --no-index --no-deps --disable-pip-version-check \
            --target "$SITE" "${absent[@]}"
    fi
    installed=${#absent[@]}
elif ((DRY_RUN)); then
    echo "no wheels in $WHEELS: nothing to install (dry run; bench/gpu_wheels.sh makes them)"
else
    echo "error: no wheels in $WHEELS; run bench/gpu_wheels.sh before the GPU run" >&2
    exit 1
fi
install_seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')

export PYTHONPATH="$SITE:$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "$PYTHON" "$REPO/bench/gpu_check.py" --site "$SITE" --installed "$installed" \
    --install-seconds "$install_seconds" "$@"
