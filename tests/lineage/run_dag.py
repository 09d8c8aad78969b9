"""Child process of tests/test_lineage.py: ``dag.test()`` of one DAG file, then its state."""

from __future__ import annotations

import importlib.util
import sys

path = sys.argv[1]
spec = importlib.util.spec_from_file_location("lineage_dag", path)
assert spec is not None
assert spec.loader is not None
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test()
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print(f"DAG_STATE {run.state} {states}", flush=True)
