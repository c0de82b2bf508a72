"""engine.resume and the run's clock: a finished run is refused, a kill's leftovers repaired, epochs_done kept current, idle gaps not counted."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from engine import events as ev
from engine.control import CallbackSink
from engine.resume import backup_epoch, prepare_resume, refusal, repair_backup, sweep_temp_files
from engine.runs import RunDir, read_history, read_status
from engine.session import prepare, train
from engine.write_errors import write_failure


def fresh_run(tmp_path: Path) -> RunDir:
    run = RunDir(tmp_path / "run")
    run.backup.mkdir(parents=True)
    run.checkpoints.mkdir()
    return run


def set_backup(run: RunDir, epoch: int) -> None:
    (run.backup / "latest.weights.h5").write_bytes(b"weights")
    (run.backup / "training_metadata.json").write_text(json.dumps({"epoch": epoch, "batch": 0}))


class TestRefusal:
    """A finished run is resumed only when more epochs than it finished are asked for."""

    def test_a_finished_run_is_refused_with_the_command_to_train_more(self, tmp_path: Path):
        run = fresh_run(tmp_path)
        set_backup(run, 6)
        why = refusal(run, {"state": "finished", "reason": "early_stopping"}, 60, epochs_given=False)
        assert why is not None
        assert "finished 6 epochs (early stopping)" in why
        assert f"kwb resume {run.id} --set fit.epochs=16" in why

    def test_asking_for_no_more_epochs_is_refused_too(self, tmp_path: Path):
        run = fresh_run(tmp_path)
        set_backup(run, 6)
        assert refusal(run, {"state": "finished"}, 6, epochs_given=True) is not None

    def test_more_epochs_are_accepted(self, tmp_path: Path):
        run = fresh_run(tmp_path)
        set_backup(run, 6)
        assert refusal(run, {"state": "finished"}, 7, epochs_given=True) is None

    @pytest.mark.parametrize("state", ["stopped", "failed", "running", "died"])
    def test_an_unfinished_run_is_not_refused(self, tmp_path: Path, state: str):
        run = fresh_run(tmp_path)
        set_backup(run, 6)
        assert refusal(run, {"state": state}, 6, epochs_given=False) is None


class TestKillLeftovers:
    """What a kill leaves behind is swept or repaired before a resume reads the run."""

    def test_temp_files_are_removed_and_real_files_kept(self, tmp_path: Path):
        run = fresh_run(tmp_path)
        leftovers = [run.checkpoints / ".tmp-0a1b2c3d-best.keras", run.path / ".status.json.k2j3h4.tmp"]
        keep = [run.checkpoints / "best.keras", run.path / "status.json"]
        for p in leftovers + keep:
            p.write_text("x")
        assert sorted(sweep_temp_files(run)) == sorted(leftovers)
        assert all(p.exists() for p in keep) and not any(p.exists() for p in leftovers)

    def test_metadata_left_pending_after_the_weights_rename_is_committed(self, tmp_path: Path):
        run = fresh_run(tmp_path)
        set_backup(run, 3)
        (run.backup / ".pending-training_metadata.json").write_text(json.dumps({"epoch": 4, "batch": 0}))
        repair_backup(run)
        assert backup_epoch(run) == 4
        assert not list(run.backup.glob(".pending-*"))

    def test_pending_weights_mean_nothing_was_committed(self, tmp_path: Path):
        run = fresh_run(tmp_path)
        set_backup(run, 3)
        (run.backup / ".pending-latest.weights.h5").write_bytes(b"half")
        (run.backup / ".pending-training_metadata.json").write_text(json.dumps({"epoch": 4, "batch": 0}))
        repair_backup(run)
        assert backup_epoch(run) == 3
        assert not list(run.backup.glob(".pending-*"))

    def test_a_torn_metadata_file_drops_the_backup(self, tmp_path: Path):
        run = fresh_run(tmp_path)
        set_backup(run, 3)
        (run.backup / "training_metadata.json").write_text('{"epo')
        repair_backup(run)
        assert not run.backup.exists()

    def test_rows_and_events_after_the_backup_are_dropped_once(self, tmp_path: Path):
        run = fresh_run(tmp_path)
        set_backup(run, 2)
        run.history.write_text("epoch,loss\n0,0.9\n1,0.8\n2,0.7\n3,0.")  # epoch 2 ran, not backed up; 3 torn
        lines = [ev.encode(ev.EpochEnded(epoch=e, logs={"loss": 1.0})) for e in range(3)]
        run.events.write_text("\n".join(lines) + '\n{"type": "bat')
        assert prepare_resume(run, model=None) == 2
        assert [r["epoch"] for r in read_history(run.history)] == [0, 1]
        ended = [json.loads(line)["epoch"] for line in run.events.read_text().splitlines()]
        assert ended == [0, 1]


class TestWriteFailureLine:
    """A refused write is said in one line naming the file the user knows."""

    def test_a_temp_name_is_reported_as_the_file_it_stands_for(self, tmp_path: Path):
        exc = OSError(28, "No space left on device", str(tmp_path / "checkpoints" / ".tmp-0a1b2c3d-epoch-007.keras"))
        failure = write_failure(exc, root=tmp_path)
        assert failure is not None and failure.line == "no space left on device while writing checkpoints/epoch-007.keras"

    def test_an_io_error_wrapped_by_another_exception_is_found(self, tmp_path: Path):
        try:
            try:
                raise OSError(5, "Input/output error")
            except OSError as inner:
                raise RuntimeError("Can't write data") from inner
        except RuntimeError as exc:
            failure = write_failure(exc, tmp_path / "history.csv", tmp_path)
        assert failure is not None and failure.line == "input/output error while writing history.csv"

    def test_other_errors_are_not_disk_errors(self):
        assert write_failure(ValueError("bad shape")) is None
        assert write_failure(OSError(2, "No such file or directory", "x")) is None


class StatusReader(CallbackSink):
    """Reads status.json's epochs_done when each epoch starts (the heartbeat alone writes it every 2 s)."""

    def __init__(self) -> None:
        self.seen: dict[int, Any] = {}
        self.run_dir: Path | None = None
        super().__init__(self._on)

    def _on(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.run_dir = Path(event.run_dir or "")
        elif isinstance(event, ev.EpochStarted) and self.run_dir is not None:
            self.seen[event.epoch] = (read_status(self.run_dir) or {}).get("epochs_done")


class TestRunClock:
    """status.json follows each epoch; a resumed run's time is its training, not the gap before the resume."""

    def test_epochs_done_is_written_with_each_epoch(self, tiny_config, tmp_path: Path):
        cfg = tiny_config("fit.epochs=4")
        reader = StatusReader()
        train(cfg, sink=reader, runs_dir=tmp_path / "runs", capture_output=False)
        assert reader.seen == {0: 0, 1: 1, 2: 2, 3: 3}

    def test_the_gap_before_a_resume_is_not_training_time(self, tiny_config, tmp_path: Path):
        cfg = tiny_config("fit.epochs=1")
        first = train(cfg, runs_dir=tmp_path / "runs", capture_output=False)
        trained = read_status(first.run_dir)["duration_s"]
        time.sleep(3.0)
        more = cfg.model_copy(update={"fit": cfg.fit.model_copy(update={"epochs": 2})})
        began = time.monotonic()
        second = train(more, runs_dir=tmp_path / "runs", capture_output=False, prepared=prepare(more),
                       resume=RunDir(first.run_dir))  # fmt: skip
        this_process = time.monotonic() - began
        status = read_status(second.run_dir)
        assert second.status == "finished" and status["epochs_done"] == 2
        assert trained <= status["duration_s"] <= trained + this_process + 0.5  # the 3 s gap is not in it


class TestResumedRate:
    """A resumed run's optimizer comes back with the rate it had; the change from the config's is told as a resume's."""

    def test_the_restored_rate_is_a_resume_not_a_plateau(self, tiny_config, tmp_path: Path):
        cfg = tiny_config("fit.epochs=2", "callbacks.reduce_lr_on_plateau={monitor: loss, patience: 0, min_delta: 10}")
        first = train(cfg, runs_dir=tmp_path / "runs", capture_output=False)
        more = cfg.model_copy(update={"fit": cfg.fit.model_copy(update={"epochs": 3})})
        seen: list[ev.Event] = []
        second = train(more, sink=CallbackSink(seen.append), runs_dir=tmp_path / "runs", capture_output=False,
                       prepared=prepare(more), resume=RunDir(first.run_dir))  # fmt: skip
        assert second.status == "finished", second.error
        changes = [e for e in seen if isinstance(e, ev.LrChanged)]
        assert changes and changes[0].source == "resume" and changes[0].new < changes[0].old, changes


class TestCutEpoch:
    """A stop or Ctrl-C ends the epoch in progress early: that cut epoch is not backed up as done, and a resume runs it again whole."""

    def test_a_cut_epoch_runs_again_on_resume(self, tiny_config, tmp_path: Path):
        from engine.control import Control

        control = Control()

        def stop_as_epoch_two_starts(event: ev.Event) -> None:
            if isinstance(event, ev.EpochStarted) and event.epoch == 1:
                control.stop()  # applied at once: Keras runs one step of epoch 2, then ends it

        cfg = tiny_config("fit.epochs=2", "fit.steps_per_execution=1")  # 160 training rows: 5 steps an epoch
        first = train(cfg, sink=CallbackSink(stop_as_epoch_two_starts), control=control, runs_dir=tmp_path / "runs",
                      capture_output=False)  # fmt: skip
        assert first.status == "stopped"
        run = RunDir(first.run_dir)
        assert backup_epoch(run) == 1  # epoch 2 was cut after 1 of 5 steps: not backed up as done
        assert [int(r["epoch"]) for r in read_history(run.history)] == [0, 1]  # Keras still wrote its row
        more = cfg.model_copy(update={"fit": cfg.fit.model_copy(update={"epochs": 3})})
        seen: list[ev.Event] = []
        second = train(more, sink=CallbackSink(seen.append), runs_dir=tmp_path / "runs", capture_output=False,
                       prepared=prepare(more), resume=run)  # fmt: skip
        assert second.status == "finished"
        assert [e.epoch for e in seen if isinstance(e, ev.EpochEnded)] == [1, 2]  # the cut epoch again, whole
        assert [int(r["epoch"]) for r in read_history(run.history)] == [0, 1, 2]  # its partial row replaced
