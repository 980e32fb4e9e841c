"""Run independent members (ensemble networks, experiment seeds) here or on a Ray cluster.

    results = run_members(members, "data/split.npz")                     # here, one by one
    results = run_members(members, "data/split.npz", "ray", "auto")      # on a running cluster

`local` trains in this process, one member after another. `ray` makes each member a Ray task
that declares its CPUs (and GPUs), ships the split once through the object store, retries a
member whose worker or node died, and gives the same probabilities as `local` when a member gets
as many threads as the local run uses (`cpus_per_member`, by default this machine's cores).
Ray is an optional extra: `pip install 'digit-recognizer[ray]'`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from digit_recognizer.datasets import preprocess
from digit_recognizer.errors import DigitRecognizerError
from digit_recognizer.learning.members import Member, MemberResult, load_result, train_member

EXECUTORS = ("local", "ray")
RAY_EXTRA = "pip install 'digit-recognizer[ray]'"

OnDone = Callable[[MemberResult, int, int], None]  # (result, members done, members in all)


def run_members(members: Sequence[Member], split_path: str | os.PathLike,
                executor: str = "local", address: str | None = None,
                on_done: OnDone | None = None, retries: int = 2,
                out_dir: str | os.PathLike | None = None, cpus_per_member: int | None = None,
                gpus_per_member: float = 0,
                callbacks_for: Callable[[Member], list] | None = None,
                memo: str | os.PathLike | None = None) -> list[MemberResult]:
    """Train every member on the split saved at `split_path`; the results in the members' order.

    `on_done(result, done, total)` is called as each member finishes (in finishing order), after
    its files, when `out_dir` is given, are written there (NAME.keras/.npz/.json, atomically).
    `address` (ray only): a cluster's `HOST:PORT`, `auto` for the cluster this machine belongs
    to, or None for $RAY_ADDRESS if set, else a Ray instance on this machine for this run; a
    connection already made with `ray.init` is used as it is. `retries` bounds how often a
    member whose worker process or node died is started again; an error in the member itself
    (a bad file, a bug) is not retried. Either way a failed member fails the run, naming it.
    `callbacks_for(member)` (local only): Keras callbacks for its training, e.g. epoch progress.
    `memo`: a folder where each trained member is kept under a hash of everything that decides
    its result (`member_key`); a member found there is loaded, not trained again.
    """
    if executor not in EXECUTORS:
        raise DigitRecognizerError(f"unknown executor {executor!r}: choose local or ray")
    members = list(members)
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise DigitRecognizerError(f"member names must be unique: {names}")
    if retries < 0:
        raise DigitRecognizerError(f"retries must be >= 0, got {retries}")
    done: list[MemberResult] = []

    def finish(result: MemberResult) -> None:
        if memo is not None and not result.loaded:
            from digit_recognizer.learning import memo as training_memo

            training_memo.keep(Path(memo) / keys[result.member.name], result.save)
        if out_dir is not None:
            result.save(out_dir)
        done.append(result)
        if on_done is not None:
            on_done(result, len(done), len(members))

    split = preprocess.load_split(split_path)
    shared = shared_key(split) if memo is not None else ""
    keys = {m.name: member_key(m, shared) for m in members} if memo is not None else {}
    to_train = []
    for member in members:
        entry = Path(memo) / keys[member.name] if memo is not None else None
        if entry is not None and (entry / f"{member.name}.json").is_file():
            result = load_result(entry, member.name)
            result.loaded = True
            print(f"{member.name}: not trained again: loaded what the same member trained on "
                  f"{result.metrics.get('trained_at', 'an earlier run')}, kept in {entry}",
                  flush=True)
            finish(result)
        else:
            to_train.append(member)
    if executor == "local":
        for member in to_train:
            try:
                callbacks = callbacks_for(member) if callbacks_for else None
                result = train_member(member, split, callbacks=callbacks)
            except Exception as exc:
                raise _failed(member, exc) from exc
            finish(result)
    else:
        _run_ray(to_train, split, address, retries, cpus_per_member, gpus_per_member, finish)
    by_name = {r.member.name: r for r in done}
    return [by_name[name] for name in names]


def _failed(member: Member, exc: BaseException, why: str = "") -> DigitRecognizerError:
    detail = str(exc) if isinstance(exc, DigitRecognizerError) else f"{type(exc).__name__}: {exc}"
    return DigitRecognizerError(f"member {member.name} ({member.model}, seed {member.seed}) "
                                f"failed{why}: {detail}")


def shared_key(split: preprocess.Split) -> str:
    """A hash of what every member of a run shares: the split's arrays, the training code and
    the libraries' versions (computed once, not once per member)."""
    import hashlib

    from digit_recognizer.learning import memo

    digest = hashlib.sha256()
    for value in (split.x_train, split.y_train, split.x_val, split.y_val, split.x_test,
                  memo.training_code(memo.MEMBER_CODE), memo.versions()):
        memo.hash_value(digest, value)
    return digest.hexdigest()


def member_key(member: Member, shared: str) -> str:
    """A hash of everything that decides a member's result: its description (network, recipe,
    seed, fold, rows) and what it shares with the run's other members (`shared_key`)."""
    import hashlib

    from digit_recognizer.learning import memo

    digest = hashlib.sha256()
    memo.hash_value(digest, [{"name": member.name, **member.spec(), "seed": member.seed},
                             shared])
    return digest.hexdigest()[:20]


def _train_in_ray_worker(member: Member, split: preprocess.Split, threads: int) -> MemberResult:
    # A fresh worker process per member (max_calls=1), so TensorFlow starts with exactly the
    # threads the task declared: rounding depends on the thread count, and so do its results.
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    return train_member(member, split)


def _run_ray(members: list[Member], split: preprocess.Split, address: str | None, retries: int,
             cpus: int | None, gpus: float, finish: Callable[[MemberResult], None]) -> None:
    try:
        import ray
        from ray import exceptions
    except ImportError:
        raise DigitRecognizerError(f"the ray executor needs Ray: {RAY_EXTRA}") from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, log_to_driver=False, logging_level="WARNING")
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise DigitRecognizerError(f"cannot join the Ray cluster at {address}: {exc}") from exc
    pending: dict = {}
    try:
        cpus = cpus or _default_cpus(ray)
        task = ray.remote(max_calls=1)(_train_in_ray_worker).options(
            num_cpus=cpus, num_gpus=gpus, max_retries=retries, retry_exceptions=False,
            name="train_member")
        split_ref = ray.put(split)  # once: every task reads the same object, each node fetches it
        pending = {task.remote(member, split_ref, cpus): member for member in members}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            member = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except exceptions.RayTaskError as exc:  # the member itself raised
                raise _failed(member, exc.cause or exc) from exc
            except exceptions.RayError as exc:  # its worker or node died, retries used up
                tries = f"{retries + 1} attempt{'s' if retries else ''}"
                raise _failed(member, exc, f" after {tries} (its worker or node died)") from exc
            finish(result)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()


def _default_cpus(ray) -> int:
    """This machine's cores, or fewer if no node has that many (none has CPUs yet: autoscaling)."""
    here = os.cpu_count() or 1
    largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=0)
    return min(here, int(largest)) if largest >= 1 else here


def describe(result: MemberResult, done: int, total: int) -> str:
    """One progress line for the notebooks: `[2/15] batchnorm_seed3: validation accuracy
    99.31% (6 errors), trained in 412 s`. Never where (host and process): a notebook shows no
    machine's name."""
    m, member = result.metrics, result.member
    scored = (f"accuracy on its held-out fold {member.fold}" if member.folds
              else "validation accuracy")
    return (f"[{done}/{total}] {member.name}: {scored} {m['val_accuracy']:.2%} "
            f"({m['val_errors']} errors), trained in {m['train_seconds']:.0f} s"
            + (" (loaded, not trained again)" if result.loaded else ""))


def print_progress(result: MemberResult, done: int, total: int) -> None:
    """An `on_done` for notebooks and scripts."""
    print(describe(result, done, total), flush=True)

