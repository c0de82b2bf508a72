"""The ``kwb`` command line (typer): headless verbs, and ``kwb`` alone opens the app.

Heavy imports (TensorFlow, Textual, pydantic) happen inside the verbs that need
them, so ``kwb --help`` stays fast. Exit codes: 0 done, 1 training failed,
2 bad input, 130 interrupted (143 terminated).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

app = typer.Typer(
    name="kwb",
    help="Keras Workbench: build Keras models and train them from one YAML file.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143

ConfigArg = Annotated[Path, typer.Argument(help="Run config (YAML).", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override a config key: --set fit.epochs=5 (repeatable).", show_default=False),
]
RunsDirOpt = Annotated[Optional[Path], typer.Option("--runs-dir", help="Runs folder. Defaults to ./runs.")]
RunArg = Annotated[str, typer.Argument(help="Run id (or a unique part of it) or run directory.", show_default=False)]


def _err(text: str) -> None:
    from engine.runs import native_log

    stream = native_log.terminal if native_log.active else sys.stderr
    print(text, file=stream, flush=True)


def _bad_input(exc: BaseException) -> NoReturn:
    _err(str(exc))
    raise typer.Exit(EXIT_BAD_INPUT)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    os.environ.setdefault("KERAS_HOME", os.path.expanduser("~/.keras"))


def _start_native_log() -> None:
    """Send fd 2 to a temp log before TensorFlow loads; the session moves it into train.log."""
    import tempfile

    from engine.runs import native_log

    if not native_log.active:
        native_log.start(Path(tempfile.gettempdir()) / f"kwb-preload-{os.getpid()}.log")


def _load(config: Path, overrides: list[str] | None):
    from engine.config import ConfigError, load_config

    try:
        return load_config(config, overrides or [])
    except ConfigError as exc:
        _bad_input(exc)


def _runs_dir(opt: Path | None) -> Path:
    return opt if opt is not None else Path("runs")


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """Keras Workbench. Run `kwb` alone to open the app on the last config (or the spirals sample)."""
    if ctx.invoked_subcommand is None:
        from tui.app import run_app

        run_app(None)


@app.command()
def ui(config: Annotated[Optional[Path], typer.Argument(help="Config to open.")] = None) -> None:
    """Open the full-screen app on CONFIG."""
    from tui.app import run_app

    if config is not None and not config.exists():
        _bad_input(f"error in {config}:\n  file not found")
    run_app(str(config) if config else None)


@app.command()
def validate(config: ConfigArg, set_: SetOpt = None) -> None:
    """Check CONFIG (keys, data, model shapes) without training or writing anything."""
    cfg = _load(config, set_)
    _quiet_tensorflow()
    _start_native_log()
    from engine.errors import USER_ERRORS
    from engine.model import summary_of
    from engine.session import prepare

    try:
        prep = prepare(cfg)
    except USER_ERRORS as exc:
        _bad_input(_with_source(exc, config))
    summary = summary_of(prep.model)
    print(f"{config}: ok")
    print(f"  data   {prep.data.description}")
    print(f"  model  {len(summary.rows)} layers, {summary.total_params:,} parameters")
    for row in summary.rows:
        print(f"    {row.class_name:<22} {row.output_shape:<20} {row.params:>10,}")


def _with_source(exc: BaseException, config: Path) -> str:
    """Name the config first; a data or model file at fault goes on its own line."""
    from engine.errors import UserError

    if not isinstance(exc, UserError):
        return str(exc)
    body = f"{exc.key}: {exc.message}" if exc.key else exc.message
    text = f"error in {config}:\n  {body}"
    if exc.source and Path(exc.source).resolve() != config.resolve():
        text += f"\n  file: {exc.source}"
    return text


@app.command()
def train(
    config: ConfigArg,
    set_: SetOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the event stream as JSON lines.")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Run in the background, immune to the terminal closing.")] = False,
    runs_dir: RunsDirOpt = None,
    announce: Annotated[Optional[Path], typer.Option("--announce", hidden=True)] = None,
    detached: Annotated[bool, typer.Option("--detached", hidden=True)] = False,
) -> None:
    """Train CONFIG headless. Ctrl-C stops at the next batch and saves; twice exits at once."""
    cfg = _load(config, set_)
    if runs_dir is not None:
        cfg.output.runs_dir = str(runs_dir)
    if detach:
        argv = ["train", str(config.resolve()), "--runs-dir", str(Path(cfg.output.runs_dir).resolve())]
        for item in set_ or []:
            argv += ["--set", item]
        _spawn_detached(argv, cfg.output.runs_dir)
    _run_headless(cfg, config, json_, announce=announce, detached=detached)


@app.command()
def resume(
    run: RunArg,
    json_: Annotated[bool, typer.Option("--json", help="Print the event stream as JSON lines.")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Continue in the background.")] = False,
    runs_dir: RunsDirOpt = None,
    announce: Annotated[Optional[Path], typer.Option("--announce", hidden=True)] = None,
    detached: Annotated[bool, typer.Option("--detached", hidden=True)] = False,
) -> None:
    """Continue a stopped, died or killed run from its last saved state, in the same directory."""
    from engine.errors import UserError
    from engine.runs import LIVE_STATES, effective_state, read_status

    try:
        rd = find_run_or_exit(run, runs_dir)
    except UserError as exc:
        _bad_input(exc)
    state = effective_state(read_status(rd.path) or {})
    if state in LIVE_STATES:
        _bad_input(f"error:\n  RUN: {rd.id} is still {state}; stop it first (kwb control {rd.id} stop)")
    cfg = _load(rd.config, None)
    from engine.session import backup_epoch

    done = backup_epoch(rd)
    if done is not None and done >= cfg.fit.epochs:
        print(f"run {rd.id} has already completed all {cfg.fit.epochs} epochs; nothing to resume")
        return
    if detach:
        _spawn_detached(["resume", str(rd.path.resolve())], str(rd.path.parent))
    _run_headless(cfg, rd.config, json_, resume_dir=rd, announce=announce, detached=detached)


def find_run_or_exit(ref: str, runs_dir: Path | None):
    from engine.runs import find_run

    return find_run(ref, _runs_dir(runs_dir))


def _spawn_detached(argv: list[str], runs_dir: str) -> NoReturn:
    """Start ``kwb ARGV`` as its own session and return once its run directory exists."""
    import subprocess
    import tempfile
    import time

    fd, announce = tempfile.mkstemp(prefix="kwb-announce-", suffix=".txt")
    os.close(fd)
    os.unlink(announce)
    out_fd, out_path = tempfile.mkstemp(prefix="kwb-detached-", suffix=".log")
    cmd = [sys.executable, "-m", "tui.cli", *argv, "--detached", "--announce", announce]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=out_fd, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True
    )
    os.close(out_fd)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            if os.path.exists(announce):
                run_path = Path(Path(announce).read_text().strip())
                run_id = run_path.name
                print(f"started run {run_id} in the background (pid {proc.pid})")
                print(f"  dir      {run_path}")
                print(f"  watch    kwb attach {run_id}")
                print(f"  control  kwb control {run_id} stop|pause|resume|checkpoint|lr-drop|set-lr VALUE")
                print(f"  status   kwb show {run_id}")
                os.unlink(announce)
                os.unlink(out_path)
                raise typer.Exit(EXIT_OK)
            code = proc.poll()
            if code is not None:
                text = Path(out_path).read_text(errors="replace").strip()
                os.unlink(out_path)
                if text:
                    _err(text)
                raise typer.Exit(code or EXIT_FAILED)
            time.sleep(0.05)
    except KeyboardInterrupt:
        proc.terminate()
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _err(f"the background run did not start within 300 s; see {out_path}")
    raise typer.Exit(EXIT_FAILED)


def _run_headless(cfg, config: Path, json_: bool, *, resume_dir=None, announce: Path | None = None,
                  detached: bool = False) -> None:  # fmt: skip
    _quiet_tensorflow()
    from tui.headless import Printer

    printer = Printer(mode="json" if json_ else ("plain" if detached else None))
    if printer.mode == "tty":
        printer.line(f"loading TensorFlow and preparing {cfg.name}…")
    _start_native_log()
    from engine.errors import USER_ERRORS

    try:
        from engine.session import prepare

        prep = prepare(cfg)
    except USER_ERRORS as exc:
        _bad_input(_with_source(exc, config))
    except KeyboardInterrupt:
        _err("interrupted before training started; nothing was written")
        raise typer.Exit(EXIT_INTERRUPTED) from None

    from engine.control import Control
    from engine.session import train as run_training

    def on_run_dir(run) -> None:
        if detached:
            # Our stdout was a temp file of the launcher's; from now on it is the run's output.log.
            out = os.open(run.path / "output.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            sys.stdout.flush()
            os.dup2(out, 1)
            os.close(out)
        if announce is not None:
            from engine.config import atomic_write_text

            atomic_write_text(announce, str(run.path.resolve()))

    control = Control()
    received: list[int] = []
    _install_signal_handlers(control, received, printer, ignore_hup=detached)
    try:
        result = run_training(cfg, sink=printer, control=control, prepared=prep, resume=resume_dir, on_run_dir=on_run_dir)
    except USER_ERRORS as exc:
        _bad_input(_with_source(exc, config))
    if result.status == "failed":
        if result.error and not json_:
            _err(f"training failed: {result.error}\n  details: {result.run_dir}/error.txt, {result.run_dir}/train.log")
        raise typer.Exit(EXIT_FAILED)
    if received:
        import signal

        raise typer.Exit(EXIT_INTERRUPTED if received[0] == signal.SIGINT else EXIT_TERMINATED)


def _install_signal_handlers(control, received: list[int], printer, ignore_hup: bool = False) -> None:
    """First SIGINT/SIGTERM/SIGHUP: stop at a batch boundary and save. Second: exit at once."""
    import signal

    def handler(signum: int, frame: object) -> None:
        if received:
            # Everything on disk is written by rename, so leaving now cannot tear a file.
            os._exit(EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_TERMINATED)
        received.append(signum)
        reason = "interrupt" if signum == signal.SIGINT else "signal"
        control.send("stop", source=reason)
        if printer.mode != "json":
            what = "interrupted" if signum == signal.SIGINT else f"signal {signal.Signals(signum).name}"
            printer.line(f"  {what}: stopping at the next batch boundary and saving (again to quit at once)")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
    if ignore_hup:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


@app.command("runs")
def runs_cmd(runs_dir: RunsDirOpt = None) -> None:
    """List runs: id, state, epochs, best validation metrics, duration."""
    from engine.runs import list_runs
    from tui.headless import format_duration, format_logs

    infos = list_runs(_runs_dir(runs_dir))
    if not infos:
        print(f"no runs in {_runs_dir(runs_dir)}/")
        return
    print(f"{'RUN':<40} {'STATE':<9} {'EPOCHS':>7} {'TIME':>8}  BEST")
    for i in infos:
        best = {k: v for k, v in i.best.items() if k.startswith("val_")} or i.best
        epochs = f"{i.epochs_done}/{i.epochs or '?'}"
        print(f"{i.id:<40} {i.state:<9} {epochs:>7} {format_duration(i.duration_s):>8}  {format_logs(best)}")


@app.command()
def show(run: RunArg, runs_dir: RunsDirOpt = None) -> None:
    """One run's summary, per-epoch history and loss curves."""
    from engine.errors import UserError
    from engine.runs import _info, find_run, read_history, read_status
    from tui.headless import format_duration, format_logs

    try:
        rd = find_run(run, _runs_dir(runs_dir))
    except UserError as exc:
        _bad_input(exc)
    info = _info(rd.path)
    status = read_status(rd.path) or {}
    assert info is not None
    print(f"run      {rd.id}")
    print(f"dir      {rd.path}")
    print(f"state    {info.state}" + (f" ({status['reason']})" if status.get("reason") else ""))
    print(f"epochs   {info.epochs_done}/{info.epochs}    time {format_duration(info.duration_s)}")
    if status.get("error"):
        print(f"error    {status['error']}")
    if info.best:
        print(f"best     {format_logs(info.best)}")
    if status.get("evaluation"):
        print(f"final    {format_logs(status['evaluation'])}")
    history = read_history(rd.path)
    if not history:
        return
    keys = [k for k in history[0] if k != "epoch"]
    print()
    print("epoch  " + "  ".join(f"{k:>14}" for k in keys))
    for row in history:
        print(f"{int(row.get('epoch', 0)) + 1:>5}  " + "  ".join(f"{row.get(k, float('nan')):>14.5g}" for k in keys))
    if len(history) >= 2 and sys.stdout.isatty():
        _plot_history(history)


def _plot_history(history: list[dict[str, float]]) -> None:
    import plotext as plt

    epochs = [int(r["epoch"]) + 1 for r in history]
    plt.clear_figure()
    plt.plot_size(min(100, os.get_terminal_size().columns), 15)
    for key in ("loss", "val_loss"):
        if key in history[0]:
            plt.plot(epochs, [r.get(key, float("nan")) for r in history], label=key)
    plt.title("loss")
    plt.xlabel("epoch")
    print()
    plt.show()


def _load_run_model(rd):
    _quiet_tensorflow()
    _start_native_log()
    from engine.errors import ModelError
    from engine.model import load_model_file

    path = rd.model if rd.model.exists() else rd.checkpoints / "best.keras"
    if not path.exists():
        _bad_input(f"error in {rd.path}:\n  model.keras: the run has no saved model yet")
    try:
        return load_model_file(str(path)), path
    except ModelError as exc:
        _bad_input(exc)


@app.command()
def evaluate(
    run: RunArg,
    split: Annotated[str, typer.Option(help="test, val or train.")] = "test",
    set_: SetOpt = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Score a run's model.keras on its data (or other data: --set data.path=…)."""
    from engine.errors import USER_ERRORS, UserError
    from engine.runs import find_run

    if split not in ("test", "val", "train"):
        _bad_input(f"error:\n  --split: must be test, val or train, got {split!r}")
    try:
        rd = find_run(run, _runs_dir(runs_dir))
    except UserError as exc:
        _bad_input(exc)
    cfg = _load(rd.config, set_)
    model, path = _load_run_model(rd)
    from engine.data import load_data
    from engine.model import compile_model

    try:
        data = load_data(cfg.data, seed=cfg.seed, batch_size=cfg.fit.batch_size)
    except USER_ERRORS as exc:
        _bad_input(exc)
    compile_model(model, cfg)
    xs = {"test": (data.x_test, data.y_test, data.test_ds), "val": (data.x_val, data.y_val, data.val_ds),
          "train": (data.x_train, data.y_train, data.train_ds)}[split]  # fmt: skip
    x, y, ds = xs
    if ds is None and (x is None or len(x) == 0):
        if split == "test" and data.x_val is not None and len(data.x_val):
            split, (x, y, ds) = "val", (data.x_val, data.y_val, data.val_ds)
        else:
            _bad_input(f"error in {rd.config}:\n  data: this run has no {split} data")
    res = model.evaluate(ds, verbose=0, return_dict=True) if ds is not None else model.evaluate(
        x, y, batch_size=cfg.fit.batch_size, verbose=0, return_dict=True
    )
    print(f"{path} on {split} ({len(x) if x is not None else '?'} samples)")
    for k, v in res.items():
        print(f"  {split}_{k:<24} {float(v):.6f}")


@app.command()
def predict(
    run: RunArg,
    input_: Annotated[Path, typer.Argument(metavar="INPUT", help="Inputs: .npy, .npz (key x) or .csv (numbers).")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write predictions to .npy or .csv.")] = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Predict with a run's model on INPUT; prints one line per sample (class and probability)."""
    import numpy as np

    from engine.errors import UserError
    from engine.runs import find_run

    try:
        rd = find_run(run, _runs_dir(runs_dir))
    except UserError as exc:
        _bad_input(exc)
    x = _read_inputs(input_)
    model, _ = _load_run_model(rd)
    want = tuple(model.input_shape[1:])
    if x.shape[1:] != want and x.size % max(1, int(np.prod(want))) == 0 and x.ndim == 1 + len(want) - (len(want) - 1):
        x = x.reshape((-1, *want))
    if tuple(x.shape[1:]) != want:
        _bad_input(f"error in {input_}:\n  samples have shape {tuple(x.shape[1:])}, the model expects {want}")
    preds = model.predict(x, verbose=0)
    if output is not None:
        _write_predictions(output, preds)
        print(f"wrote {len(preds)} predictions to {output}")
        return
    classify = preds.ndim == 2 and preds.shape[1] > 1
    for i, p in enumerate(preds):
        if classify:
            k = int(np.argmax(p))
            print(f"{i}\tclass {k}\tp={float(p[k]):.4f}")
        else:
            print(f"{i}\t" + " ".join(f"{float(v):.6g}" for v in np.ravel(p)))


def _read_inputs(path: Path):
    import numpy as np

    if not path.exists():
        _bad_input(f"error in {path}:\n  file not found")
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False).astype("float32")
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                key = "x" if "x" in z.files else z.files[0]
                return z[key].astype("float32")
        if path.suffix in (".csv", ".txt"):
            return np.atleast_2d(np.loadtxt(path, delimiter=",", dtype="float32", ndmin=2))
    except (ValueError, OSError) as exc:
        _bad_input(f"error in {path}:\n  cannot read numbers: {exc}")
    _bad_input(f"error in {path}:\n  expected a .npy, .npz or .csv file")


def _write_predictions(path: Path, preds) -> None:
    import numpy as np

    from engine.config import atomic_write_text

    if path.suffix == ".npy":
        tmp = path.with_name(f".{path.name}.tmp.npy")
        np.save(tmp, preds)
        os.replace(tmp, path)
    else:
        rows = [",".join(f"{float(v):.8g}" for v in np.ravel(p)) for p in preds]
        atomic_write_text(path, "\n".join(rows) + "\n")


@app.command()
def inspect(file: Annotated[Path, typer.Argument(help="A .keras/.h5 model, an HDF5 data file or an .npz file.")]) -> None:
    """Show a model's layers, or an HDF5/npz file's datasets with shapes and dtypes."""
    if not file.exists():
        _bad_input(f"error in {file}:\n  file not found")
    if file.suffix == ".npz":
        import numpy as np

        try:
            with np.load(file, allow_pickle=False) as z:
                for key in z.files:
                    print(f"{key:<30} {str(z[key].shape):<20} {z[key].dtype}")
        except (ValueError, OSError) as exc:
            _bad_input(f"error in {file}:\n  not a readable .npz file: {exc}")
        return
    is_model = file.suffix == ".keras"
    if file.suffix in (".h5", ".hdf5"):
        import h5py

        try:
            with h5py.File(file, "r") as h:
                is_model = "model_config" in h.attrs or "keras_version" in h.attrs
        except OSError as exc:
            _bad_input(f"error in {file}:\n  not an HDF5 file: {exc}")
    if is_model:
        _quiet_tensorflow()
        _start_native_log()
        from engine.errors import ModelError
        from engine.model import load_model_file, summary_of

        try:
            model = load_model_file(str(file))
        except ModelError as exc:
            _bad_input(exc)
        s = summary_of(model)
        print(f"{file}: model {model.name!r}, input {tuple(model.input_shape)}")
        print(f"  {'LAYER':<24} {'TYPE':<22} {'OUTPUT SHAPE':<22} {'PARAMS':>10}")
        for r in s.rows:
            print(f"  {r.name:<24} {r.class_name:<22} {r.output_shape:<22} {r.params:>10,}")
        print(f"  total {s.total_params:,} parameters ({s.trainable_params:,} trainable)")
        return
    if file.suffix not in (".h5", ".hdf5"):
        _bad_input(f"error in {file}:\n  expected a .keras, .h5, .hdf5 or .npz file")
    from engine.data import hdf5_tree

    for path, shape, dtype in hdf5_tree(str(file)):
        if shape is None:
            print(f"{path}/")
        else:
            print(f"{path:<40} {str(shape):<20} {dtype}")


@app.command()
def control(
    run: RunArg,
    command: Annotated[str, typer.Argument(help="stop | pause | resume | checkpoint | lr-drop | set-lr")],
    value: Annotated[Optional[float], typer.Argument(help="The new learning rate, for set-lr.")] = None,
    factor: Annotated[Optional[float], typer.Option(help="lr-drop multiplier. Defaults to the run's controls.lr_factor.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the acknowledgement.")] = 10.0,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Send a command to a running run and wait for its acknowledgement."""
    from engine.control_client import ControlRefused, send_and_wait
    from engine.errors import UserError

    try:
        ack = send_and_wait(run, command, value=value, factor=factor, timeout=timeout, runs_dir=_runs_dir(runs_dir))
    except UserError as exc:
        _bad_input(exc)
    except ControlRefused as exc:
        _err(f"kwb control: {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    print(ack)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
