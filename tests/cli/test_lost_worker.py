"""Multi-worker runs that go wrong: a worker killed mid-run, a chief started alone, a duplicate address.

Each test starts real ``kwb train`` processes on loopback ports (tf-keras, as the README's
multi-worker section runs them) and checks what a person at the chief's terminal sees: the
chief ends, names the worker it lost or waits for, and exits with the status the README
promises (1 failed, 2 bad input, 130 Ctrl-C, 143 SIGTERM), never hanging.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPIRALS = ROOT / "sample_configs" / "spirals.yaml"

pytest.importorskip("tf_keras", reason='multi_worker needs tf-keras (pip install -e ".[dev]" installs it)')

from tests.cli.test_multi_worker import free_ports, start_worker  # noqa: E402


def chief_alone(cwd: Path, *sets: str) -> tuple[subprocess.Popen[str], str]:
    """A chief whose worker 1 is never started; returns it and worker 1's address."""
    ports = free_ports(2)
    workers = ",".join(f"127.0.0.1:{p}" for p in ports)
    return start_worker(0, workers, cwd, *sets), f"127.0.0.1:{ports[1]}"


def first_line(proc: subprocess.Popen[str]) -> str:
    """The process's first output line, read from the pipe itself (a buffered readline would hide the rest from communicate)."""
    data = b""
    while not data.endswith(b"\n"):
        byte = os.read(proc.stdout.fileno(), 1)  # type: ignore[union-attr]
        if not byte:
            break
        data += byte
    return data.decode()


class TestLostWorker:
    """Killing a worker mid-run ends the chief within 60 s, failed, naming the worker it lost."""

    def test_the_chief_ends_failed_and_names_the_lost_worker(self, tmp_path: Path) -> None:
        chief_dir, other_dir = tmp_path / "chief", tmp_path / "other"
        chief_dir.mkdir()
        other_dir.mkdir()
        ports = free_ports(2)
        workers = ",".join(f"127.0.0.1:{p}" for p in ports)
        sets = ("fit.epochs=500", "callbacks.early_stopping=null", "data.samples=600")
        procs = [start_worker(1, workers, other_dir, *sets), start_worker(0, workers, chief_dir, *sets)]
        try:
            deadline = time.monotonic() + 180
            run = None
            while time.monotonic() < deadline and run is None:
                found = list((chief_dir / "runs").glob("*/history.csv"))
                if found and len(found[0].read_text().splitlines()) >= 2:  # header + one epoch: training together
                    run = found[0].parent
                assert all(p.poll() is None for p in procs), [p.communicate()[0] for p in procs]
                time.sleep(0.2)
            assert run is not None, "the workers never finished an epoch together"
            procs[0].kill()
            killed = time.monotonic()
            out = procs[1].communicate(timeout=90)[0]
            took = time.monotonic() - killed
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        assert took < 60, f"the chief took {took:.0f}s to end"
        assert procs[1].returncode == 1, out
        assert f"lost worker 1 (127.0.0.1:{ports[1]})" in out, out
        assert "Traceback" not in out
        status = json.loads((run / "status.json").read_text())
        assert status["state"] == "failed"
        assert f"lost worker 1 (127.0.0.1:{ports[1]})" in status["error"]


class TestChiefWithoutPeers:
    """A chief started alone says whom it waits for, gives up after runtime.worker_timeout, and Ctrl-C/SIGTERM end it."""

    def test_ctrl_c_sigterm_and_the_timeout_end_a_waiting_chief(self, tmp_path: Path) -> None:
        # Three chiefs at once (each ~TensorFlow's start-up): one gets Ctrl-C, one SIGTERM, one times out.
        procs = {}
        for case in ("SIGINT", "SIGTERM", "timeout"):
            (tmp_path / case).mkdir()
            procs[case] = chief_alone(tmp_path / case, *(["runtime.worker_timeout=2"] if case == "timeout" else []))
        try:
            outs = {}
            for case, (proc, peer) in procs.items():
                first = first_line(proc)
                assert first.startswith(f"waiting for worker 1 at {peer} (0s of"), first
                if case != "timeout":
                    proc.send_signal(getattr(signal, case))
                outs[case] = first + proc.communicate(timeout=60)[0]
        finally:
            for proc, _ in procs.values():
                if proc.poll() is None:
                    proc.kill()
        codes = {case: proc.returncode for case, (proc, _) in procs.items()}
        assert codes == {"SIGINT": 130, "SIGTERM": 143, "timeout": 2}, outs
        assert "interrupted before training started; nothing was written" in outs["SIGINT"]
        assert "SIGTERM while waiting for the other workers; nothing was written" in outs["SIGTERM"]
        peer = procs["timeout"][1]
        assert f"runtime.worker_timeout: gave up after 2s waiting for worker 1 at {peer}" in outs["timeout"]
        for case in procs:
            assert "Traceback" not in outs[case]
            runs = tmp_path / case / "runs"
            assert not runs.exists() or not any(runs.iterdir()), f"{case}: a run directory was written"

    def test_a_duplicate_address_is_refused_before_anything_loads(self, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        args = [sys.executable, "-m", "tui.cli", "train", str(SPIRALS), "--workers", "127.0.0.1:24050,127.0.0.1:24050",
                "--worker-index", "0"]  # fmt: skip
        proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == ("error:\n  --workers: 127.0.0.1:24050 is listed more than once; "
                                       "every worker needs its own host:port")  # fmt: skip
        assert not (tmp_path / "runs").exists()
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": ["h:1", "h:1"]}, "task": {"type": "worker", "index": 0}})
        proc = subprocess.run([sys.executable, "-m", "tui.cli", "train", str(SPIRALS), "--set", "runtime.strategy=multi_worker"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert proc.returncode == 2 and "TF_CONFIG: h:1 is listed more than once" in proc.stderr, proc.stderr


class TestWaitAndNames:
    """The pieces without TensorFlow: waiting for peers' ports, and naming a lost worker from TensorFlow's message."""

    def test_a_worker_waits_for_the_chief_and_holds_its_own_port(self) -> None:
        import socket
        import threading

        from engine.cluster import Cluster, wait_for_peers

        ports = free_ports(2)
        cluster = Cluster((f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"), 1)  # worker 1 waits for the chief
        said: list[str] = []
        own_port_answered: list[bool] = []

        def chief_starts_late() -> None:
            time.sleep(0.6)
            own_port_answered.append(socket.create_connection(("127.0.0.1", ports[1]), timeout=1) is not None)
            with socket.socket() as chief:
                chief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                chief.bind(("127.0.0.1", ports[0]))
                chief.listen()
                time.sleep(1.5)

        thread = threading.Thread(target=chief_starts_late)
        thread.start()
        wait_for_peers(cluster, timeout=10, say=said.append, every=0.2)
        thread.join()
        assert own_port_answered == [True]  # while waiting, a worker's port answers the chief
        assert said and said[0] == f"waiting for worker 0 at 127.0.0.1:{ports[0]} (0s of 10s; Ctrl-C to give up)"

    def test_gives_up_after_the_timeout_naming_whom_it_waited_for(self) -> None:
        from engine.cluster import Cluster, wait_for_peers
        from engine.errors import UserError

        ports = free_ports(3)
        cluster = Cluster(tuple(f"127.0.0.1:{p}" for p in ports), 1)
        with pytest.raises(UserError) as info:
            wait_for_peers(cluster, timeout=0.3, say=lambda line: None)
        assert info.value.key == "runtime.worker_timeout"
        assert info.value.message.startswith(
            f"gave up after 0.3s waiting for worker 0 at 127.0.0.1:{ports[0]}, worker 2 at 127.0.0.1:{ports[2]}: start it"
        )

    def test_a_lost_worker_is_named_with_its_address(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from engine.cluster import lost_workers, tf_config_for
        from engine.diagnose import explain

        text = ("{{function_node __wrapped__CollectiveReduceV2}} Collective ops is aborted by: Error reported from "
                "/job:worker/task:1: The following tasks are unhealthy (stopped sending heartbeats):\n"
                "/job:worker/replica:0/task:1\nThe tasks have crashed. [Op:CollectiveReduceV2]")  # fmt: skip
        monkeypatch.setenv("TF_CONFIG", tf_config_for(["10.0.0.5:1", "10.0.0.6:2"], 0))
        assert lost_workers(text) == "worker 1 (10.0.0.6:2)"
        assert explain(RuntimeError(text)).cause.startswith("lost worker 1 (10.0.0.6:2): it stopped answering")
        assert lost_workers("Incompatible shapes: [32,2] vs. [32]") is None
        reset = "{{function_node x}} Collective ops is aborted by: recvmsg:Connection reset by peer [Op:CollectiveReduceV2]"
        assert lost_workers(reset) == "worker 1 (10.0.0.6:2)"  # the only other worker
        monkeypatch.setenv("TF_CONFIG", tf_config_for(["a:1", "b:2", "c:3"], 1))
        assert lost_workers(reset) == "one of worker 0 (a:1), worker 2 (c:3)"
