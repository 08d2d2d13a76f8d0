"""Worker process entry: forked from the fork server that imported torch (manager.worker_context), it warms
up (the warm spare), waits for one experiment, trains it and exits. Talks to the server over two pipes:
jobs/controls in, events out.

Jobs: ("start", spec_json, device). Events: ("ready", pid, devices) or ("fatal", reason) · ("download", file,
done, total) · ("layers", json) · ("frame", step, prev_step, json) · ("late", step, prev_step, json): a slow
Ray group's part of a frame already sent · ("status", status, step, runs) · ("fold", json) · ("end", status,
error). With NORMSCOPE_EXECUTOR=ray the variants train in groups on Ray actors (groups/ray_driver.py).
The frame's JSON is encoded here, once; the server stores and fans out that text as it is. A thread drains
the control pipe as controls arrive: the server's send never waits for a step, a dataset or a probe."""

import contextlib
import importlib.util
import json
import os
import queue
import threading
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from normscope.catalog import DataRoot
from normscope.config import ExecutorSettings
from normscope.schemas import ControlCommand


def worker_main(
    jobs: Connection,
    events: Connection,
    threads: int,
    device_setting: str,
    data: DataRoot,
    executor: ExecutorSettings | None = None,
) -> None:
    import torch  # the fork server's already; under spawn paid while the spare waits, not at Start

    from normscope.config import resolve_devices
    from normscope.engine.data import DatasetError
    from normscope.engine.trainer import Trainer
    from normscope.groups.errors import RayUnavailable
    from normscope.schemas import ExperimentSpec, FoldResult, Frame

    if TYPE_CHECKING:
        from normscope.groups.ray_driver import RayGroups

    torch.set_num_threads(threads)
    executor = executor or ExecutorSettings()
    try:
        devices = resolve_devices(device_setting)
    except RuntimeError as e:
        events.send(("fatal", str(e)))
        return
    if executor.kind == "ray" and importlib.util.find_spec("ray") is None:
        events.send(("fatal", "NORMSCOPE_EXECUTOR=ray needs Ray installed: pip install 'normscope[ray]'"))
        return
    try:
        _warm_up(devices[0])
    except Exception as e:  # a device or install that cannot train is reported at startup, not at launch
        events.send(("fatal", f"warm-up training failed: {type(e).__name__}: {e}"))
        return
    try:
        events.send(("ready", os.getpid(), devices))
        _, spec_json, device = jobs.recv()
    except (EOFError, OSError):
        return  # the server went away before giving this spare a job

    controls: queue.SimpleQueue[ControlCommand] = queue.SimpleQueue()
    threading.Thread(target=_drain, args=(jobs, controls), name="controls", daemon=True).start()

    def control(timeout: float) -> ControlCommand | None:
        try:
            return controls.get(timeout=timeout) if timeout > 0 else controls.get_nowait()
        except queue.Empty:
            return None

    def on_frame(frame: Frame, late: bool = False) -> None:
        events.send(("late" if late else "frame", frame.step, frame.prev_step, frame.model_dump_json()))

    def on_status(status: str, step: int, runs: list[str]) -> None:
        events.send(("status", status, step, list(runs)))

    def on_folds(folds: list[FoldResult]) -> None:  # BN folded for inference, while the models are here
        events.send(("fold", json.dumps([f.model_dump() for f in folds])))

    def on_download(file: str, done: int, total: int) -> None:
        events.send(("download", file, done, total))

    root = replace(data, on_progress=on_download)

    end: tuple[Any, ...]
    try:
        spec = ExperimentSpec.model_validate_json(spec_json)
        trainer: Trainer | RayGroups
        if executor.kind == "ray":
            from normscope.groups.ray_driver import RayGroups

            trainer = RayGroups(spec, device, executor, root, on_frame, on_status, control, on_folds)
        else:
            trainer = Trainer(
                spec,
                device,
                on_frame=on_frame,
                on_status=on_status,
                control=control,
                on_folds=on_folds,
                data_root=root,
            )
        events.send(("layers", json.dumps([layer.model_dump() for layer in trainer.layout()])))
        result = trainer.run()
        end = ("end", *result) if isinstance(result, tuple) else ("end", result, None)
    except DatasetError as e:
        end = ("end", "failed", f"dataset: {e}")
    except RayUnavailable as e:
        end = ("end", "failed", str(e))
    except MemoryError:
        end = ("end", "failed", "out of memory in the training worker")
    except Exception as e:  # any other failure ends this experiment, never the server
        last = traceback.extract_tb(e.__traceback__)[-1]
        end = ("end", "failed", f"{type(e).__name__}: {e} ({os.path.basename(last.filename)}:{last.lineno})")
    with contextlib.suppress(BrokenPipeError, OSError):  # the server is gone: nobody to tell
        events.send(end)
    # everything is said: skip the interpreter's teardown (torch's takes a while), so the slot frees at once
    os._exit(0)


def _drain(jobs: Connection, controls: "queue.SimpleQueue[ControlCommand]") -> None:
    """Controls from the server into the trainer's queue; a closed pipe means the server is gone: cancel,
    rather than train for nobody."""
    while True:
        try:
            controls.put(ControlCommand.model_validate(jobs.recv()))
        except (EOFError, OSError):
            controls.put(ControlCommand(action="cancel"))
            return


WARM_UP_SPEC = {
    "name": "warm-up",
    "dataset": {"name": "digits"},
    "model": {"hidden": [8]},
    "steps": 2,
    "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
    "probe": {"every": 1, "eval_every": 1},
}


def _warm_up(device: str) -> None:
    """Two throwaway steps so a launch does not pay the lazy imports (torch._dynamo by the optimizers,
    scikit-learn by the datasets: ~5 s on a CPU machine) or the first-call costs of the probe and device."""
    from normscope.engine.trainer import Trainer
    from normscope.schemas import ExperimentSpec

    spec = ExperimentSpec.model_validate(WARM_UP_SPEC)
    Trainer(spec, device, on_frame=lambda _: None, on_status=lambda *_: None, control=lambda _: None).run()
