"""Status names of the DCS migration API, spelled as on the wire (``dcs-api.md`` section 4).

Plain string constants: the emulator reports them, it does not classify them.
"""

from __future__ import annotations

# Task ``status`` (section 4.1).
CREATING = "CREATING"
RUNNING = "RUNNING"  # created, waiting to be configured
MIGRATING = "MIGRATING"  # backup imports
FULLMIGRATING = "FULLMIGRATING"
#: The incremental steady state; the wire spelling really is "MIGEATING".
INCRMIGEATING = "INCRMIGEATING"
TERMINATING = "TERMINATING"
TERMINATED = "TERMINATED"
SUCCESS = "SUCCESS"
FAILED = "FAILED"
MIGRATION_FAILED = "MIGRATION_FAILED"
MIGRATION_SUCCESS = "MIGRATION_SUCCESS"
RELEASED = "RELEASED"
DELETED = "DELETED"
ERROR = "ERROR"

# ``task_status``, the IP-switch sub-status (section 4.2).
EXCHANGING = "EXCHANGING"
EXCHANGE_SUCCESS = "EXCHANGE_SUCCESS"
ROLLBACK_SUCCESS = "ROLLBACK_SUCCESS"

# Job ``status`` of ``GET /jobs/{job_id}`` (section 3.9).
JOB_INIT = "INIT"
JOB_RUNNING = "RUNNING"
JOB_SUCCESS = "SUCCESS"
JOB_FAIL = "FAIL"
