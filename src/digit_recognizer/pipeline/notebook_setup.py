"""The project's Jupyter set-up, the same for papermill and for a learner's JupyterLab.

    python -m digit_recognizer.pipeline.notebook_setup    (./run_all.sh runs it)

- the kernel "Python (digit-recognizer)": this interpreter, as quiet as the pipeline's;
- a Jupyter Server pre-save hook: a stage notebook (`notebooks/*.ipynb` beside `dvc.yaml`) is
  saved without outputs, byte for byte as committed, so DVC (which hashes the notebooks) and
  git see no change. (Not nbstripout's git filter: git runs it, a Python process per notebook,
  on every status and commit that DVC's experiment records make: an unchanged rerun took 79 s
  with it and 13 s without.)

Each is (re)written only when missing or different.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

KERNEL_NAME = "digit-recognizer"
KERNEL_DISPLAY_NAME = "Python (digit-recognizer)"
# Output that native libraries write straight to the kernel's file descriptors (TensorFlow's
# C++ start-up and tf.data log lines) goes to the terminal that started the kernel, not into
# the notebook: ipykernel forwards it into the cells only when capture_fd_output is on (its
# default). Python's own sys.stdout and sys.stderr are still captured as usual.
KERNEL_ARGUMENTS = ["--IPKernelApp.capture_fd_output=False"]
KERNEL_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}
# What ipykernel's own `install` puts before `-m ipykernel_launcher` (for its debugger).
PYTHON_ARGUMENTS = ["-Xfrozen_modules=off"]

# nbstripout's command line strips these besides the outputs (its strip_output alone does not);
# then what JupyterLab writes of the kernel's language on save, of which the committed
# notebooks keep the name only.
NBSTRIPOUT_DEFAULT_KEYS = [
    "metadata.signature", "metadata.widgets", "cell.metadata.collapsed",
    "cell.metadata.ExecuteTime", "cell.metadata.execution", "cell.metadata.heading_collapsed",
    "cell.metadata.hidden", "cell.metadata.scrolled",
]
LANGUAGE_INFO_KEYS = [f"metadata.language_info.{key}" for key in (
    "codemirror_mode", "file_extension", "mimetype", "nbconvert_exporter", "pygments_lexer",
    "version")]
SAVE_HOOK = "digit_recognizer.pipeline.notebook_setup.strip_outputs"
SERVER_CONFIG = "jupyter_server_config"


def wanted_kernel_spec() -> dict:
    from ipykernel.kernelspec import get_kernel_dict

    return {**get_kernel_dict(KERNEL_ARGUMENTS, PYTHON_ARGUMENTS),
            "display_name": KERNEL_DISPLAY_NAME, "env": KERNEL_ENV}


def ensure_kernel() -> None:
    """Register this interpreter as the notebooks' kernel, unless it is already, as wanted."""
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    wanted = wanted_kernel_spec()
    try:
        found = manager.get_kernel_spec(KERNEL_NAME).to_dict()
        if all(found[key] == wanted[key] for key in ("argv", "env", "display_name")):
            return
    except NoSuchKernel:
        pass
    path = write_kernel_spec(overrides=wanted)
    try:
        manager.install_kernel_spec(path, KERNEL_NAME, prefix=sys.prefix)
    finally:
        shutil.rmtree(path)


def ensure_save_hook() -> None:
    """`strip_outputs` before every save, in this environment's jupyter_server_config.json
    (merged into what is there; Jupyter Server reads the `.d` folder beside it for enabling
    extensions only)."""
    from jupyter_core.paths import ENV_CONFIG_PATH
    from traitlets.config.manager import BaseJSONConfigManager

    config = BaseJSONConfigManager(config_dir=ENV_CONFIG_PATH[0])
    wanted = {"FileContentsManager": {"pre_save_hook": SAVE_HOOK}}
    found = config.get(SERVER_CONFIG).get("FileContentsManager", {}).get("pre_save_hook")
    if found != SAVE_HOOK:
        config.update(SERVER_CONFIG, wanted)


def is_stage_notebook(path: Path) -> bool:
    return path.suffix == ".ipynb" and path.parent.name == "notebooks" and \
        (path.parent.parent / "dvc.yaml").is_file()


def strip_outputs(model: dict, path: str, contents_manager, **kwargs) -> None:
    """The pre-save hook: a stage notebook as nbstripout's git filter would commit it."""
    if model.get("type") != "notebook" or \
            not is_stage_notebook(Path(contents_manager.root_dir, path)):
        return
    import nbformat
    from nbstripout import strip_output

    model["content"] = strip_output(
        nbformat.from_dict(model["content"]), keep_output=False, keep_count=False,
        keep_id=True, extra_keys=NBSTRIPOUT_DEFAULT_KEYS + LANGUAGE_INFO_KEYS)


def main() -> int:
    ensure_kernel()
    ensure_save_hook()
    return 0


if __name__ == "__main__":
    sys.exit(main())
