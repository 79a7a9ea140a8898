"""Ray, the optional distributed engine of `track batch` and `track eval --engine ray`: import, connect, map.

Ray is an extra (`pip install -e '.[ray]'`); `import_ray` turns its absence into one clear error. A session
started here (no cluster address, Ray not yet initialised) is shut down when the work ends; a cluster that
was already connected (a test fixture, a notebook) is left as it was.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from tracker.batch_names import PARAMETERS, SettingNames
from tracker.stop_flag import interrupts_held

__all__ = [
    "check_gpus",
    "check_local_gpus",
    "check_reachable",
    "import_ray",
    "in_folder",
    "joins_cluster",
    "ray_map",
    "ray_session",
    "worker_logs_hint",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "pip install -e '.[ray]' (or pip install 'ray>=2.40')"
ADDRESS_ENV = "RAY_ADDRESS"  # where Ray looks for a cluster when no address is given
CONNECT_TIMEOUT_S = 5.0  # a cluster address that accepts no TCP connection within this is unreachable
# how Ray's SIGTERM handlers, which `ray.init` installs, end the process: the driver's with the signal's number, a
# local head node's (after stopping its processes) with 1
_RAY_SIGTERM_EXIT_CODES = (signal.SIGTERM, 1)
LOCAL_WORD = "local"  # the address Ray reads as: start a Ray on this machine
AUTO_WORD = "auto"  # the address Ray reads as: $RAY_ADDRESS if set, else the cluster last started on this machine
RAY_WORDS = (AUTO_WORD, LOCAL_WORD)  # addresses Ray reads as words: find the running cluster, start one here
DEFAULT_LOGS = "/tmp/ray/session_latest/logs"  # where Ray keeps a node's logs unless its temp folder was changed


def import_ray() -> ModuleType:
    """The `ray` module.

    Raises:
        ImportError: Ray cannot be imported, in one line with the import's own reason and the install command:
            "which is not installed" where `ray` itself is missing, "which fails to import" otherwise (a broken
            install, a missing shared library or dependency: it was told "not installed", the reason dropped).
    """
    try:
        import ray
    except ImportError as exc:
        lines = str(exc).strip().splitlines()
        cause = lines[0] if lines else type(exc).__name__
        missing = isinstance(exc, ModuleNotFoundError) and (exc.name or "").partition(".")[0] == "ray"
        state = "which is not installed" if missing else "which fails to import"
        raise ImportError(f"the ray engine needs Ray, {state} ({cause}): {INSTALL_HINT}") from exc
    return ray


@contextmanager
def ray_session(
    address: str | None = None, quiet: bool = False, names: SettingNames = PARAMETERS
) -> Iterator[ModuleType]:
    """Ray, initialised: joins `address` ("auto", "ray://host:10001", ...) or starts a local instance.

    Yields the `ray` module. A session this function started is shut down on exit, a Ctrl-C or SIGTERM meanwhile
    handled once Ray has stopped (`tracker.stop_flag.interrupts_held`). `quiet` (`--quiet`): Ray's own
    start-up lines ("Started a local Ray instance", its token notice) are not printed, only its errors. The Python
    handlers of SIGTERM and SIGINT set before (`track batch`'s: stop the tasks, drop unfinished folders) stay in
    force: `ray.init` installs its own C handler, which ended the driver at once (SIGTERM: an abort, orphaned
    `.partial` folders, the gallery not linked). A SIGTERM while `ray.init` runs (Ray's Python handler: `sys.exit`)
    stops the Ray it was starting and is then given to that handler (`track eval`'s raises KeyboardInterrupt).
    `names` (`tracker.batch_names`): what the error of an `address` with no cluster calls it (`--address`, or
    `track_many`'s `address=`).
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    check_reachable(address, names)
    # No dashboard: it needs extra packages and a port, and nothing here reads it.
    level = logging.ERROR if quiet else logging.INFO  # INFO: Ray's default
    stopped: SystemExit | None = None
    with _python_signal_handlers_kept():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=level)
        except ConnectionError as exc:
            env = os.environ.get(ADDRESS_ENV)
            if not address and not env:
                raise
            # Ray's message asks for an `--address` flag, which `track eval` has not and `track batch --address auto`
            # was given: say where the address came from
            reason = str(exc).split(". ", 1)[0].rstrip(".")
            where = f"{ADDRESS_ENV}={env}" if _reads_env(address) else names.setting("address", str(address))
            instead = _address_origin(address, names)[1]
            raise ConnectionError(
                f"no Ray cluster at {where} ({reason}); start one, or {instead} to start a local Ray"
            ) from None
        except SystemExit as exc:  # Ray's own SIGTERM handler, installed by init, ran while Ray was starting
            if exc.code not in _RAY_SIGTERM_EXIT_CODES:
                raise
            stopped = exc
    if stopped is not None:  # Ray's processes stopped; the SIGTERM goes to the handler set before (`track eval`'s,
        ray.shutdown()  # `track batch`'s: stop as Ctrl-C does), else ends the process as a SIGTERM does
        log.info("ray: SIGTERM while Ray was starting")
        signal.raise_signal(signal.SIGTERM)
        raise stopped  # (SIGTERM ignored, or a handler that returns: Ray did not start)
    log.info("ray: %s", "connected to " + address if address else "started a local instance")
    try:
        yield ray
    finally:
        with interrupts_held():  # a second Ctrl-C here left Ray half stopped, which ended the process (status 1)
            ray.shutdown()


@contextmanager
def _python_signal_handlers_kept() -> Iterator[None]:
    """Re-install, after the block, the Python handlers of SIGTERM and SIGINT that were set before it (in the main
    thread only, where Python handles signals); default and ignored dispositions are left to the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            if callable(handler):
                signal.signal(sig, handler)


def _worker_logs(ray: ModuleType) -> Path | None:
    """The log folder of the Ray session this process is connected to (`<temp folder>/<session>/logs`), where Ray
    writes each worker's stderr (`worker-*.err`: a task's traceback) and `python-core-worker-*.log`; on a cluster the
    same path on each node. None where Ray cannot tell (not connected, a Ray without the calls)."""
    try:  # the public runtime context (`get_session_name`: Ray 2.5x), else the driver's node (Ray's own attribute)
        context = ray.get_runtime_context()
        return Path(context.get_temp_dir()) / context.get_session_name() / "logs"
    except Exception:  # (AttributeError on an older Ray, AssertionError when not connected, a Ray Client's refusal)
        log.debug("the runtime context gives no session folder", exc_info=True)
    try:
        return Path(ray._private.worker._global_node.get_logs_dir_path())
    except Exception:
        log.debug("Ray's node gives no log folder", exc_info=True)
        return None


def worker_logs_hint(ray: ModuleType) -> str:
    """Where a crashed task's worker left its traceback, for an error line: "the worker's logs are in <folder> ..."."""
    folder = _worker_logs(ray)
    where = f"{folder}" if folder is not None else f"Ray's session folder ({DEFAULT_LOGS} by default)"
    return f"the worker's logs (its traceback) are in {where}, on the node that ran it"


def joins_cluster(address: str | None) -> bool:
    """Whether Ray joins a cluster (`address`, else `$RAY_ADDRESS`), which may grow and whose nodes look for files on
    their own disks, rather than starting one on this machine (no address, or Ray's "local": `--address local` was
    taken for a cluster, so a GPU share this machine has no GPU for was only logged and the tasks waited forever)."""
    given = _effective_address(address)
    return bool(given) and given != LOCAL_WORD


def check_reachable(address: str | None, names: SettingNames = PARAMETERS) -> None:
    """Fail at once on a cluster address that is no address, or a `host:port` (or `ray://host:port`) that accepts no
    connection. `names`: what the errors call the address given (`--address`, or `track_many`'s `address=`).

    Ray itself retries an unreachable address for minutes, printing a warning every few seconds, and says of one
    that is no address only "Invalid address format: junk" once it has loaded (seconds), naming neither the option
    nor $RAY_ADDRESS. None means `$RAY_ADDRESS`, as in Ray; Ray's words ("auto", "local") and other schemes
    (`ray://host` on Ray Client's port) are left to Ray.

    Raises:
        ValueError: an address that is neither one of Ray's words, nor `host:port`, nor a URL, naming where it came
            from.
        ConnectionError: nothing accepts a TCP connection at that host and port, naming them and where they came from.
    """
    given = _effective_address(address)
    if not given or given in RAY_WORDS:
        return
    origin, instead = _address_origin(address, names)
    host, _, port = given.removeprefix("ray://").rpartition(":")
    if "://" not in given and not (host and port.isdigit()):
        raise ValueError(
            f"{given!r} ({origin}) is no Ray cluster address: give host:port (the head node's), ray://host:10001 or "
            f"auto; or {instead} to start a local Ray"
        )
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConnectionError(
            f"cannot reach the Ray cluster at {given} ({origin}): {exc.strerror or exc}; start it, or {instead} to "
            "start a local Ray"
        ) from None


def _effective_address(address: str | None) -> str:
    """The address Ray will use for `address`: `$RAY_ADDRESS` where Ray reads it (`_reads_env`), else `address` ("":
    none, start a local Ray)."""
    return os.environ[ADDRESS_ENV] if _reads_env(address) else address or ""


def _reads_env(address: str | None) -> bool:
    """Whether Ray takes the cluster address from `$RAY_ADDRESS` for `address`: it is set, and `address` is none or
    Ray's "auto" (which reads `$RAY_ADDRESS` first)."""
    return bool(os.environ.get(ADDRESS_ENV)) and address in (None, "", AUTO_WORD)


def _address_origin(address: str | None, names: SettingNames) -> tuple[str, str]:
    """(where the cluster address came from, how to start a local Ray instead): ("given by --address", "leave
    --address out") for `address`; ("given by RAY_ADDRESS", "unset RAY_ADDRESS") where Ray reads `$RAY_ADDRESS`
    (no `address`, or "auto": then "unset RAY_ADDRESS and leave --address out", as Ray reads it without one too)."""
    if not _reads_env(address):
        return f"given by {names.address}", f"leave {names.address} out"
    leave = f" and leave {names.address} out" if address else ""
    return f"given by {ADDRESS_ENV}", f"unset {ADDRESS_ENV}{leave}"


def check_gpus(ray: ModuleType, gpus_per_task: float, cluster: bool, names: SettingNames) -> None:
    """Refuse a GPU share no node of a Ray that cannot grow can give: its tasks would wait forever. `names`: what
    the messages call the share and the address (`tracker.batch_names`: `track batch`'s options, or `track_many`'s
    parameters).

    A local Ray (`cluster` False: started here, or a fixture's) has the GPUs it was started with, so tasks asking
    for more than it has are never scheduled: `track batch --engine ray --gpus-per-video 0.25` on a machine without
    a GPU printed nothing and waited ("0/1 videos done") until interrupted. A cluster (`--address`, `$RAY_ADDRESS`)
    may add GPU nodes later (an autoscaler): it is only logged there.

    Raises:
        ValueError: `cluster` is False and the Ray's GPUs are fewer than `gpus_per_task`, naming both.
    """
    if gpus_per_task <= 0:
        return
    have = float(ray.cluster_resources().get("GPU", 0.0))
    if have >= gpus_per_task:
        return
    if cluster:
        log.warning(
            "%s cluster has %g GPUs now: the tasks wait until a node with a GPU joins",
            _asked(gpus_per_task, names),
            have,
        )
        return
    raise _too_few_gpus(gpus_per_task, have, names)


def check_local_gpus(gpus_per_task: float, address: str | None, names: SettingNames = PARAMETERS) -> None:
    """Refuse, before Ray starts, a GPU share the Ray this machine would start cannot give (`check_gpus`' refusal,
    which came after Ray's ~5 s start, its start-up lines and an empty progress bar). Only where a Ray is started
    here (no cluster `address` nor `$RAY_ADDRESS`, or "local", and none initialised in this process: a fixture's
    has the GPUs it was given): a cluster's GPUs are its nodes', asked once connected. The GPUs are counted as Ray
    counts them at its start (`_local_gpus`); where Ray's count cannot be had, nothing is refused here.

    Raises:
        ValueError: the share is above the GPUs this machine's Ray would have, naming both (`check_gpus`' words).
    """
    if gpus_per_task <= 0 or joins_cluster(address):
        return
    ray = import_ray()
    if ray.is_initialized():
        return
    have = _local_gpus()
    if have is not None and have < gpus_per_task:
        raise _too_few_gpus(gpus_per_task, have, names)


def _local_gpus() -> int | None:
    """The GPUs a Ray started here gets (its resource "GPU"): what its accelerator managers for that resource detect
    (NVIDIA's through NVML), at most those `CUDA_VISIBLE_DEVICES` (or the manager's variable) leaves visible, as
    Ray's node start resolves them (ray._private.resource_and_label_spec). None where Ray's private API differs."""
    try:
        from ray._private.accelerators import get_all_accelerator_managers
    except ImportError:
        return None
    found = 0
    try:
        for manager in get_all_accelerator_managers():
            if manager.get_resource_name() != "GPU":
                continue
            count = manager.get_current_node_num_accelerators()
            visible = manager.get_current_process_visible_accelerator_ids()
            found = max(found, count if visible is None else min(count, len(visible)))
    except (AttributeError, TypeError):  # (another Ray version's methods)
        return None
    return found


def _asked(gpus_per_task: float, names: SettingNames) -> str:
    """The start of a GPU-share message: "--gpus-per-video 0.25 asks ..., but the Ray"."""
    return f"{names.setting('gpus_per_video', gpus_per_task)} asks each video's task for a GPU share, but the Ray"


def _too_few_gpus(gpus_per_task: float, have: float, names: SettingNames) -> ValueError:
    """The refusal of a share a local Ray's `have` GPUs cannot give."""
    return ValueError(
        f"{_asked(gpus_per_task, names)} started on this machine has {have:g} GPUs: its tasks would wait forever; "
        f"leave {names.gpus_per_video} out (the videos run on the CPUs) or join a cluster with GPUs ({names.address})"
    )


def in_folder(folder: str, fn: Callable[..., R], *args: Any) -> R:
    """`fn(*args)` run with `folder` (the driver's working folder, `os.getcwd()`) as the working folder, then the one
    before restored: what each Ray task runs. A Ray worker starts in the folder its Ray was started from (on a
    cluster, where `ray start` ran on its node; a local Ray, the driver's folder at `ray.init`), so the driver's
    relative paths (`cams/a.mp4`, `--out runs/site`, `--set reid.weights=w/osnet.pth`) named nothing there, or
    another file. A node where `folder` does not exist (no shared file system) keeps its own, as before."""
    try:
        before = os.getcwd()
        os.chdir(folder)
    except OSError:  # (no such folder on this node, or the worker's own was removed)
        return fn(*args)
    try:
        return fn(*args)
    finally:
        os.chdir(before)


def ray_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    address: str | None = None,
    num_cpus: float = 1,
    done: Callable[[], object] | None = None,
) -> list[R]:
    """`[fn(x) for x in items]`, one Ray task per item (each asking for `num_cpus`, run in the driver's working
    folder: `in_folder`), results in item order. `done`: called in the driver once per task that has ended (a
    progress bar's step), as it ends.

    Raises:
        Exception: what a task raised, as `fn` raised it (type and message; Ray's wrapper, whose message is the
            worker's traceback with colour codes, is kept as its `__cause__`), so a caller's one error line reads
            as with the process pool.
    """
    items = list(items)
    with ray_session(address) as ray:
        remote = ray.remote(num_cpus=num_cpus)(in_folder)
        folder = os.getcwd()  # (the items' relative paths are the driver's: `track eval --data ../data/MOT17`)
        refs: list[Any] = [remote.remote(folder, fn, x) for x in items]
        try:
            waiting = refs
            while done is not None and waiting:
                ended, waiting = ray.wait(waiting, num_returns=1)
                for _ in ended:
                    done()
            return ray.get(refs)
        except BaseException as exc:
            # only the tasks not yet ended: a cancel racing the reply of a task that has ended trips a check of Ray's
            # (task_manager.cc "Tried to complete task that was not pending", ray-project/ray#54738), which aborts
            # this driver process a moment later (exit status 1, no word: seen in a test run after a task failed)
            _, unfinished = ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in unfinished:
                ray.cancel(ref)
            cause = getattr(exc, "cause", None) if isinstance(exc, ray.exceptions.RayTaskError) else None
            if isinstance(cause, Exception):
                raise cause from exc
            raise
