"""Verbs about models and files: evaluate, predict, inspect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from tui.commands.common import (
    RunArg, RunsDirOpt,
    SetOpt, bad_input, load, quiet_tensorflow, runs_dir_or_default, start_native_log,
)  # fmt: skip


def _load_run_model(rd):
    quiet_tensorflow()
    start_native_log()
    from engine.errors import ModelError
    from engine.model import load_model_file

    path = rd.model if rd.model.exists() else rd.checkpoints / "best.keras"
    if not path.exists():
        bad_input(f"error in {rd.path}:\n  model.keras: the run has no saved model yet")
    try:
        return load_model_file(str(path)), path
    except ModelError as exc:
        bad_input(exc)


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
        bad_input(f"error:\n  --split: must be test, val or train, got {split!r}")
    try:
        rd = find_run(run, runs_dir_or_default(runs_dir))
    except UserError as exc:
        bad_input(exc)
    _refuse_script_run(rd, "evaluate")
    cfg = load(rd.config, set_)
    model, path = _load_run_model(rd)
    from engine.data import load_data
    from engine.model import compile_model

    try:
        data = load_data(cfg.data, seed=cfg.seed, batch_size=cfg.fit.batch_size)
    except USER_ERRORS as exc:
        bad_input(exc)
    compile_model(model, cfg)
    xs = {"test": (data.x_test, data.y_test, data.test_ds), "val": (data.x_val, data.y_val, data.val_ds),
          "train": (data.x_train, data.y_train, data.train_ds)}[split]  # fmt: skip
    x, y, ds = xs
    if ds is None and not _rows(x):
        if split == "test" and _rows(data.x_val):
            split, (x, y, ds) = "val", (data.x_val, data.y_val, data.val_ds)
        else:
            bad_input(f"error in {rd.config}:\n  data: this run has no {split} data")
    res = model.evaluate(ds, verbose=0, return_dict=True) if ds is not None else model.evaluate(
        x, y, batch_size=cfg.fit.batch_size, verbose=0, return_dict=True
    )
    print(f"{path} on {split} ({_rows(x) if x is not None else '?'} samples)")
    for k, v in res.items():
        print(f"  {split}_{k:<24} {float(v):.6f}")


def _rows(x) -> int:
    """Samples in an array, or in ``{input name: array}`` (every array has the same rows); 0 for None."""
    if x is None:
        return 0
    if isinstance(x, dict):
        return len(next(iter(x.values()))) if x else 0
    return len(x)


def predict(
    run: RunArg,
    input_: Annotated[
        Path,
        typer.Argument(metavar="INPUT", help="Inputs: .npy, .npz (key x; several inputs: one key per input name, "
                                            "or the run's data.x keys) or .csv (numbers)."),
    ],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write predictions to .npy or .csv.")] = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Predict with a run's model on INPUT; prints one line per sample (class and probability)."""
    import numpy as np

    from engine.errors import UserError
    from engine.runs import find_run

    try:
        rd = find_run(run, runs_dir_or_default(runs_dir))
    except UserError as exc:
        bad_input(exc)
    model, _ = _load_run_model(rd)
    from engine.graph import input_names, output_names

    names = input_names(model)
    if len(names) > 1:
        x = _read_named_inputs(input_, names, _data_keys(rd))
        shapes = {n: tuple(t.shape[1:]) for n, t in zip(names, model.inputs)}
    else:
        x = {"": _read_inputs(input_)}
        shapes = {"": tuple(model.input_shape[1:])}
    for name, want in shapes.items():
        a = x[name]
        if tuple(a.shape[1:]) != want and a.ndim == 2 and a.shape[1] == int(np.prod(want)):
            # Flat rows (a CSV of 784 numbers for a (28, 28) model): reshape each row, never across rows.
            x[name] = a = a.reshape((len(a), *want))
        if tuple(a.shape[1:]) != want:
            of = f" of input {name!r}" if name else ""
            bad_input(f"error in {input_}:\n  samples{of} have shape {tuple(a.shape[1:])}, the model expects {want}")
    outputs = output_names(model)
    if output is not None and len(outputs) > 1 and output.suffix != ".npz":
        bad_input(f"error in {output}:\n  the model has {len(outputs)} outputs ({', '.join(outputs)}): "
                  "write them to an .npz file (one key per output)")  # fmt: skip
    preds = model.predict(x if len(names) > 1 else x[""], verbose=0)
    by_output = dict(zip(outputs, preds)) if isinstance(preds, (list, tuple)) else preds
    if output is not None:
        _write_predictions(output, by_output)
        print(f"wrote {_rows(by_output)} predictions to {output}")
        return
    if not isinstance(by_output, dict):
        for i, p in enumerate(by_output):
            print(f"{i}\t{_prediction_text(p)}")
        return
    for i in range(_rows(by_output)):
        print(f"{i}\t" + "\t".join(f"{name}: {_prediction_text(p[i])}" for name, p in by_output.items()))


def _prediction_text(p) -> str:
    """One sample's prediction: the class and its probability, or the values (regression)."""
    import numpy as np

    if p.ndim == 1 and p.shape[0] > 1:
        k = int(np.argmax(p))
        return f"class {k}\tp={float(p[k]):.4f}"
    return " ".join(f"{float(v):.6g}" for v in np.ravel(p))


def _data_keys(rd) -> dict[str, str]:
    """The run's ``data.x`` mapping (input name -> npz key), read from its config.yaml without validating it."""
    from engine.config_io import read_raw_config

    try:
        x = (read_raw_config(rd.config).get("data") or {}).get("x")
    except Exception:  # an unreadable config leaves the input names as the keys
        return {}
    return {k: v for k, v in x.items() if isinstance(v, str)} if isinstance(x, dict) else {}


def _read_named_inputs(path: Path, names: list[str], keys: dict[str, str]):
    """One array per model input from an .npz: the key named like the input, else the run's data.x key."""
    import numpy as np

    if not path.exists():
        bad_input(f"error in {path}:\n  file not found")
    if path.suffix != ".npz":
        bad_input(f"error in {path}:\n  the model has {len(names)} inputs ({', '.join(names)}): "
                  "give an .npz file with one array per input name")  # fmt: skip
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {}
            for name in names:
                key = name if name in z.files else keys.get(name, name)
                if key not in z.files:
                    bad_input(f"error in {path}:\n  no array for input {name!r} (the file has: {', '.join(z.files)})")
                out[name] = z[key].astype("float32")
    except (ValueError, OSError) as exc:
        bad_input(f"error in {path}:\n  cannot read numbers: {exc}")
    if len({len(a) for a in out.values()}) > 1:
        rows = ", ".join(f"{n} {len(a)}" for n, a in out.items())
        bad_input(f"error in {path}:\n  every input needs the same number of samples, got {rows}")
    return out


def _read_inputs(path: Path):
    import numpy as np

    if not path.exists():
        bad_input(f"error in {path}:\n  file not found")
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
        bad_input(f"error in {path}:\n  cannot read numbers: {exc}")
    bad_input(f"error in {path}:\n  expected a .npy, .npz or .csv file")


def _write_predictions(path: Path, preds) -> None:
    """An array to .npy or .csv; several outputs (output name -> array) to .npz, one key per output."""
    import numpy as np

    from engine.config_io import atomic_write_text

    if isinstance(preds, dict):  # the caller checked the suffix before predicting
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez(tmp, **preds)
        os.replace(tmp, path)
    elif path.suffix == ".npy":
        tmp = path.with_name(f".{path.name}.tmp.npy")
        np.save(tmp, preds)
        os.replace(tmp, path)
    else:
        rows = [",".join(f"{float(v):.8g}" for v in np.ravel(p)) for p in preds]
        atomic_write_text(path, "\n".join(rows) + "\n")


def inspect(file: Annotated[Path, typer.Argument(help="A .keras/.h5 model, an HDF5 data file or an .npz file.")]) -> None:
    """Show a model's layers, or an HDF5/npz file's datasets with shapes and dtypes."""
    if not file.exists():
        bad_input(f"error in {file}:\n  file not found")
    if file.suffix == ".npz":
        import numpy as np

        try:
            with np.load(file, allow_pickle=False) as z:
                for key in z.files:
                    print(f"{key:<30} {str(z[key].shape):<20} {z[key].dtype}")
        except (ValueError, OSError) as exc:
            bad_input(f"error in {file}:\n  not a readable .npz file: {exc}")
        return
    is_model = file.suffix == ".keras"
    if file.suffix in (".h5", ".hdf5"):
        import h5py

        try:
            with h5py.File(file, "r") as h:
                is_model = "model_config" in h.attrs or "keras_version" in h.attrs
        except OSError as exc:
            bad_input(f"error in {file}:\n  not an HDF5 file: {exc}")
    if is_model:
        quiet_tensorflow()
        start_native_log()
        from engine.errors import ModelError
        from engine.model import load_model_file, summary_of

        try:
            model = load_model_file(str(file))
        except ModelError as exc:
            bad_input(exc)
        _print_model(file, model, summary_of(model))
        return
    if file.suffix not in (".h5", ".hdf5"):
        bad_input(f"error in {file}:\n  expected a .keras, .h5, .hdf5 or .npz file")
    from engine.data import hdf5_tree

    for path, shape, dtype in hdf5_tree(str(file)):
        if shape is None:
            print(f"{path}/")
        else:
            print(f"{path:<40} {str(shape):<20} {dtype}")



def _print_model(file: Path, model, s) -> None:
    """``kwb inspect``'s table: each layer's name, type, output shape, parameters and what feeds it."""
    from engine.graph import input_names, output_names

    names = input_names(model)
    if len(names) > 1:
        ins = ", ".join(f"{n} {tuple(t.shape)}" for n, t in zip(names, model.inputs))
        print(f"{file}: model {model.name!r}, inputs {ins}")
    else:
        print(f"{file}: model {model.name!r}, input {tuple(model.input_shape)}")
    outs = output_names(model)
    if len(outs) > 1:
        print(f"  outputs {', '.join(outs)}")
    print(f"  {'LAYER':<24} {'TYPE':<22} {'OUTPUT SHAPE':<22} {'PARAMS':>10}  CONNECTED TO")
    for r in s.rows:
        print(f"  {r.name:<24} {r.class_name:<22} {r.output_shape:<22} {r.params:>10,}  {', '.join(r.inputs)}")
    print(f"  total {s.total_params:,} parameters ({s.trainable_params:,} trainable)")


def _refuse_script_run(rd, verb: str) -> None:
    """A ``kwb run`` run has no data config to read: say so instead of "config.yaml: file not found"."""
    from engine.runs import script_run

    if (script := script_run(rd)) is not None:
        bad_input(f"error:\n  RUN: {rd.id} recorded a fit of {script}; it has no data config for kwb {verb}: "
                  f"load {rd.model.name} (or model.weights.h5) from {rd.path} in your own code")  # fmt: skip
