#!/usr/bin/env bash
# Run the whole Digit Recognizer pipeline, or its tests, setting up the environment if needed.
#
#   ./run_all.sh [--source auto|local|kaggle|sample|mnist] [--profile quick|full|gpu] [--seed N] ...
#   ./run_all.sh test [pytest arguments]
#   ./run_all.sh --help
#
# With no virtual or conda environment active, it creates .venv/ and installs the pinned
# dependencies (requirements.txt) and the project into it; later runs reuse it. `test` also
# installs the optional extras that tests exercise (Ray, JAX), so nothing is skipped. An active
# environment gets the same pins, except tensorflow-cpu where a `tensorflow` (GPU) build is
# installed. In a Kaggle or Colab notebook it uses the notebook's Python and installs the
# project alone, keeping the image's GPU builds of TensorFlow and JAX.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '==> %s\n' "$*"; }

hosted=
if [ -n "${VIRTUAL_ENV:-}" ] || { [ -n "${CONDA_PREFIX:-}" ] && [ "${CONDA_DEFAULT_ENV:-base}" != base ]; }; then
    PY=python
    say "using the active environment ($("$PY" -c 'import sys; print(sys.prefix)'))"
elif [ -n "${KAGGLE_KERNEL_RUN_TYPE:-}" ] || [ -n "${COLAB_RELEASE_TAG:-}" ]; then
    PY=python3
    hosted=1
    say "in a Kaggle or Colab notebook: using its Python, TensorFlow and JAX"
else
    PY=.venv/bin/python
    if [ ! -x "$PY" ]; then
        say "creating a virtual environment in .venv/"
        "${PYTHON:-python3}" -m venv .venv
    fi
fi

# Install when requirements.txt or pyproject.toml changed since the last install (one stamp
# for the pipeline's dependencies, one for the tests' extras on top of them).
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
prefix=$("$PY" -c 'import sys; print(sys.prefix)')
stamp=$prefix/.digit-recognizer-installed
extras=
if [ "${1:-}" = test ]; then
    extras='[ray,jax]'  # tests/test_ray.py, tests/test_train.py
    stamp=$prefix/.digit-recognizer-test-installed
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing pinned dependencies (requirements.txt) and the project${extras:+ with the extras $extras}; a few minutes the first time"
    if [ -n "$hosted" ]; then  # the image's own versions stay
        "$PY" -m pip install --disable-pip-version-check -q -e ".$extras"
    else
        "$PY" -m pip install --disable-pip-version-check -q --upgrade pip
        pins=requirements.txt
        # tensorflow-cpu would replace the `tensorflow` module of a GPU build already there.
        if gpu_tf=$("$PY" -c 'import importlib.metadata as m; print(m.version("tensorflow"))' 2>/dev/null); then
            say "keeping the installed tensorflow $gpu_tf (not installing tensorflow-cpu)"
            pins=$(mktemp)
            grep -v '^tensorflow-cpu==' requirements.txt > "$pins"
        fi
        "$PY" -m pip install --disable-pip-version-check -q -r "$pins" -e ".$extras"
        [ "$pins" = requirements.txt ] || rm -f "$pins"
    fi
    echo "$want" > "$prefix/.digit-recognizer-installed"
    echo "$want" > "$stamp"
fi

# The notebooks' kernel and JupyterLab's save hook, when out of date.
[ -n "$hosted" ] || "$PY" -m digit_recognizer.pipeline.notebook_setup

export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
if [ "${1:-}" = test ]; then
    shift
    say "running the tests: pytest $*"
    exec "$PY" -m pytest "$@"
fi
exec "$PY" -m digit_recognizer.pipeline.run "$@"
