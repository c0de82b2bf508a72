"""What stands between ``kwb ui`` and its first frame: no TensorFlow, no pydantic, the config read but checked after."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tui.factory import make_app
from tui.workspace import Workspace

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "sample_configs" / "spirals.yaml"


class TestFirstFrame:
    """The first frame comes before TensorFlow and pydantic; the config is checked right after it."""

    def test_the_first_screen_needs_no_tensorflow_and_no_pydantic(self) -> None:
        code = (
            "import sys; import tui.cli, tui.app, tui.screens.build;"
            f"from tui.workspace import Workspace; Workspace.open({str(SAMPLE)!r}, check=False);"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'pydantic', 'numpy')"
            " or m in ('engine.config', 'engine.runs')];"
            "assert not heavy, heavy"
        )
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)

    async def test_the_app_checks_its_config_once_the_first_frame_is_shown(self, tmp_path: Path) -> None:
        config = tmp_path / "c.yaml"
        config.write_text(SAMPLE.read_text(encoding="utf-8") + "controls: {lr_factor: 0.25}\n", encoding="utf-8")
        app = make_app(config, warm_up=False, check_config=False)
        assert not app.workspace.checked
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.first_frame.is_set() and app.workspace.checked
            assert app.lr_factor == 0.25
            # A default the check filled in
            assert app.workspace.raw["runtime"]["device"] == "auto"


class TestUncheckedWorkspace:
    """A workspace opened unchecked becomes, once checked, what a checked open gives."""

    def test_an_unchecked_workspace_checks_to_what_open_gives(self) -> None:
        checked = Workspace.open(SAMPLE)
        unchecked = Workspace.open(SAMPLE, check=False)
        # The defaults are not filled in yet
        assert not unchecked.checked and unchecked.raw != checked.raw
        unchecked.check()
        assert unchecked.checked and unchecked.raw == checked.raw and unchecked.load_error is None

    def test_a_bad_config_opened_unchecked_reports_after_the_check(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text(SAMPLE.read_text(encoding="utf-8").replace("units: 64", "units: -4", 1), encoding="utf-8")
        ws = Workspace.open(bad, check=False)
        assert ws.load_error is None
        ws.check()
        assert ws.load_error is not None and "units" in ws.load_error


class TestThreadPriority:
    """Background work runs below the UI thread."""

    def test_background_work_runs_below_the_ui_thread(self) -> None:
        import os
        import threading

        from tui.threads import lower_thread_priority

        if not sys.platform.startswith("linux"):
            return
        seen: dict[str, int] = {}

        def work() -> None:
            lower_thread_priority(3)
            tid = threading.get_native_id()
            seen["worker"] = os.getpriority(os.PRIO_PROCESS, tid)
            child = threading.Thread(
                target=lambda: seen.setdefault(
                    "child", os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
                )
            )
            child.start()
            child.join()

        before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        assert seen["worker"] == min(19, before + 3)
        # Threads it starts (TensorFlow's pools) inherit it; the calling (UI) thread keeps its own.
        assert seen["child"] == seen["worker"]
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
