"""A local emulator of the Huawei Cloud DCS v2 data-migration API.

Start it with ``python -m huaweicloud_dcs_emulator --port 8780`` (or ``dcs-emulator``). It checks
SDK-HMAC-SHA256 signatures like the API gateway, emulates the task lifecycle with configurable
durations (defaults that model the hardest realistic cloud), and has an admin API under
``/_emulator/`` (behind a per-run token, header ``X-Emulator-Token``) for fault injection, DCS
instances and inspection. It never imports Airflow and never connects to remote hosts. It is
written from the DCS API reference alone: no code of any client (the Airflow provider included)
is imported.

Layout, from the outside in: :mod:`.__main__` (command line), :mod:`.app` (the aiohttp
application), its middlewares :mod:`.request_tracing`, :mod:`.fault_injection` and
:mod:`.gateway`, the endpoint handlers :mod:`.handlers` and the admin API :mod:`.admin`;
:mod:`.service` (what the handlers share), :mod:`.store` (tasks and their lifecycle),
:mod:`.engines` (how data moves), :mod:`.faults`, :mod:`.request_log` and
:mod:`.path_patterns`; the API facts :mod:`.routes`, :mod:`.statuses` and :mod:`.signature`
(the signing algorithm), with :mod:`.auth` (the gateway's check) and :mod:`.signer` (the test
client's side). For tests: :mod:`.testing`, :mod:`.clients`, :mod:`.local_redis` and the pytest
fixtures :mod:`.pytest_plugin`.
"""

from __future__ import annotations

__all__ = ["DEFAULT_PORT", "__version__"]

__version__ = "0.1.0"

#: Port of ``python -m huaweicloud_dcs_emulator`` when ``--port`` is not given.
DEFAULT_PORT = 8780
