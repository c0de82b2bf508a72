"""What this machine offers for training: versions, CPUs, GPUs, CUDA/cuDNN, and the strategy a config gets.

Everything comes from TensorFlow itself (``tf.sysconfig.get_build_info``,
``tf.config``); GPU memory comes from ``nvidia-smi`` when it is installed, since
TensorFlow reports only what it has allocated. Nothing here starts a strategy that
would wait for other workers.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
from typing import Any

from engine.config import RunConfig

__all__ = ["diagnose", "device_problem", "strategy_plan"]


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _nvidia_smi() -> list[dict[str, str]]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total,memory.used,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 5:
            rows.append(dict(zip(("index", "name", "memory_total_mib", "memory_used_mib", "driver"), parts)))
    return rows


def device_problem(runtime: Any, gpus: int) -> tuple[str, str] | None:
    """``(key, message)`` when ``runtime`` asks for a GPU this machine does not have (or one ``device: cpu`` rules out).

    ``kwb doctor`` reports it; ``kwb train`` and ``validate`` refuse the config with it, since
    TensorFlow would otherwise place the work on the CPU without a word.

    Args:
        runtime: the config's ``runtime`` section.
        gpus: how many GPUs TensorFlow sees.
    """
    if runtime.device == "gpu" and gpus == 0:
        return "runtime.device", "runtime.device is gpu but TensorFlow sees no GPU (see `kwb doctor`)"
    import re

    for device in runtime.devices or []:
        found = re.search(r"(?i)(?:^|[/:])(gpu):(\d+)$", device.strip())
        if found is None:
            continue
        if runtime.device == "cpu":
            return "runtime.devices", f"lists {device}, but runtime.device is cpu: drop one of them"
        if int(found.group(2)) >= gpus:
            seen = f"sees {gpus} GPU{'s' if gpus != 1 else ''} (/gpu:0…/gpu:{gpus - 1})" if gpus else "sees no GPU"
            return "runtime.devices", f"lists {device}, but TensorFlow {seen} on this machine (see `kwb doctor`)"
    return None


def strategy_plan(cfg: RunConfig, gpus: int) -> dict[str, Any]:
    """The strategy, replica count and devices ``cfg`` would train with on this machine."""
    rt = cfg.runtime
    use_gpus = 0 if rt.device == "cpu" else gpus
    plan: dict[str, Any] = {"strategy": rt.strategy, "device": rt.device}
    if (problem := device_problem(rt, gpus)) is not None:
        said = problem[1].replace(" (see `kwb doctor`)", "")  # this is kwb doctor
        plan["problem"] = said if problem[0] == "runtime.device" else f"{problem[0]} {said}"
    if rt.strategy == "default":
        plan.update(replicas=1, devices=["/gpu:0" if use_gpus else "/cpu:0"])
    elif rt.strategy == "mirrored":
        devices = list(rt.devices) if rt.devices else ([f"/gpu:{i}" for i in range(use_gpus)] or ["/cpu:0"])
        plan.update(replicas=len(devices), devices=devices)
    else:
        from engine.cluster import cluster_from_env
        from engine.errors import UserError

        try:
            cluster = cluster_from_env()
        except UserError as exc:
            plan.update(replicas=None, devices=[], problem=f"{exc.key}: {exc.message}" if exc.key else exc.message)
        else:
            local = max(1, use_gpus)
            plan.update(
                replicas=cluster.size * local, workers=list(cluster.workers), worker=cluster.index,
                chief=cluster.is_chief, devices=[f"/gpu:{i}" for i in range(use_gpus)] or ["/cpu:0"],
            )  # fmt: skip
        if _version("tf-keras") is None:
            plan["problem"] = 'multi_worker needs tf-keras: pip install -e ".[distributed]"'
    plan["global_batch"] = cfg.fit.batch_size
    if plan.get("replicas"):
        plan["per_replica_batch"] = cfg.fit.batch_size / plan["replicas"]
    return plan


def diagnose(cfg: RunConfig | None = None) -> dict[str, Any]:
    """Facts about TensorFlow on this machine, as a JSON-able dict (imports TensorFlow)."""
    import tensorflow as tf

    build = dict(tf.sysconfig.get_build_info())
    gpus = tf.config.list_physical_devices("GPU")
    smi = _nvidia_smi()
    gpu_rows = []
    for i, dev in enumerate(gpus):
        try:
            details = tf.config.experimental.get_device_details(dev)
        except (ValueError, RuntimeError):
            details = {}
        row: dict[str, Any] = {
            "device": dev.name.replace("/physical_device:", "/"),
            "name": details.get("device_name"),
            "compute_capability": ".".join(map(str, details["compute_capability"]))
            if details.get("compute_capability") else None,
        }  # fmt: skip
        if i < len(smi):
            row["memory_total_mib"] = int(smi[i]["memory_total_mib"]) if smi[i]["memory_total_mib"].isdigit() else None
            row["memory_used_mib"] = int(smi[i]["memory_used_mib"]) if smi[i]["memory_used_mib"].isdigit() else None
            row["driver"] = smi[i]["driver"]
        gpu_rows.append(row)
    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "tensorflow": tf.__version__,
        "keras": _version("keras"),
        "tf_keras": _version("tf-keras"),
        "cuda_build": bool(build.get("is_cuda_build")),
        "cuda": build.get("cuda_version"),
        "cudnn": build.get("cudnn_version"),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "gpus": gpu_rows,
        "tf_config": os.environ.get("TF_CONFIG"),
    }
    if cfg is not None:
        facts["plan"] = strategy_plan(cfg, len(gpus))
    return facts
