"""The options of `./run_all.sh` (also those of `digit-recognizer kaggle-run`, which takes
the same), and the run's values they give: one section per stage of params.yaml."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from digit_recognizer import fileio
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.kaggle import run_options
from digit_recognizer.learning import recipes
from digit_recognizer.pipeline import graph, sources, stages

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# Handled where the run ends (here, or back here after a run on Kaggle): never by a remote run.
SUBMIT_NAMES = ("submit", "dry_run", "message")
# What a run on Kaggle's machine cannot mean.
LOCAL_ONLY = ("mnist_dir", "data_dir", "workers", "ray_address")


def find_root() -> Path:
    for candidate in (Path.cwd(), PACKAGE_DIR.parents[1]):
        if (candidate / "dvc.yaml").is_file() and (candidate / "notebooks").is_dir():
            return candidate
    raise DigitRecognizerError("dvc.yaml not found: run from the project's root folder")


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


def parser(kaggle_run: bool = False, **kwargs) -> argparse.ArgumentParser:
    """./run_all.sh's parser; with `kaggle_run`, kaggle-run's options (no --on-kaggle)."""
    p = argparse.ArgumentParser(**{
        "prog": "run_all.sh", "description": "Run the notebooks as a DVC pipeline (dvc repro).",
        "epilog": "Every parameter of params.yaml can be set with -p NAME VALUE (NAME alone sets "
                  "it in every stage that has it; STAGE.NAME in one stage).", **kwargs})
    p.add_argument("--source", default="auto", choices=sources.SOURCES,
                   help="where the data comes from (default: auto)")
    # The options that are parameters, with their defaults, come from the stage manifest.
    for name, param in parameter_options().items():
        p.add_argument(option(name), type=type(param.default), default=param.default,
                       choices=recipes.PROFILES if name == "profile" else None,
                       help=f"{param.help} (default: {param.default})")
    p.add_argument("--mnist-dir", default="", help="MNIST *-ubyte.gz files, for --source mnist")
    p.add_argument("--data-dir", default="data", help="where data/raw and caches live")
    p.add_argument("--only", default="",
                   help="comma-separated stage prefixes, e.g. 05 or 02,08 (the stages they need "
                        "run too when out of date)")
    p.add_argument("--force", action="store_true", help="rerun every stage")
    p.add_argument("--workers", default="local", choices=("local", "ray"),
                   help="where the ensemble's members train: here, one after another (local), "
                        "or as tasks of a Ray cluster (ray; pip install digit-recognizer[ray])")
    p.add_argument("--ray-address", default="",
                   help="with --workers ray: the cluster's HOST:PORT, or auto for the cluster "
                        "this machine belongs to (default: a Ray instance for this run)")
    p.add_argument("--verbose", action="store_true",
                   help="show everything: Keras's progress, TensorFlow's and Jupyter's logs")
    p.add_argument("--submit", action="store_true", help="submit the result to Kaggle")
    p.add_argument("--dry-run", action="store_true", help="with --submit: show, do not send")
    p.add_argument("--message", default="", help="Kaggle submission message")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="set a parameter of params.yaml")
    run_options.add_to(p, switch=not kaggle_run)
    return p


def check(args: argparse.Namespace, error) -> None:
    """What the parser cannot check alone; `error` (a parser's) exits with status 2."""
    for name, param in parameter_options().items():
        value = getattr(args, name)
        if isinstance(param.default, int) and value < 0:
            error(f"{option(name)} must be a non-negative integer, got {value}")
    if args.mnist_dir and not Path(args.mnist_dir).is_dir():
        error(f"--mnist-dir {args.mnist_dir}: no such directory")
    if args.ray_address and args.workers != "ray":
        error("--ray-address needs --workers ray")
    if args.source == "mnist" and not args.mnist_dir:
        error("--source mnist needs --mnist-dir DIR (the four MNIST *-ubyte.gz files)")


def remote_command(args: argparse.Namespace) -> list[str]:
    """The options of `args` for the run on Kaggle's machine, as a command line: those set to
    other than their defaults, less the Kaggle run's own and the submission's (handled here).
    Refused: the options that mean nothing there."""
    run_parser = parser()
    for name in LOCAL_ONLY:
        if getattr(args, name) != run_parser.get_default(name):
            raise DigitRecognizerError(
                f"{option(name)} means nothing on Kaggle's machine: leave it out")
    if args.source not in ("auto", "kaggle"):
        raise DigitRecognizerError(f"--source {args.source}: on Kaggle the run reads the "
                                   "competition attached to its notebook: leave --source out")
    line = []
    for action in run_parser._actions:  # in the order of --help
        name = action.dest
        if action.default == argparse.SUPPRESS or name in (*run_options.NAMES, *SUBMIT_NAMES):
            continue
        value = getattr(args, name)
        if name == "parameter":
            line += [part for pair in value for part in ("-p", *pair)]
        elif value != action.default:
            line += [option(name)] + ([] if action.nargs == 0 else [str(value)])
    return line


def parameter_options() -> dict[str, stages.Param]:
    """The parameters that are options of their own: the run-wide ones, and those a stage marks."""
    found = {n: p for n, p in stages.SHARED.items() if p.option}
    for s in stages.STAGES.values():
        found.update({n: p for n, p in s.params.items() if p.option})
    return found


def _literal(value: str):
    """`-p name value` like papermill's CLI: numbers and booleans are typed, the rest is text."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _typed(name: str, value: str, default):
    typed = _literal(value)
    if not isinstance(typed, type(default)) or isinstance(typed, bool) and \
            not isinstance(default, bool):
        raise DigitRecognizerError(
            f"-p {name} {value}: expected {type(default).__name__} like {default!r}")
    return typed


def run_parameters(args: argparse.Namespace) -> tuple[dict, dict]:
    """The run's values (defaults, then the options, then every -p NAME VALUE) and its
    params.yaml, one section per stage. An unknown NAME is an error that lists the names."""
    defaults = graph.run_defaults()
    values = {**defaults, **{name: getattr(args, name) for name in parameter_options()}}
    per_stage = []
    for name, value in args.parameter:
        stage_name, _, key = name.rpartition(".")
        if key not in defaults or stage_name and key not in settable(stage_name):
            raise DigitRecognizerError(
                f"-p {name}: no such parameter; the parameters are {', '.join(defaults)} "
                "(or STAGE.NAME for one stage)")
        if stage_name:
            per_stage.append((stage_name, key, _typed(name, value, defaults[key])))
        else:
            values[key] = _typed(name, value, defaults[key])
    if values["profile"] not in recipes.PROFILES:
        raise DigitRecognizerError(f"profile {values['profile']!r}: choose one of "
                                   + ", ".join(recipes.PROFILES))
    sections = graph.params(values)
    for stage_name, key, value in per_stage:
        sections[stage_name] = graph.stage_section(stages.STAGES[stage_name],
                                                   {**values, key: value})
    return values, sections


def settable(stage_name: str) -> set[str]:
    """What `-p STAGE.NAME` may set: the stage's parameters and the run-wide ones it uses; a
    training notebook also its profile and epochs (which its recipes resolve)."""
    s = stages.STAGES.get(stage_name)
    if s is None:
        return set()
    return {*s.params, *s.shared, *(("profile", "epochs") if s.training else ())}


def write_params(root: Path, sections: dict) -> None:
    path = root / "params.yaml"
    text = graph.render_params(sections)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        fileio.write_text(path, text)


def selected_stages(only: str) -> list[str]:
    if not only:
        return []
    prefixes = tuple(p.strip() for p in only.split(",") if p.strip())
    chosen = [name for name in stages.STAGES if name.startswith(prefixes)]
    if not chosen:
        raise DigitRecognizerError(f"--only {only}: no stage matches; the stages are "
                                   + ", ".join(stages.STAGES))
    return chosen
