"""Scaling out: two real ``kwb train`` workers on loopback, mirrored over two logical CPUs, the cluster flags."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.cluster import Cluster, cluster_from_env, parse_workers, tf_config_for
from engine.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"

pytest.importorskip("tf_keras", reason='multi_worker needs tf-keras (pip install -e ".[dev]" installs it)')


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def start_worker(index: int, workers: str, cwd: Path, *sets: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "TF_USE_LEGACY_KERAS")}
    args = [sys.executable, "-m", "tui.cli", "train", str(SPIRALS), "--runs-dir", "runs",
            "--workers", workers, "--worker-index", str(index)]  # fmt: skip
    for item in sets:
        args += ["--set", item]
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


MIRRORED = textwrap.dedent(
    """
    import json, sys, tempfile
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from engine.config_io import load_config
    from engine.session import train
    out = {}
    for strategy in ("default", "mirrored"):
        sets = ["fit.epochs=4", "callbacks.early_stopping=null", "callbacks.reduce_lr_on_plateau=null",
                "data.samples=600", f"runtime.strategy={strategy}"]
        if strategy == "mirrored":
            sets.append("runtime.devices=[/cpu:0,/cpu:1]")
        cfg = load_config(sys.argv[1], sets)
        r = train(cfg, runs_dir=tempfile.mkdtemp(), capture_output=False)
        started = json.loads((r.run_dir / "events.jsonl").read_text().splitlines()[0])
        out[strategy] = {"status": r.status, "loss": r.history[-1]["loss"], "replicas": started["replicas"]}
    print("RESULT " + json.dumps(out))
    """
)


class TestMultiWorker:
    """Two real worker processes train one model together; a stop to the chief ends both."""

    def test_two_workers_train_together_and_a_stop_to_the_chief_ends_both(self, tmp_path: Path) -> None:
        chief_dir, other_dir = tmp_path / "chief", tmp_path / "other"
        chief_dir.mkdir()
        other_dir.mkdir()
        workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
        sets = ("fit.epochs=500", "callbacks.early_stopping=null", "data.samples=600")
        procs = [start_worker(1, workers, other_dir, *sets), start_worker(0, workers, chief_dir, *sets)]
        try:
            runs = chief_dir / "runs"
            deadline = time.monotonic() + 180
            run = None
            while time.monotonic() < deadline:
                found = list(runs.glob("*/history.csv")) if runs.exists() else []
                if found and len(found[0].read_text().splitlines()) >= 3:  # header + two epochs
                    run = found[0].parent
                    break
                assert all(p.poll() is None for p in procs), [p.communicate()[0] for p in procs]
                time.sleep(0.2)
            assert run is not None, "the chief never finished two epochs"

            from engine.control_client import send_and_wait

            assert send_and_wait(str(run), "lr-drop", timeout=30).startswith("learning rate")
            assert send_and_wait(str(run), "stop", timeout=30) == "stopping at the next batch boundary"
            outs = [p.communicate(timeout=120)[0] for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        assert [p.returncode for p in procs] == [0, 0], outs
        # Both stopped at the same epoch, with the same final figures.
        # (Not the time: each worker counts from its own start, and they may start training seconds apart.)
        last = [[ln.rsplit(" in ", 1)[0] for ln in out.splitlines() if ln.startswith("stopped")] for out in outs]
        assert last[0] and last[0] == last[1], outs
        assert "learning rate" in outs[0] and "(control)" in outs[0], outs[0]
        # Only the chief's run directory exists; the other worker left nothing behind.
        assert [p.name for p in (chief_dir / "runs").iterdir()] == [run.name]
        assert not (other_dir / "runs").exists() or not any((other_dir / "runs").iterdir())
        assert (run / "model.keras").exists()
        status = json.loads((run / "status.json").read_text())
        assert status["state"] == "stopped" and status["reason"] == "control"
        started = json.loads((run / "events.jsonl").read_text().splitlines()[0])
        assert started["type"] == "run_started"
        assert (started["strategy"], started["replicas"], started["workers"], started["worker"]) == ("multi_worker", 2, 2, 0)


class TestMirrored:
    """A mirrored strategy over two logical CPUs trains like one device."""

    def test_mirrored_over_two_logical_cpus_reaches_the_single_device_loss(self, tmp_path: Path) -> None:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        proc = subprocess.run([sys.executable, "-c", MIRRORED, str(SPIRALS)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
        out = json.loads(lines[0][len("RESULT ") :])
        assert out["default"]["status"] == out["mirrored"]["status"] == "finished"
        assert (out["default"]["replicas"], out["mirrored"]["replicas"]) == (1, 2)
        # The global batch is split over two replicas and the gradients summed back: same loss, up to float error.
        assert out["mirrored"]["loss"] == pytest.approx(out["default"]["loss"], rel=1e-3)


class TestClusterFlags:
    """--workers/--worker-index and TF_CONFIG: turned into a cluster, or refused with the reason, before anything is written."""

    def test_workers_flag_becomes_tf_config(self, monkeypatch: pytest.MonkeyPatch) -> None:
        workers = parse_workers("10.0.0.1:2222, 10.0.0.2:2222", 1)
        monkeypatch.setenv("TF_CONFIG", tf_config_for(workers, 1))
        assert cluster_from_env() == Cluster(("10.0.0.1:2222", "10.0.0.2:2222"), 1)
        assert not cluster_from_env().is_chief
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}}))
        assert cluster_from_env() == Cluster(("a:1", "b:1"), 1, "worker")

    @pytest.mark.parametrize(
        "text, index, message",
        [
            ("10.0.0.1:2222", 0, "at least two"),
            ("10.0.0.1:2222,10.0.0.2", 0, "'10.0.0.2' is not host:port"),
            ("a:1,b:2", None, "needed with --workers"),
            ("a:1,b:2,a:1", 0, "a:1 is listed more than once"),
            ("a:1,b:2", 2, "must be 0…1"),
        ],
    )
    def test_bad_workers_flags_are_named(self, text: str, index: int | None, message: str) -> None:
        with pytest.raises(UserError, match=message):
            parse_workers(text, index)

    @pytest.mark.parametrize("raw", ["{not json", '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}'])
    def test_bad_tf_config_is_named(self, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
        monkeypatch.setenv("TF_CONFIG", raw)
        with pytest.raises(UserError) as info:
            cluster_from_env()
        assert info.value.key == "TF_CONFIG"

    def test_cli_refuses_bad_cluster_before_writing_anything(self, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        cases = [
            (["--workers", "127.0.0.1:1"], "--workers: expected at least two"),
            (["--set", "runtime.strategy=multi_worker"], "runtime.strategy: multi_worker needs the cluster"),
        ]
        for extra, message in cases:
            proc = subprocess.run([sys.executable, "-m", "tui.cli", "train", str(SPIRALS), *extra], cwd=tmp_path,
                                  env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
            assert proc.returncode == 2, proc.stderr
            assert message in proc.stderr
            assert "Traceback" not in proc.stderr
        assert not (tmp_path / "runs").exists()


class TestDoctor:
    """kwb doctor reports versions, devices and the strategy a config would get."""

    def test_doctor_reports_versions_devices_and_the_strategy_a_config_gets(self, kwb, tmp_path: Path, monkeypatch) -> None:
        cfg = tmp_path / "mw.yaml"
        cfg.write_text(SPIRALS.read_text().replace("output: {runs_dir: runs}", "runtime: {strategy: multi_worker}"))
        monkeypatch.setenv("TF_CONFIG", tf_config_for(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"], 2))
        out = kwb("doctor", cfg, "--json")
        assert out.code == 0, out
        facts = json.loads(out.out)
        import tensorflow as tf

        assert facts["tensorflow"] == tf.__version__ and facts["cpus"] >= 1
        assert facts["gpus"] == [{"device": d.name.replace("/physical_device:", "/")} | facts["gpus"][i]
                                 for i, d in enumerate(tf.config.list_physical_devices("GPU"))]  # fmt: skip
        plan = facts["plan"]
        assert (plan["strategy"], plan["worker"], plan["chief"], len(plan["workers"])) == ("multi_worker", 2, False, 3)
        monkeypatch.delenv("TF_CONFIG")
        out = kwb("doctor", cfg)
        assert out.code == 1 and "problem: runtime.strategy: multi_worker needs the cluster" in out.out, out
        assert "tensorflow " in out.out and "cpus " in out.out
