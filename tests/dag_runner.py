"""``scripts/demo_dag.py`` as a module: the ``dag.test()`` child runner and its Airflow helpers.

Loaded once under the name ``dcs_demo_dag`` (its dataclasses need a module in ``sys.modules``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
NAME = "dcs_demo_dag"


def load() -> ModuleType:
    """The runner module (imported on the first call)."""
    if NAME in sys.modules:
        return sys.modules[NAME]
    spec = importlib.util.spec_from_file_location(NAME, REPO / "scripts" / "demo_dag.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    spec.loader.exec_module(module)
    return module
