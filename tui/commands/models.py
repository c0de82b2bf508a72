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
    if ds is None and (x is None or len(x) == 0):
        if split == "test" and data.x_val is not None and len(data.x_val):
            split, (x, y, ds) = "val", (data.x_val, data.y_val, data.val_ds)
        else:
            bad_input(f"error in {rd.config}:\n  data: this run has no {split} data")
    res = model.evaluate(ds, verbose=0, return_dict=True) if ds is not None else model.evaluate(
        x, y, batch_size=cfg.fit.batch_size, verbose=0, return_dict=True
    )
    print(f"{path} on {split} ({len(x) if x is not None else '?'} samples)")
    for k, v in res.items():
        print(f"  {split}_{k:<24} {float(v):.6f}")


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
        rd = find_run(run, runs_dir_or_default(runs_dir))
    except UserError as exc:
        bad_input(exc)
    x = _read_inputs(input_)
    model, _ = _load_run_model(rd)
    want = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) != want and x.ndim == 2 and x.shape[1] == int(np.prod(want)):
        # Flat rows (a CSV of 784 numbers for a (28, 28) model): reshape each row, never across rows.
        x = x.reshape((len(x), *want))
    if tuple(x.shape[1:]) != want:
        bad_input(f"error in {input_}:\n  samples have shape {tuple(x.shape[1:])}, the model expects {want}")
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
    import numpy as np

    from engine.config_io import atomic_write_text

    if path.suffix == ".npy":
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
        s = summary_of(model)
        print(f"{file}: model {model.name!r}, input {tuple(model.input_shape)}")
        print(f"  {'LAYER':<24} {'TYPE':<22} {'OUTPUT SHAPE':<22} {'PARAMS':>10}")
        for r in s.rows:
            print(f"  {r.name:<24} {r.class_name:<22} {r.output_shape:<22} {r.params:>10,}")
        print(f"  total {s.total_params:,} parameters ({s.trainable_params:,} trainable)")
        return
    if file.suffix not in (".h5", ".hdf5"):
        bad_input(f"error in {file}:\n  expected a .keras, .h5, .hdf5 or .npz file")
    from engine.data import hdf5_tree

    for path, shape, dtype in hdf5_tree(str(file)):
        if shape is None:
            print(f"{path}/")
        else:
            print(f"{path:<40} {str(shape):<20} {dtype}")

