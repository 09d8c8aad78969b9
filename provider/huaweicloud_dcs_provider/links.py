"""The "DCS Migration Task" extra link: the task's page in the Huawei Cloud console.

The URL is computed when the operator runs (from the connection's region) and pushed to XCom
under :data:`CONSOLE_URL_XCOM_KEY`, which is also the link's ``xcom_key``. Showing the link reads
that XCom only: no API call and no connection lookup at UI render time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from huaweicloud_dcs_provider.compat import BaseOperatorLink

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.compat import Context

#: XCom key of the console URL (also read by the Airflow UI for the extra link).
CONSOLE_URL_XCOM_KEY = "dcs_console_url"
#: XCom key of the migration task id, pushed before any wait.
TASK_ID_XCOM_KEY = "migration_task_id"

#: The console's DCS page of a region; the fragment route of a migration task follows the
#: console's instance-list route (``#/dcs/manager/cacheList``). Huawei documents neither route,
#: so this is a best guess that at worst opens the DCS console of the right region.
CONSOLE_URL_TEMPLATE = (
    "https://console.huaweicloud.com/dcs/?region={region}#/dcs/migration/detail?taskId={task_id}"
)
_REGION_FROM_HOST = re.compile(r"^dcs\.([a-z]{2,}(?:-[a-z0-9]+)+)\.myhuaweicloud\.(?:com|eu)$")


def console_url(region: str | None, migration_task_id: str, endpoint: str | None = None) -> str | None:
    """The console URL of a migration task, or ``None`` when the region is unknown.

    :param region: the connection's region (extra ``region``); when missing it is read from a
        standard endpoint such as ``https://dcs.ap-southeast-1.myhuaweicloud.com``.
    :param migration_task_id: the task.
    :param endpoint: the connection's endpoint URL.
    """
    if not region and endpoint:
        match = _REGION_FROM_HOST.match(urlsplit(endpoint).hostname or "")
        region = match.group(1) if match else None
    if not region or not migration_task_id:
        return None
    return CONSOLE_URL_TEMPLATE.format(
        region=quote(region, safe=""), task_id=quote(migration_task_id, safe="")
    )


class DcsMigrationTaskLink(BaseOperatorLink):
    """Opens the migration task in the Huawei Cloud DCS console."""

    name = "DCS Migration Task"

    @property
    def xcom_key(self) -> str:
        """The XCom key the operator pushes the URL under."""
        return CONSOLE_URL_XCOM_KEY

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The URL pushed by the operator ('' before it ran or when the region was unknown)."""
        from airflow.providers.common.compat.sdk import XCom

        # Airflow 3 asks in the worker, once the task ended, and logs an error for an XCom that is
        # not there; some operators have no migration task to link to (a delete, a pre-flight) and
        # push none. Asking for all of the task's values first answers "none" without that error.
        get_all = getattr(XCom, "get_all", None)  # Airflow 3 (task SDK) only
        if get_all is not None:
            try:
                pushed = get_all(
                    key=self.xcom_key, dag_id=ti_key.dag_id, task_id=ti_key.task_id, run_id=ti_key.run_id
                )
            except (TypeError, AttributeError):  # another task SDK's signature, another key: ask
                pushed = True
            if not pushed:
                return ""
        value = XCom.get_value(ti_key=ti_key, key=self.xcom_key)
        return value if isinstance(value, str) else ""

    @staticmethod
    def persist(context: Context, url: str | None) -> None:
        """Push the console URL for this task instance ('' when it is unknown).

        Always pushed by an operator that has a migration task, so the link lookup Airflow does
        after the task finds a value (one that has none is answered without a lookup).
        """
        context["ti"].xcom_push(key=CONSOLE_URL_XCOM_KEY, value=url or "")
