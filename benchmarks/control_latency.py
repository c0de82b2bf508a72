"""Control latency: how many batches run between a command being issued and its effect, in-process and via the run directory.

A real ``fit`` runs in a thread with kwb's bridge (as in the app); a counter callback
placed before it counts completed batches. From the main thread, at seeded random
moments (so commands land anywhere inside a batch), each command is issued and its
acknowledgement awaited:

* ``stop``: batches completed after the command was issued (the batch in flight
  counts as one) until ``fit`` returns;
* ``lr_scale``, ``set_lr``, ``checkpoint``, ``pause``: batches completed between the
  command and its ``lr_changed`` / ``checkpoint_saved`` / ``paused`` event (which the
  bridge emits on the training thread, at the batch boundary where it applies it);
  ``resume``: milliseconds until ``resumed``;
* ``checkpoint`` also: the wall time from command to saved file, beside the time
  ``model.save`` alone takes.

Two channels: the in-process ``Control`` (the app, Ctrl-C) and the run directory
(``kwb control`` to a detached run): ``send_command`` drops a file in ``control/`` and
nudges the ``ControlWatcher``'s wake-up socket; the watcher's poll (0.1 s by default,
or the intervals given) is only the fallback.

Target: ≤ 1 batch (checkpoint: ≤ 1 batch + save time).

With ``--auto`` the model runs with ``fit.steps_per_execution: auto`` (N chosen by
kwb's calibration, ``engine.callbacks.steps.choose_steps``): Keras then calls the
callbacks once per execution of N steps, so the counts above are executions, and the
target (issue 17) is that a command, ``kwb control … lr-drop`` among them, is
acknowledged at the end of the execution in flight: ≤ 1 execution. Results go to
``control_latency_auto.json``.

    python benchmarks/control_latency.py                  # MLP batch 32 and CNN batch 128, 10 trials each
    python benchmarks/control_latency.py --auto           # the same with steps_per_execution auto
    python benchmarks/control_latency.py --intervals 0.1 1.0
    python benchmarks/control_latency.py --quick
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import write_result
from _training import CNN_LAYERS, MLP_LAYERS, build, import_keras, mnist_like

keras = import_keras()

from engine import events as ev  # noqa: E402
from engine.callbacks.bridge import Bridge  # noqa: E402
from engine.callbacks.checkpoint import save_model_atomic  # noqa: E402
from engine.config import RunConfig  # noqa: E402
from engine.control import Command, Control  # noqa: E402
from engine.control_dir import ControlWatcher, send_command  # noqa: E402
from engine.runs import create_run_dir  # noqa: E402

ACK = {"lr_scale": ev.LrChanged, "set_lr": ev.LrChanged, "checkpoint": ev.CheckpointSaved, "pause": ev.Paused}


class Counter(keras.callbacks.Callback):
    """Counts completed training batches (placed before the bridge, so it counts first)."""

    def __init__(self) -> None:
        super().__init__()
        self.done = 0

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.done += 1


class Recorder:
    """Event sink that stamps each event with the batches completed so far and a clock reading."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.events: list[tuple[ev.Event, int, float]] = []
        self.cond = threading.Condition()

    def emit(self, event: ev.Event) -> None:
        with self.cond:
            self.events.append((event, self.counter.done, time.perf_counter()))
            self.cond.notify_all()

    def wait_for(self, kind: type, after: int, timeout: float = 30.0) -> tuple[ev.Event, int, float]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for item in self.events[after:]:
                    if isinstance(item[0], kind):
                        return item
                if not self.cond.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"no {kind.__name__} event within {timeout}s")


class Trainer:
    """A model training (practically) for ever in a thread, with a bridge, a counter and a command channel."""

    def __init__(self, model: Any, data: tuple[Any, Any], batch_size: int, tmp: Path, interval: float | None) -> None:
        self.model, self.data, self.batch_size = model, data, batch_size
        self.counter = Counter()
        self.sink = Recorder(self.counter)
        self.control = Control()
        cfg = RunConfig.model_validate({"name": "latency", "model": {"layers": MLP_LAYERS}})
        self.run = create_run_dir(cfg, tmp / "runs")
        self.bridge = Bridge(self.sink, self.control, checkpoint_dir=self.run.checkpoints, batch_size=batch_size)
        self.watcher = ControlWatcher(self.run, self.control, self.sink, interval) if interval else None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        x, y = self.data
        cbs = [self.counter, self.bridge]
        kwargs = {"batch_size": self.batch_size, "epochs": 10_000, "callbacks": cbs, "verbose": 0}
        self.thread = threading.Thread(target=self.model.fit, args=(x, y), kwargs=kwargs, daemon=True)
        self.thread.start()
        start = self.counter.done
        while self.counter.done < start + 20:  # running, past the first batches
            time.sleep(0.01)

    def send(self, name: str, value: float | None = None) -> None:
        if self.watcher is None:
            self.control.send(name, value)
        else:
            send_command(self.run, Command(name, value, source="control"))

    def close(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            self.control.stop()
            self.control.resume()
            self.thread.join(60)
        if self.watcher is not None:
            self.watcher.stop()


def measure(trainer: Trainer, trials: int, rng: random.Random) -> dict[str, list[tuple[int, float]]]:
    """(batches, ms) from issue to effect, per command."""
    out: dict[str, list[tuple[int, float]]] = {
        k: [] for k in ("stop", "lr_scale", "set_lr", "checkpoint", "pause", "resume")
    }
    if trainer.watcher is not None:
        trainer.watcher.start()
    for _ in range(trials):
        trainer.start()
        for name, value in (("lr_scale", 0.999), ("set_lr", 0.001), ("checkpoint", None), ("pause", None)):
            time.sleep(rng.uniform(0.02, 0.12))
            after, done0, t0 = len(trainer.sink.events), trainer.counter.done, time.perf_counter()
            trainer.send(name, value)
            _, done, t = trainer.sink.wait_for(ACK[name], after)
            out[name].append((done - done0, (t - t0) * 1e3))
            if name == "pause":
                time.sleep(0.05)
                after, t0 = len(trainer.sink.events), time.perf_counter()
                trainer.send("resume")
                _, _, t = trainer.sink.wait_for(ev.Resumed, after)
                out["resume"].append((0, (t - t0) * 1e3))
        time.sleep(rng.uniform(0.02, 0.12))
        done0, t0 = trainer.counter.done, time.perf_counter()
        trainer.send("stop")
        assert trainer.thread is not None
        trainer.thread.join(60)
        out["stop"].append((trainer.counter.done - done0, (time.perf_counter() - t0) * 1e3))
    return out


def step_ms(model: Any, data: tuple[Any, Any], batch_size: int) -> float:
    x, y = data
    n = batch_size * 200
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, verbose=0)
    t0 = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, verbose=0)
    return (time.perf_counter() - t0) / 200 * 1e3


def auto_steps(model: Any, data: tuple[Any, Any], batch_size: int, layers: list) -> int:
    """N as ``kwb train`` would choose it (``fit.steps_per_execution: auto``); set on the model."""
    from types import SimpleNamespace

    from engine.callbacks.steps import choose_steps

    x, y = data
    cfg = RunConfig.model_validate({"name": "latency", "model": {"layers": layers}, "fit": {"batch_size": batch_size}})
    choice = choose_steps(model, cfg, SimpleNamespace(train_ds=None, x_train=x, y_train=y), len(x) // batch_size)
    print(f"  {choice.reason}")
    return choice.steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--intervals", type=float, nargs="*", default=[0.1],
                        help="ControlWatcher poll intervals (s; 0.1 is kwb's default); the wake-up socket acts first")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="MLP only, 3 trials")
    parser.add_argument("--auto", action="store_true", help="steps_per_execution auto: counts are executions of N steps")
    args = parser.parse_args()
    if args.quick:
        args.model, args.trials = "mlp", 3
    setups = {"mlp": (MLP_LAYERS, 32), "cnn": (CNN_LAYERS, 128)}
    names = ("mlp", "cnn") if args.model == "both" else (args.model,)
    rng = random.Random(0)
    rows: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix="kwb-bench-latency-"))
    try:
        for name in names:
            layers, batch_size = setups[name]
            data = mnist_like(60000 if not args.quick else 12000)
            model = build(keras, layers)
            ms = step_ms(model, data, batch_size)
            save_ms = []
            for _ in range(3):
                t0 = time.perf_counter()
                save_model_atomic(model, tmp / "save-test.keras")
                save_ms.append((time.perf_counter() - t0) * 1e3)
            save = statistics.median(save_ms)
            unit, units, per = "batch", "batches", f"{ms:.1f} ms/step"
            if args.auto:
                n = auto_steps(model, data, batch_size, layers)
                ms = step_ms(model, data, batch_size)  # a step's share of an execution of N
                unit, units, per = "execution", "executions", f"N = {n} steps per execution, about {n * ms:.0f} ms each"
            print(f"\n{name}: batch {batch_size}, {ms:.2f} ms/step, model.save {save:.0f} ms, {per}")
            for interval in [None, *args.intervals]:
                channel = "in-process Control" if interval is None else f"run directory (kwb control: file + wake-up; poll {interval:g} s)"
                trainer = Trainer(model, data, batch_size, tmp, interval)
                try:
                    results = measure(trainer, args.trials, rng)
                finally:
                    trainer.close()
                for cmd, values in results.items():
                    batches = [b for b, _ in values]
                    millis = [m for _, m in values]
                    med_b, max_b, med_ms = statistics.median(batches), max(batches), statistics.median(millis)
                    if cmd == "resume":
                        measured, target, met = f"{med_ms:.1f} ms (max {max(millis):.1f})", "reported", None
                    elif cmd == "checkpoint":
                        measured = f"{med_b:g} (max {max_b}) {units}, {med_ms:.0f} ms incl. save"
                        target = f"≤ 1 {unit} + save" + (f" ({ms + save:.0f} ms)" if unit == "batch" else "")
                        met = max_b <= 1
                    else:
                        measured = f"{med_b:g} (max {max_b}) {units}, {med_ms:.1f} ms (max {max(millis):.0f})"
                        target, met = f"≤ 1 {unit}", max_b <= 1
                    print(f"  {channel:<32} {cmd:<11} {measured}")
                    rows.append({
                        "what": f"{cmd} latency, {channel}, {name} batch {batch_size} ({per})",
                        "measured": measured, "target": target, "met": met,
                        "note": f"{len(values)} trials at seeded random moments; {units} = {units} completed between "
                        f"issuing and the effect (the one in flight counts); model.save alone {save:.0f} ms",
                    })  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    name = "control_latency" + ("_auto" if args.auto else "") + ("_quick" if args.quick else "")
    path = write_result(name, rows, {"args": vars(args)})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
