"""The emulator's state: migration tasks, their lifecycle, logs, jobs, DCS instances and whitelists.

:mod:`.task_store` holds the API operations; :mod:`.records` what is remembered,
:mod:`.lifecycle` the transitions that happen by themselves, :mod:`.views` the JSON answers,
:mod:`.validation` the request checks, :mod:`.errors` the error answers, :mod:`.config` the
timings and switches, :mod:`.instances` the known DCS instances and their whitelists,
:mod:`.ip_switch` the IP switch, :mod:`.overrides` the forced statuses of the admin API.
"""

from __future__ import annotations

from huaweicloud_dcs_emulator.store.config import (
    DELETED_DETAIL_CHOICES,
    RELEASED_STATS_CHOICES,
    EmulatorConfig,
)
from huaweicloud_dcs_emulator.store.errors import EmulatorError
from huaweicloud_dcs_emulator.store.instances import Instance, InstanceRegistry
from huaweicloud_dcs_emulator.store.task_store import TaskStore

__all__ = [
    "DELETED_DETAIL_CHOICES",
    "RELEASED_STATS_CHOICES",
    "EmulatorConfig",
    "EmulatorError",
    "Instance",
    "InstanceRegistry",
    "TaskStore",
]
