"""A local emulator of the Huawei Cloud DCS v2 data-migration API.

Start it with ``python -m huaweicloud_dcs_provider.emulator --port 8780`` (or ``dcs-emulator``);
see ``docs/emulator.md``. It checks SDK-HMAC-SHA256 signatures like the API gateway, emulates the
task lifecycle with configurable durations, and has an unsigned admin API under ``/_emulator/``
for fault injection and inspection. It never imports Airflow and never connects to remote hosts.

Modules: :mod:`.app` (aiohttp application), :mod:`.state` (tasks and lifecycle), :mod:`.auth`
(signature check), :mod:`.faults` (fault rules, request log), :mod:`.engine` (data movement
seam), :mod:`.testing` (subprocess and admin helpers for tests).
"""

from __future__ import annotations

__all__ = ["DEFAULT_PORT"]

#: Port of ``python -m huaweicloud_dcs_provider.emulator`` when ``--port`` is not given.
DEFAULT_PORT = 8780
