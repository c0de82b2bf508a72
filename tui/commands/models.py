"""Verbs about models and files: evaluate, predict, inspect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from engine.eval_data import Split
from engine.words import counted

from tui.commands.common import (
    RunArg, RunsDirOpt,
    SetOpt, bad_input, err, load, quiet_tensorflow, runs_dir_or_default, start_native_log,
)  # fmt: skip


UnsafeOpt = Annotated[
    bool,
    typer.Option("--unsafe", help="Load a model with a Lambda layer: its Python code runs (only for a file you trust)."),
]


def _load_run_model(rd, unsafe: bool = False):
    quiet_tensorflow()
    start_native_log()
    from engine.errors import ModelError
    from engine.model import load_model_file

    path = rd.model if rd.model.exists() else rd.checkpoints / "best.keras"
    if not path.exists():
        bad_input(f"error in {rd.path}:\n  model.keras: the run has no saved model (no model.keras, no checkpoints/best.keras)")
    if path != rd.model:  # the README's promise: a stand-in is named, never used quietly
        err(f"note: {rd.model} is missing; using the best checkpoint instead: {path}")
    try:
        return load_model_file(str(path), unsafe=unsafe, key=""), path
    except ModelError as exc:
        bad_input(exc)


def _find_run(run: str, runs_dir):
    from engine.errors import UserError
    from engine.runs import find_run

    try:
        return find_run(run, runs_dir_or_default(runs_dir))
    except UserError as exc:
        bad_input(exc)


def evaluate(
    run: RunArg,
    split: Annotated[
        Optional[Split],
        typer.Option(help="Default: test (val when there is none) on the run's data; all on other data "
                          "(--set data.path=…), which is scored whole unless a split is asked for."),
    ] = None,
    set_: SetOpt = None,
    runs_dir: RunsDirOpt = None,
    unsafe: UnsafeOpt = False,
    report: Annotated[bool, typer.Option("--report", help="Also the evaluation report: confusion matrix and per-class "
                                         "scores, or regression errors (stored as report.json for the run's own split).")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the scores and the report as one JSON object.")] = False,
) -> None:
    """Score a run's model.keras on its data, or on other data taken whole (--set data.path=…)."""
    from engine.errors import USER_ERRORS

    rd = _find_run(run, runs_dir)
    _refuse_script_run(rd, "evaluate")
    _refuse_model_settings(set_)
    cfg, run_cfg = load(rd.config, set_), load(rd.config, None)
    model, path = _load_run_model(rd, unsafe)
    from engine.eval_data import evaluation_data
    from engine.model import compile_model

    try:
        data = evaluation_data(cfg, run_cfg, model, rd.path, split)
        compile_model(model, cfg)
    except USER_ERRORS as exc:
        bad_input(exc)
    if data.ds is not None:
        res = model.evaluate(data.ds, verbose=0, return_dict=True)
    else:
        res = model.evaluate(data.x, data.y, batch_size=cfg.fit.batch_size, verbose=0, return_dict=True)
    label = data.split.value
    where = f" of {cfg.data.path}" if data.other_data and cfg.data.path else ""
    if report or json_:
        from tui.commands.report_text import evaluation_report

        evaluation_report(rd, model, cfg, data, {k: float(v) for k, v in res.items()}, json_, store=split is None and not data.other_data)
        return
    print(f"{path} on {label}{where} ({data.samples} samples)")
    for k, v in res.items():
        print(f"  {label}_{k:<24} {float(v):.6f}")


def _refuse_model_settings(overrides: list[str] | None) -> None:
    """``evaluate`` scores the run's saved model: a ``--set`` of its layers or fit would change nothing, so say so."""
    for item in overrides or []:
        key = item.partition("=")[0].strip()
        section = key.split(".")[0].split("[")[0]
        if section in ("model", "callbacks") or (section == "fit" and key != "fit.batch_size"):
            bad_input(f"error in --set {item}:\n  kwb evaluate scores the run's saved model.keras; {key} changes "
                      "nothing there (--set data.… chooses other data; to try another model, train a run)")  # fmt: skip


def predict(
    run: RunArg,
    input_: Annotated[
        Path,
        typer.Argument(metavar="INPUT", help="Raw inputs, like the training data: .npy (one sample or many), .npz "
                                            "(key x, the run's data.x key, or one key per input name) or .csv "
                                            "(the training file's columns; a header is matched by name)."),
    ],
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write predictions to .csv, .npy or .json (.npz: several outputs).")
    ] = None,
    runs_dir: RunsDirOpt = None,
    unsafe: UnsafeOpt = False,
) -> None:
    """Predict with a run's model on INPUT; prints one line per sample (class and probability, or values)."""
    _check_output_path(output)
    rd = _find_run(run, runs_dir)
    _refuse_script_run(rd, "predict")
    model, _ = _load_run_model(rd, unsafe)
    from engine.errors import USER_ERRORS
    from engine.graph import input_names, output_names
    from engine.predict_inputs import csv_columns, read_inputs
    from engine.preprocessing import class_names

    names = input_names(model)
    single = len(names) == 1
    inputs = {("" if single else n): (tuple(t.shape[1:]), str(t.dtype)) for n, t in zip(names, model.inputs)}
    try:
        run_cfg = _run_config(rd)
        data_cfg = run_cfg.data if run_cfg is not None else None
        x = read_inputs(input_, inputs, data_cfg, _csv_columns(rd, data_cfg, csv_columns))
    except USER_ERRORS as exc:
        bad_input(exc)
    x = _scale_for_old_run(rd, model, x)
    outputs = output_names(model)
    if output is not None and len(outputs) > 1 and output.suffix != ".npz":
        bad_input(f"error in {output}:\n  the model has {len(outputs)} outputs ({', '.join(outputs)}): "
                  "write them to an .npz file (one key per output)")  # fmt: skip
    from engine.preprocessing import text_as_tensors

    preds = model.predict(x[""] if single else text_as_tensors(x), verbose=0)
    by_output = dict(zip(outputs, preds)) if isinstance(preds, (list, tuple)) else {outputs[0] if outputs else "": preds}
    classes = class_names(rd.path)
    if output is not None:
        names = (classes.get(outputs[0] if outputs else "") or classes.get("")) if len(by_output) == 1 else None
        _write_predictions(output, by_output if len(by_output) > 1 else next(iter(by_output.values())), names)
        print(f"wrote {counted(_rows(by_output), 'prediction')} to {output}")
        return
    kinds = {name: _output_kind(model, name) for name in by_output}
    texts = {name: [_prediction_text(p, kinds[name], classes.get(name if len(by_output) > 1 else "", classes.get(name)))
                    for p in arr] for name, arr in by_output.items()}  # fmt: skip
    for i in range(_rows(by_output)):
        if len(texts) == 1:
            print(f"{i}\t{next(iter(texts.values()))[i]}")
        else:
            print(f"{i}\t" + "\t".join(f"{name}: {t[i]}" for name, t in texts.items()))


def _scale_for_old_run(rd, model, x: dict):
    """A run saved before the scaling moved into the model expects scaled inputs: scale them as it was trained
    (the statistics of its training split, read again from its data)."""
    from engine.errors import USER_ERRORS
    from engine.preprocessing import scale_array, scales_inside

    cfg = None if scales_inside(model) else _run_config(rd)
    if cfg is None or cfg.data.scale == "none":
        return x
    from engine.data import load_data

    try:
        scaling = load_data(cfg.data, seed=cfg.seed, batch_size=cfg.fit.batch_size).scaling
    except USER_ERRORS as exc:
        bad_input(f"error in {rd.path}:\n  data: this run (saved before kwb kept the scaling in the model) needs its "
                  f"training data to scale new inputs: {getattr(exc, 'message', exc)}")  # fmt: skip
    return {name: scale_array(scaling.get(name), a) for name, a in x.items()}


def _run_config(rd):
    """The run's config, or None when it is missing or unreadable (a damaged run still predicts from raw inputs)."""
    from engine.config_io import load_config
    from engine.errors import USER_ERRORS

    try:
        return load_config(rd.config, [])
    except (*USER_ERRORS, OSError):
        return None


def _check_output_path(output: Optional[Path]) -> None:
    """``-o`` must be a file kwb can write as what its suffix says, in a folder that exists: checked first."""
    if output is None:
        return
    if output.suffix not in (".csv", ".npy", ".json", ".npz"):
        bad_input(f"error in {output}:\n  --output: expected a .csv, .npy, .json or .npz file, "
                  f"got {output.suffix or 'no suffix'!r}")  # fmt: skip
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        bad_input(f"error in {output}:\n  --output: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        bad_input(f"error in {output}:\n  --output: the folder {parent} is not writable")
    if output.is_dir():
        bad_input(f"error in {output}:\n  --output: is a folder; give a file name")


def _csv_columns(rd, data_cfg, reader):
    """The training CSV's columns: recorded in the run's preprocessing.json, else read from its header."""
    from engine.preprocessing import read_run_info

    recorded = (read_run_info(rd.path) or {}).get("columns")
    if isinstance(recorded, dict):
        return recorded
    return reader(data_cfg) if data_cfg is not None else None


def _rows(x) -> int:
    """Samples in an array, or in ``{input name: array}`` (every array has the same rows); 0 for None."""
    if x is None:
        return 0
    if isinstance(x, dict):
        return len(next(iter(x.values()))) if x else 0
    return len(x)


def _output_kind(model, name: str) -> str:
    """"softmax" (several classes), "sigmoid" (binary: one unit) or "values", from the output layer."""
    try:
        layer = model.get_layer(name) if name else model.layers[-1]
    except ValueError:
        layer = model.layers[-1]
    activation = getattr(getattr(layer, "activation", None), "__name__", "")
    width = int(layer.output.shape[-1]) if hasattr(layer, "output") else 0
    if activation == "sigmoid" and width == 1:
        return "sigmoid"
    return "softmax" if width > 1 and activation in ("softmax", "sigmoid") else "values"


def _prediction_text(p, kind: str = "values", names: list[str] | None = None) -> str:
    """One sample's prediction: the class (its name when the labels were words) and its probability, or the values."""
    import numpy as np

    def label(k: int) -> str:
        return names[k] if names and k < len(names) else str(k)

    if kind == "sigmoid":
        prob = float(np.ravel(p)[0])
        k = int(prob >= 0.5)
        return f"class {label(k)}\tp={prob if k else 1 - prob:.4f}"
    if p.ndim == 1 and p.shape[0] > 1 and (kind == "softmax" or names):
        k = int(np.argmax(p))
        return f"class {label(k)}\tp={float(p[k]):.4f}"
    return " ".join(f"{float(v):.6g}" for v in np.ravel(p))


def _write_predictions(path: Path, preds, classes: list[str] | None = None) -> None:
    """An array to .npy, .csv or .json; several outputs (output name -> array) to .npz, one key per output.

    A .csv of class probabilities whose classes have names (``classes``, one per column) gets a header,
    ``class,<name>,…``, and each row the predicted class's name before its probabilities; a .json then
    holds one ``{"class": name, "p": {name: probability, …}}`` per row (else a list of lists)."""
    import json

    import numpy as np

    from engine.config_io import atomic_write_text

    if isinstance(preds, dict) or path.suffix == ".npz":  # the caller checked the suffix before predicting
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez(tmp, **(preds if isinstance(preds, dict) else {"y": preds}))
        os.replace(tmp, path)
    elif path.suffix == ".npy":
        tmp = path.with_name(f".{path.name}.tmp.npy")
        np.save(tmp, preds)
        os.replace(tmp, path)
    elif path.suffix == ".json":
        probs = np.asarray(preds, dtype="float64")
        rows_out: list[Any] = probs.tolist()
        if classes and probs.ndim == 2 and probs.shape[1] == len(classes) > 1:  # named, as the .csv is
            rows_out = [{"class": classes[int(np.argmax(p))], "p": dict(zip(classes, p.tolist()))} for p in probs]
        atomic_write_text(path, json.dumps(rows_out) + "\n")
    else:
        rows = [",".join(f"{float(v):.8g}" for v in np.ravel(p)) for p in preds]
        probs = np.asarray(preds)
        if classes and probs.ndim == 2 and probs.shape[1] == len(classes) > 1:
            rows = ["class," + ",".join(classes)] + [f"{classes[int(np.argmax(p))]},{row}" for p, row in zip(probs, rows)]
        atomic_write_text(path, "\n".join(rows) + "\n")


def inspect(
    file: Annotated[Path, typer.Argument(help="A .keras/.h5 model, an HDF5 data file or an .npz file.")],
    unsafe: UnsafeOpt = False,
) -> None:
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
            model = load_model_file(str(file), unsafe=unsafe, key="")
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
