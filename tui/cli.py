"""The ``kwb`` command line (typer): headless verbs, and ``kwb`` alone opens the app.

Heavy imports (TensorFlow, Textual, pydantic) happen inside the verbs that need
them, so ``kwb --help`` stays fast. Exit codes: 0 done, 1 training failed,
2 bad input, 130 interrupted (143 terminated).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tui.commands import compare as _compare
from tui.commands import doctor as _doctor
from tui.commands import lr_find as _lr_find
from tui.commands import models as _models  # light: every heavy import is inside the verbs
from tui.commands import runs as _runs
from tui.commands import script as _script
from tui.commands import training as _training
from tui.commands.common import bad_input, need_terminal

HEADLESS = "use kwb train CONFIG for headless runs"

app = typer.Typer(
    name="kwb",
    help="Keras Workbench: build Keras models and train them from one YAML file.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """Keras Workbench. Run `kwb` alone to open the app on the last config (or the spirals sample)."""
    if ctx.invoked_subcommand is None:
        need_terminal("kwb", HEADLESS)
        from tui.factory import run_app

        run_app(None)


@app.command()
def ui(config: Annotated[Optional[Path], typer.Argument(help="Config to open.")] = None) -> None:
    """Open the full-screen app on CONFIG."""
    from tui.factory import run_app

    if config is not None and not config.exists():
        bad_input(f"error in {config}:\n  file not found")
    need_terminal("kwb ui", HEADLESS)
    run_app(str(config) if config else None)


app.command()(_training.validate)
app.command()(_training.train)
app.command()(_training.resume)
app.command(context_settings=_script.CONTEXT)(_script.run)
app.command("runs")(_runs.runs_cmd)
app.command()(_runs.show)
app.command(context_settings={"ignore_unknown_options": True})(_runs.control)  # set-lr -1: a value, refused as one
app.command()(_runs.attach)
app.command()(_compare.compare)
app.command()(_models.evaluate)
app.command("lr-find")(_lr_find.lr_find)
app.command()(_models.predict)
app.command()(_models.inspect)
app.command()(_doctor.doctor)


def main() -> None:
    """Console-script entry point: no failure ends in silence (``tui.commands.common.run_guarded``)."""
    from tui.commands.common import run_guarded

    run_guarded(app)


if __name__ == "__main__":
    main()
