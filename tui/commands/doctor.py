"""``kwb doctor``: what TensorFlow sees on this machine, and the strategy a config would get."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from tui.commands.common import load, quiet_tensorflow, start_native_log


def doctor(
    config: Annotated[Optional[Path], typer.Argument(help="Also show the strategy this config would train with.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the facts as one JSON object.")] = False,
) -> None:
    """Versions, CPUs and GPUs (with memory), CUDA and cuDNN as TensorFlow reports them."""
    cfg = load(config, None) if config is not None else None
    quiet_tensorflow()
    start_native_log()
    from engine.doctor import diagnose

    facts = diagnose(cfg)
    if json_:
        print(json.dumps(facts, indent=2))
        return
    keras = f"keras {facts['keras']}" + (f", tf-keras {facts['tf_keras']}" if facts["tf_keras"] else ", no tf-keras")
    print(f"tensorflow {facts['tensorflow']}, {keras}, python {facts['python']} on {facts['platform']}")
    if facts["cuda_build"]:
        print(f"cuda       {facts['cuda']}  cudnn {facts['cudnn']} (as TensorFlow was built)")
    else:
        print("cuda       this TensorFlow is a CPU-only build (GPU: pip install -e \".[gpu]\")")
    print(f"cpus       {facts['cpus_usable']} usable of {facts['cpus']}")
    if not facts["gpus"]:
        print("gpus       none visible to TensorFlow")
    for g in facts["gpus"]:
        mem = f"{g['memory_total_mib']:,} MiB" if g.get("memory_total_mib") else "memory unknown (no nvidia-smi)"
        cc = f", compute {g['compute_capability']}" if g.get("compute_capability") else ""
        print(f"gpu        {g['device']}  {g.get('name') or '?'}  {mem}{cc}")
    if facts["tf_config"]:
        print(f"TF_CONFIG  {facts['tf_config']}")
    plan = facts.get("plan")
    if plan:
        devices = ", ".join(plan["devices"]) or "?"
        line = f"{config}: strategy {plan['strategy']}, {plan['replicas'] or '?'} replica(s) on {devices}"
        if plan.get("workers"):
            line += f"; worker {plan['worker']} of {len(plan['workers'])}" + (" (chief)" if plan["chief"] else "")
        print(line)
        if plan.get("per_replica_batch"):
            print(f"           global batch {plan['global_batch']} = {plan['per_replica_batch']:g} per replica")
        if plan.get("problem"):
            print(f"           problem: {plan['problem']}")
            raise typer.Exit(1)
