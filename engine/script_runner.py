"""``kwb run``: a user's unmodified script as ``__main__``, every Keras ``fit`` in it recorded and steerable.

Like MLflow's ``autolog``, the launcher wraps ``Model.fit`` before the script starts
(Keras 3's, and tf-keras' when the script imports it) and never edits the script. Each
``fit`` gets a :class:`~engine.live.KwbCallback` after the user's own callbacks, inside
:meth:`KwbCallback.guard`, so a run is closed however ``fit`` ends; a ``fit`` that already
has a ``KwbCallback`` is not recorded twice. Runs are named after the script and numbered
(``train-1``, ``train-2`` …). Under a multi-worker ``TF_CONFIG`` only the chief records.

The first Ctrl-C during a ``fit`` asks the run to stop at the next batch boundary (``fit``
returns its History and the script goes on); a second one raises ``KeyboardInterrupt``
in the script, as Python would. Nothing here imports Keras until :func:`run_script` runs.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import inspect
import os
import runpy
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine.errors import UserError

__all__ = ["ScriptRuns", "check_script", "run_script"]


def check_script(path: str | os.PathLike[str]) -> Path:
    """The script's resolved path; ``UserError`` for a missing file, a folder, or text that is not Python."""
    script = Path(path)
    where = str(script)
    if not script.exists():
        raise UserError("file not found", source=where)
    if script.is_dir():
        raise UserError("this is a folder; give the Python script to run", source=where)
    try:
        source = script.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read it ({exc.strerror})", source=where) from None
    if b"\0" in source:
        raise UserError("not a Python script (a binary file)", source=where)
    try:
        compile(source, where, "exec", dont_inherit=True)
    except SyntaxError as exc:
        at = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        text = f"\n    {exc.text.strip()}" if exc.text and exc.text.strip().isprintable() else ""
        raise UserError(f"not valid Python: {exc.msg} ({at}){text}", source=where) from None
    return script.resolve()


def _is_chief() -> bool:
    """False only in a non-chief worker of a multi-worker ``TF_CONFIG``."""
    if not os.environ.get("TF_CONFIG"):
        return True
    from engine.cluster import cluster_from_env

    try:
        return cluster_from_env().is_chief
    except UserError:
        return True  # a TF_CONFIG kwb cannot read: record, TensorFlow will complain itself


@dataclass
class ScriptRuns:
    """Wraps ``fit`` for one script: names its runs, records the script, handles Ctrl-C.

    Args:
        script: the script's path.
        args: the script's own arguments.
        runs_dir: where run directories go.
        name: the runs' base name. Defaults to the script's stem.
        on_run: called with each new run directory (the launcher prints how to attach).
        first_run: a run directory made before the script started (``--detach``), which
            the first ``fit`` records into. Defaults to None.
        sink: also receives every event of every run (``kwb run --json``). Defaults to None.
        argv0: the script's path as the user typed it, for ``sys.argv[0]`` (Python keeps it as
            typed). Defaults to None: the resolved path.
    """

    script: Path
    args: list[str]
    runs_dir: Path
    name: str | None = None
    on_run: Callable[[Any], None] | None = None
    first_run: Any = None
    sink: Any = None
    argv0: str | None = None
    fits: int = 0
    runs: list[Any] = field(default_factory=list)
    _patched: list[tuple[type, Callable[..., Any]]] = field(default_factory=list)
    _interrupts: int = 0
    _current: Any = None

    # ------------------------------------------------------------ facts for script.json
    def describe(self) -> dict[str, Any]:
        return {"kind": "script", "script": str(self.script), "args": list(self.args), "cwd": os.getcwd(),
                "argv0": self.argv0 or str(self.script)}  # fmt: skip

    # ------------------------------------------------------------ the wrapper
    def patch(self, model_class: type) -> None:
        """Wrap ``model_class.fit`` (Keras 3's or tf-keras' ``Model``) until :meth:`unpatch`."""
        original = model_class.fit
        signature = inspect.signature(original)
        runs = self

        @functools.wraps(original)
        def fit(model: Any, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(model, *args, **kwargs)
            callbacks = list(bound.arguments.get("callbacks") or [])
            from engine.live import _KwbHooks

            if any(isinstance(cb, _KwbHooks) for cb in callbacks) or not _is_chief():
                return original(model, *args, **kwargs)
            return runs._record(original, model, bound, callbacks)

        self._patched.append((model_class, original))
        model_class.fit = fit

    def unpatch(self) -> None:
        while self._patched:
            model_class, original = self._patched.pop()
            model_class.fit = original

    def _record(self, original: Callable[..., Any], model: Any, bound: inspect.BoundArguments, callbacks: list[Any]) -> Any:
        from engine.live import callback_class

        self.fits += 1
        arguments = {k: v for k, v in bound.arguments.items() if k != "self"}
        callback = callback_class(model)(
            name=f"{self.name or self.script.stem}-{self.fits}", runs_dir=self.runs_dir,
            script=self.describe(), fit_arguments=arguments, announce=self._announce, sink=self.sink,
            run=self.first_run if self.fits == 1 else None,
        )  # fmt: skip
        bound.arguments["callbacks"] = [*callbacks, callback]  # the user's own run first
        self._current = callback
        previous = self._install_sigint()
        try:
            with callback.guard():
                return original(*bound.args, **bound.kwargs)
        finally:
            self._current = None
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _announce(self, run: Any) -> None:
        self.runs.append(run)
        if self.on_run is not None:
            self.on_run(run)

    # ------------------------------------------------------------ Ctrl-C
    def _install_sigint(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return None
        self._interrupts = 0
        return signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self._interrupts += 1
        callback = self._current
        if self._interrupts > 1 or callback is None or callback.life is None:
            raise KeyboardInterrupt
        from engine.control import Command, CommandName

        callback.life.control.send(Command(CommandName.STOP, source="interrupt"))
        print("\nkwb: stopping at the end of this batch (Ctrl-C again to interrupt the script)", file=sys.stderr, flush=True)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Wraps ``tf_keras.Model.fit`` as soon as the script imports tf-keras (importing it ourselves costs seconds)."""

    def __init__(self, runs: ScriptRuns) -> None:
        self.runs = runs

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "tf_keras":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        exec_module = spec.loader.exec_module
        runs = self.runs

        def exec_and_patch(module: Any) -> None:
            exec_module(module)
            runs.patch(module.Model)

        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def run_script(runs: ScriptRuns) -> None:
    """Run ``runs.script`` as ``__main__`` with its arguments, every ``fit`` recorded. The script's exceptions propagate.

    ``sys.argv``, ``sys.path[0]`` and ``fit`` are restored afterwards; the working directory is left as it is.
    """
    from engine.kerasapi import keras
    from engine.native_log import native_log, start_preload

    quiet = start_preload()  # TensorFlow's import noise (oneDNN, CUDA stubs) off the terminal, as kwb train keeps it
    try:
        keras()
    finally:
        if quiet:
            native_log.stop()
    runs.patch(keras().Model)
    finder = None
    if "tf_keras" in sys.modules:
        runs.patch(sys.modules["tf_keras"].Model)
    elif keras().__name__ != "tf_keras":
        finder = _PatchOnImport(runs)
        sys.meta_path.insert(0, finder)
    saved_argv = sys.argv[:]
    sys.argv = [runs.argv0 or str(runs.script), *runs.args]
    sys.path.insert(0, str(runs.script.parent))
    try:
        runpy.run_path(runs.argv0 or str(runs.script), run_name="__main__")  # it sets sys.argv[0] to this
    finally:
        sys.argv = saved_argv
        if sys.path and sys.path[0] == str(runs.script.parent):
            sys.path.pop(0)
        if finder is not None and finder in sys.meta_path:
            sys.meta_path.remove(finder)
        runs.unpatch()
