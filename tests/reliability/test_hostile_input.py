"""Hostile input: every bad value is refused, naming its parameter, before any request is sent.

One table of invalid inputs to the hook methods and to the operators (bad enums, out-of-range
bandwidths, both or neither of ``id``/``addrs``, malformed addresses, IDs that could leave their
path segment, empty and oversized strings, wrong types, whitelist abuse). Each row runs against the
real emulator and checks that a :class:`DcsValidationError` names the parameter (and, for enums and
ranges, the allowed values) and that the emulator's request log stays empty.

Operators refuse a value when the DAG is parsed (``rejected_by == "operator"``, stage
``construct``) when it holds no template; a templated value is refused once rendered, at the start
of ``execute`` (stage ``execute``: the test builds the operator with a Jinja placeholder and sets
the "rendered" value the way Airflow does before calling ``execute``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorProcess
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.exceptions import DcsError, DcsValidationError
from huaweicloud_dcs_provider.hooks.dcs import DcsHook
from huaweicloud_dcs_provider.operators.batch import (
    DcsBatchRestartMigrationTasksOperator,
    DcsBatchStopMigrationTasksOperator,
    DcsSetResumeModeOperator,
)
from huaweicloud_dcs_provider.operators.ip_switch import (
    DcsExchangeInstanceIpOperator,
    DcsRollbackInstanceIpOperator,
)
from huaweicloud_dcs_provider.operators.lifecycle import (
    DcsCreateOnlineMigrationTaskOperator,
    DcsDeleteMigrationTaskOperator,
    DcsStopMigrationTaskOperator,
)
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.operators.preflight import DcsMigrationPreflightOperator
from huaweicloud_dcs_provider.operators.whitelist import (
    DcsAdmitMigrationEcsToWhitelistOperator,
    DcsRemoveMigrationEcsFromWhitelistOperator,
)
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationLagSensor, DcsMigrationTaskSensor
from reliability import figures

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.05, max_total_seconds=5)
PASSWORD = "hostile-Redis-pass-9"
SOURCE = {"addrs": "10.0.0.1:6379", "password": PASSWORD}
TARGET = {"addrs": "10.0.0.2:6379"}
NETWORK = {"vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}
TEMPLATE = "{{ params.rendered_later }}"
METHOD_VALUES = "'full_amount_migration', 'incremental_migration'"
BANDWIDTH_RANGE = "1..10240"
ID_RULE = "letters, digits"
HOSTPORT = "port 1..65535"


@dataclass(frozen=True)
class Case:
    """One hostile input: what is called, which parameter the error must name."""

    case: str
    parameter: str
    call: Callable[[DcsHook], Any]
    rejected_by: str = "hook"
    #: Text the message must contain besides the parameter (the allowed values, for enums/ranges).
    allowed: str | None = None


# ------------------------------------------------------------------------------------------------
# Hook calls
# ------------------------------------------------------------------------------------------------


def configure(**changes: Any) -> Callable[[DcsHook], Any]:
    args: dict[str, Any] = {
        "migration_task_id": "task-1",
        "migration_method": "full_amount_migration",
        "resume_mode": "auto",
        "source_instance": SOURCE,
        "target_instance": TARGET,
        **changes,
    }
    task_id = args.pop("migration_task_id")
    return lambda hook: hook.configure_online_migration(task_id, **args)


def endless_ids() -> Any:
    """A generator of valid IDs that never ends: must be refused without reading it all."""
    return (f"t{i}" for i in itertools.count())


HOOK_CASES = [
    Case(
        "migration_method bogus",
        "migration_method",
        configure(migration_method="bogus"),
        allowed=METHOD_VALUES,
    ),
    Case(
        "migration_method None", "migration_method", configure(migration_method=None), allowed=METHOD_VALUES
    ),
    Case("migration_method upper", "migration_method", configure(migration_method="FULL_AMOUNT_MIGRATION")),
    Case("resume_mode AUTO", "resume_mode", configure(resume_mode="AUTO"), allowed="'auto', 'manual'"),
    Case("resume_mode 1", "resume_mode", configure(resume_mode=1), allowed="'auto', 'manual'"),
    *(
        Case(
            f"bandwidth {value!r}"[:60],
            "bandwidth_limit_mb",
            configure(bandwidth_limit_mb=value),
            allowed=BANDWIDTH_RANGE,
        )
        for value in (
            0,
            10241,
            -1,
            1.5,
            "abc",
            True,
            "",
            " ",
            "\u00b2",
            "\u0663",
            "1e3",
            "9" * 5000,
            [5],
            10**100,
        )
    ),
    Case(
        "instance both id and addrs",
        "source_instance",
        configure(source_instance={"id": "i-1", "addrs": "h:1"}),
    ),
    Case(
        "instance neither id nor addrs", "source_instance", configure(source_instance={"password": PASSWORD})
    ),
    Case("instance empty mapping", "target_instance", configure(target_instance={})),
    Case("instance not a mapping", "source_instance", configure(source_instance="10.0.0.1:6379")),
    Case("instance list", "target_instance", configure(target_instance=[("addrs", "h:1")])),
    Case(
        "instance unknown key", "target_instance", configure(target_instance={"addrs": "h:1", "passwd": "x"})
    ),
    Case("instance non-str key", "target_instance", configure(target_instance={"addrs": "h:1", 1: "x"})),
    Case(
        "instance password int",
        "source_instance.password",
        configure(source_instance={"addrs": "h:1", "password": 123}),
    ),
    *(
        Case(
            f"addrs {value!r}"[:60],
            "target_instance.addrs",
            configure(target_instance={"addrs": value}),
            allowed=HOSTPORT,
        )
        for value in (
            "host",
            "host:0",
            "host:65536",
            ":6379",
            "a b:1",
            "h:1,,h:2",
            "::1:6379",
            "fe80::1",
            "h:\u00b2",
            "h:63 79",
            "h:-1",
            "h:99999999999999999999",
            "h/x:1",
            "h%2F:1",
            "",
            "x" * 5000 + ":1",
            123,
        )
    ),
    *(
        Case(
            f"instance id {value!r}"[:60],
            "source_instance.id",
            configure(source_instance={"id": value}),
            allowed=ID_RULE,
        )
        for value in ("a/b", "..", "", 7)
    ),
    *(
        Case(
            f"task id {value!r}"[:60],
            "migration_task_id",
            (lambda v: lambda h: h.get_migration_task(v))(value),
            allowed=ID_RULE,
        )
        for value in (
            "a/b",
            "..",
            ".",
            "%2F",
            "a%2Fb",
            "a b",
            "",
            "\n",
            "abc\n",
            "t\u00e2che",
            "\uff0e\uff0e",
            "x" * 129,
            None,
            123,
            ["x"],
            b"task",
            "x?y",
            "x#y",
        )
    ),
    Case("stats id ../x", "migration_task_id", lambda h: h.get_migration_task_stats("../x")),
    Case("logs id x#y", "migration_task_id", lambda h: h.list_migration_task_logs("x#y")),
    Case(
        "logs level DEBUG",
        "log_level",
        lambda h: h.list_migration_task_logs("t", log_level="DEBUG"),
        allowed="'INFO', 'ERROR'",
    ),
    Case("stop id a/b", "migration_task_id", lambda h: h.stop_migration_task("a/b")),
    Case("stop sync id x?y", "migration_task_id", lambda h: h.stop_migration_task_sync("x?y")),
    Case("rollback id a/../b", "migration_task_id", lambda h: h.rollback_instance_ip("a/../b")),
    Case("job id j/1", "job_id", lambda h: h.get_job("j/1")),
    Case("whitelist instance ..", "instance_id", lambda h: h.get_whitelist("..")),
    Case("delete ids str", "migration_task_ids", lambda h: h.delete_migration_tasks("task-1")),
    Case("delete ids empty", "migration_task_ids", lambda h: h.delete_migration_tasks([])),
    Case("delete ids dict", "migration_task_ids", lambda h: h.delete_migration_tasks({"t1": 1})),
    Case("delete ids None", "migration_task_ids", lambda h: h.delete_migration_tasks(None)),
    Case("delete ids with ../x", "migration_task_ids", lambda h: h.delete_migration_tasks(["ok", "../x"])),
    Case(
        "batch stop 51 ids",
        "migration_task_ids",
        lambda h: h.batch_stop_migration_tasks([f"t{i}" for i in range(51)]),
        allowed="at most 50",
    ),
    Case(
        "batch stop endless ids",
        "migration_task_ids",
        lambda h: h.batch_stop_migration_tasks(endless_ids()),
        allowed="at most 50",
    ),
    Case("batch restart [None]", "migration_task_ids", lambda h: h.batch_restart_migration_tasks([None])),
    Case(
        "resume mode sometimes",
        "resume_mode",
        lambda h: h.set_resume_mode("t", "sometimes"),
        allowed="'auto', 'manual'",
    ),
    Case("resume mode task id", "migration_task_id", lambda h: h.set_resume_mode("t/1", "auto")),
    Case(
        "exchange ip not an ip",
        "exchanged_ip",
        lambda h: h.exchange_instance_ip("t", exchanged_ip=["no-ip"], is_exchange_domain=False),
    ),
    Case(
        "exchange ip 0.0.0.0",
        "exchanged_ip",
        lambda h: h.exchange_instance_ip("t", exchanged_ip=["0.0.0.0"], is_exchange_domain=False),
    ),
    Case(
        "exchange ip string",
        "exchanged_ip",
        lambda h: h.exchange_instance_ip("t", exchanged_ip="10.0.0.1", is_exchange_domain=False),
    ),
    Case(
        "exchange ip empty",
        "exchanged_ip",
        lambda h: h.exchange_instance_ip("t", exchanged_ip=[], is_exchange_domain=False),
    ),
    Case(
        "exchange domain 'no'",
        "is_exchange_domain",
        lambda h: h.exchange_instance_ip("t", exchanged_ip=["10.0.0.1"], is_exchange_domain="no"),
        allowed="True, False",
    ),
    *(
        Case(
            f"whitelist {name}",
            parameter,
            (lambda w: lambda h: h.replace_whitelist("i-1", enable_whitelist=True, whitelist=w))(whitelist),
        )
        for name, parameter, whitelist in (
            ("0.0.0.0/0", "whitelist[0].ip_list", [{"group_name": "g", "ip_list": ["0.0.0.0/0"]}]),
            ("::/0", "whitelist[0].ip_list", [{"group_name": "g", "ip_list": ["::/0"]}]),
            ("0.0.0.0/00", "whitelist[0].ip_list", [{"group_name": "g", "ip_list": ["0.0.0.0/00"]}]),
            ("5 groups", "whitelist", [{"group_name": f"g{i}", "ip_list": ["10.0.0.1"]} for i in range(5)]),
            ("21 ips", "whitelist", [{"group_name": "g", "ip_list": [f"10.0.0.{i}" for i in range(1, 22)]}]),
            ("100k ips", "whitelist[0].ip_list", [{"group_name": "g", "ip_list": ["10.0.0.1"] * 100_000}]),
            ("empty group name", "whitelist[0].group_name", [{"group_name": "", "ip_list": ["10.0.0.1"]}]),
            (
                "long group name",
                "whitelist[0].group_name",
                [{"group_name": "g" * 65, "ip_list": ["10.0.0.1"]}],
            ),
            ("extra key", "whitelist[0]", [{"group_name": "g", "ip_list": ["10.0.0.1"], "x": 1}]),
            ("a string", "whitelist", "10.0.0.1"),
            ("a mapping", "whitelist", {"group_name": "g", "ip_list": ["10.0.0.1"]}),
        )
    ),
    Case(
        "whitelist enable 'true'",
        "enable_whitelist",
        lambda h: h.replace_whitelist("i-1", enable_whitelist="true", whitelist=[]),
    ),
    Case(
        "whitelist instance a/b",
        "instance_id",
        lambda h: h.replace_whitelist("a/b", enable_whitelist=False, whitelist=[]),
    ),
    Case(
        "create poll_interval negative",
        "poll_interval",
        lambda h: h.create_online_migration_task(name="n", poll_interval=-1, **NETWORK),
    ),
    Case(
        "create timeout zero",
        "timeout",
        lambda h: h.create_online_migration_task(name="n", timeout=0, **NETWORK),
    ),
    Case("list page_size 0", "page_size", lambda h: h.list_migration_tasks(page_size=0)),
    Case("logs page_size 1001", "page_size", lambda h: h.list_migration_task_logs("task-1", page_size=1001)),
    Case("create name empty", "name", lambda h: h.create_online_migration_task(name="", **NETWORK)),
    Case("create name blank", "name", lambda h: h.create_online_migration_task(name="   ", **NETWORK)),
    Case("create name None", "name", lambda h: h.create_online_migration_task(name=None, **NETWORK)),
    Case(
        "create name 65 chars",
        "name",
        lambda h: h.create_online_migration_task(name="n" * 65, **NETWORK),
        allowed="at most 64",
    ),
    Case("create name newline", "name", lambda h: h.create_online_migration_task(name="a\nb", **NETWORK)),
    Case(
        "create vpc a/b",
        "vpc_id",
        lambda h: h.create_online_migration_task(
            name="n", vpc_id="v/1", subnet_id="s", security_group_id="g"
        ),
    ),
    Case(
        "create subnet space",
        "subnet_id",
        lambda h: h.create_online_migration_task(
            name="n", vpc_id="v", subnet_id="s 1", security_group_id="g"
        ),
    ),
    Case(
        "create sg empty",
        "security_group_id",
        lambda h: h.create_online_migration_task(name="n", vpc_id="v", subnet_id="s", security_group_id=""),
    ),
    Case(
        "create description 1 MB",
        "description",
        lambda h: h.create_online_migration_task(name="n", description="d" * 1_000_000, **NETWORK),
        allowed="at most 1024",
    ),
    Case(
        "create description NUL",
        "description",
        lambda h: h.create_online_migration_task(name="n", description="a\x00b", **NETWORK),
    ),
    Case(
        "create description int",
        "description",
        lambda h: h.create_online_migration_task(name="n", description=5, **NETWORK),
    ),
    Case(
        "backup files list",
        "backup_files",
        lambda h: h.create_backup_import_task(
            task_name="b", target_instance={"id": "i-1"}, backup_files=["x"]
        ),
    ),
    Case(
        "backup file_source ftp",
        "backup_files.file_source",
        lambda h: h.create_backup_import_task(
            task_name="b", target_instance={"id": "i-1"}, backup_files={"file_source": "ftp"}
        ),
    ),
    Case(
        "backup target addrs",
        "target_instance",
        lambda h: h.create_backup_import_task(
            task_name="b", target_instance={"addrs": "h:1"}, backup_files={"file_source": "backup_record"}
        ),
    ),
    Case("list name empty", "name", lambda h: h.list_migration_tasks(name="")),
    Case("list name 65", "name", lambda h: h.list_migration_tasks(name="n" * 65)),
]


# ------------------------------------------------------------------------------------------------
# Operators
# ------------------------------------------------------------------------------------------------


def op_configure(**changes: Any) -> DcsConfigureOnlineMigrationOperator:
    kwargs: dict[str, Any] = {
        "migration_task_id": "task-1",
        "migration_method": "full_amount_migration",
        "resume_mode": "manual",
        "source_instance": {"addrs": "10.0.0.1:6379", "password": PASSWORD},
        "target_instance": {"addrs": "10.0.0.2:6379"},
        "deferrable": False,
        **changes,
    }
    return DcsConfigureOnlineMigrationOperator(task_id="configure", **kwargs)


def op_create(**changes: Any) -> DcsCreateOnlineMigrationTaskOperator:
    kwargs: dict[str, Any] = {"migration_task_name": "mig", **NETWORK, **changes}
    return DcsCreateOnlineMigrationTaskOperator(task_id="create", **kwargs)


def constructing(build: Callable[[], Any]) -> Callable[[DcsHook], Any]:
    """Refused when the operator is built (the DAG is parsed)."""
    return lambda hook: build()


def rendered(build: Callable[[], Any], **values: Any) -> Callable[[DcsHook], Any]:
    """Built with templates, then the rendered ``values`` set (as Airflow does) and executed."""

    def run(hook: DcsHook) -> Any:
        from airflow_fixtures import make_context

        operator = build()
        for name, value in values.items():
            setattr(operator, name, value)
        return operator.execute(make_context())

    return run


OPERATOR_CASES = [
    # construction (literal values)
    Case(
        "configure op method bogus",
        "migration_method",
        constructing(lambda: op_configure(migration_method="bogus")),
        "operator",
        METHOD_VALUES,
    ),
    Case(
        "configure op resume AUTO",
        "resume_mode",
        constructing(lambda: op_configure(resume_mode="AUTO")),
        "operator",
        "'auto', 'manual'",
    ),
    Case(
        "configure op bandwidth 0",
        "bandwidth_limit_mb",
        constructing(lambda: op_configure(bandwidth_limit_mb=0)),
        "operator",
        BANDWIDTH_RANGE,
    ),
    Case(
        "configure op bandwidth 10241",
        "bandwidth_limit_mb",
        constructing(lambda: op_configure(bandwidth_limit_mb=10241)),
        "operator",
        BANDWIDTH_RANGE,
    ),
    Case(
        "configure op bandwidth 1.5",
        "bandwidth_limit_mb",
        constructing(lambda: op_configure(bandwidth_limit_mb=1.5)),
        "operator",
        BANDWIDTH_RANGE,
    ),
    Case(
        "configure op task id ../x",
        "migration_task_id",
        constructing(lambda: op_configure(migration_task_id="../x")),
        "operator",
        ID_RULE,
    ),
    Case(
        "configure op both id addrs",
        "source_instance",
        constructing(lambda: op_configure(source_instance={"id": "i-1", "addrs": "h:1"})),
        "operator",
    ),
    Case(
        "configure op neither",
        "target_instance",
        constructing(lambda: op_configure(target_instance={"password_conn_id": "redis_source"})),
        "operator",
    ),
    Case(
        "configure op addrs host:0",
        "target_instance.addrs",
        constructing(lambda: op_configure(target_instance={"addrs": "host:0"})),
        "operator",
        HOSTPORT,
    ),
    Case(
        "configure op password int",
        "source_instance.password",
        constructing(lambda: op_configure(source_instance={"addrs": "h:1", "password": 5})),
        "operator",
    ),
    Case(
        "configure op password_conn_id int",
        "source_instance.password_conn_id",
        constructing(lambda: op_configure(source_instance={"addrs": "h:1", "password_conn_id": 7})),
        "operator",
        "'' for a Redis without a password",
    ),
    Case(
        "configure op unknown status",
        "success_statuses",
        constructing(lambda: op_configure(success_statuses=["FINISHED"])),
        "operator",
        "unknown status",
    ),
    Case("configure op timeout -1", "timeout", constructing(lambda: op_configure(timeout=-1)), "operator"),
    Case(
        "configure op poll nan",
        "poll_interval",
        constructing(lambda: op_configure(poll_interval=float("nan"))),
        "operator",
    ),
    Case(
        "create op name empty",
        "migration_task_name",
        constructing(lambda: op_create(migration_task_name="")),
        "operator",
    ),
    Case(
        "create op name 65",
        "migration_task_name",
        constructing(lambda: op_create(migration_task_name="n" * 65)),
        "operator",
        "at most 64",
    ),
    Case(
        "create op vpc space", "vpc_id", constructing(lambda: op_create(vpc_id="vpc 1")), "operator", ID_RULE
    ),
    Case(
        "create op description 2k",
        "description",
        constructing(lambda: op_create(description="d" * 2048)),
        "operator",
        "at most 1024",
    ),
    Case(
        "stop op id a/b",
        "migration_task_id",
        constructing(lambda: DcsStopMigrationTaskOperator(task_id="s", migration_task_id="a/b")),
        "operator",
    ),
    Case(
        "delete op id %2F",
        "migration_task_id",
        constructing(lambda: DcsDeleteMigrationTaskOperator(task_id="d", migration_task_id="%2F")),
        "operator",
    ),
    Case(
        "delete op id None",
        "migration_task_id",
        constructing(lambda: DcsDeleteMigrationTaskOperator(task_id="d", migration_task_id=None)),
        "operator",
    ),
    Case(
        "exchange op id ..",
        "migration_task_id",
        constructing(lambda: DcsExchangeInstanceIpOperator(task_id="x", migration_task_id="..")),
        "operator",
    ),
    Case(
        "exchange op ip 0.0.0.0",
        "exchanged_ip",
        constructing(
            lambda: DcsExchangeInstanceIpOperator(
                task_id="x", migration_task_id="t", exchanged_ip=["0.0.0.0"]
            )
        ),
        "operator",
    ),
    Case(
        "exchange op domain 'yes'",
        "is_exchange_domain",
        constructing(
            lambda: DcsExchangeInstanceIpOperator(
                task_id="x", migration_task_id="t", is_exchange_domain="yes"
            )
        ),
        "operator",
    ),
    Case(
        "rollback op id empty",
        "migration_task_id",
        constructing(lambda: DcsRollbackInstanceIpOperator(task_id="r", migration_task_id="")),
        "operator",
    ),
    Case(
        "admit op instance a/b",
        "instance_ids",
        constructing(
            lambda: DcsAdmitMigrationEcsToWhitelistOperator(
                task_id="a", migration_task_id="t", instance_ids=["a/b"]
            )
        ),
        "operator",
    ),
    Case(
        "admit op group empty",
        "group_name",
        constructing(
            lambda: DcsAdmitMigrationEcsToWhitelistOperator(task_id="a", migration_task_id="t", group_name="")
        ),
        "operator",
    ),
    Case(
        "admit op enable 'yes'",
        "enable_whitelist",
        constructing(
            lambda: DcsAdmitMigrationEcsToWhitelistOperator(
                task_id="a", migration_task_id="t", enable_whitelist="yes"
            )
        ),
        "operator",
    ),
    Case(
        "remove op admitted no instance_id",
        "admitted.changed[0].instance_id",
        constructing(
            lambda: DcsRemoveMigrationEcsFromWhitelistOperator(
                task_id="r", admitted={"ip": "10.0.0.5", "changed": [{}]}
            )
        ),
        "operator",
    ),
    Case(
        "remove op admitted bad ip",
        "admitted.ip",
        constructing(
            lambda: DcsRemoveMigrationEcsFromWhitelistOperator(task_id="r", admitted={"ip": "10.0.0.500"})
        ),
        "operator",
    ),
    Case(
        "remove op neither",
        "admitted",
        constructing(lambda: DcsRemoveMigrationEcsFromWhitelistOperator(task_id="r")),
        "operator",
    ),
    Case(
        "resume op AUTO",
        "resume_mode",
        constructing(
            lambda: DcsSetResumeModeOperator(task_id="m", migration_task_id="t", resume_mode="AUTO")
        ),
        "operator",
        "'auto', 'manual'",
    ),
    Case(
        "batch stop op a/b",
        "migration_task_ids",
        constructing(lambda: DcsBatchStopMigrationTasksOperator(task_id="b", migration_task_ids="a/b,c")),
        "operator",
    ),
    Case(
        "batch restart op 51",
        "migration_task_ids",
        constructing(
            lambda: DcsBatchRestartMigrationTasksOperator(
                task_id="b", migration_task_ids=[f"t{i}" for i in range(51)]
            )
        ),
        "operator",
        "at most 50",
    ),
    Case(
        "batch restart op status",
        "success_statuses",
        constructing(
            lambda: DcsBatchRestartMigrationTasksOperator(
                task_id="b", migration_task_ids=["t"], success_statuses=["DONE"]
            )
        ),
        "operator",
    ),
    Case(
        "sensor id space",
        "migration_task_id",
        constructing(lambda: DcsMigrationTaskSensor(task_id="w", migration_task_id="x y")),
        "operator",
    ),
    Case(
        "sensor status FINISHED",
        "success_statuses",
        constructing(
            lambda: DcsMigrationTaskSensor(task_id="w", migration_task_id="x", success_statuses=["FINISHED"])
        ),
        "operator",
        "unknown status",
    ),
    Case(
        "sensor status int",
        "success_statuses",
        constructing(
            lambda: DcsMigrationTaskSensor(task_id="w", migration_task_id="x", success_statuses=[1])
        ),
        "operator",
    ),
    Case(
        "sensor poke 0 deferrable",
        "poke_interval",
        constructing(lambda: DcsMigrationTaskSensor(task_id="w", migration_task_id="x", poke_interval=0)),
        "operator",
    ),
    Case(
        "lag sensor max_offset -1",
        "max_offset",
        constructing(lambda: DcsMigrationLagSensor(task_id="w", migration_task_id="x", max_offset=-1)),
        "operator",
        ">= 0",
    ),
    Case(
        "preflight addrs host:0",
        "target_instance.addrs",
        rendered(
            lambda: DcsMigrationPreflightOperator(
                task_id="p", source_instance={"id": "i-1"}, target_instance={"addrs": "h:0"}
            )
        ),
        "operator",
        HOSTPORT,
    ),
    # at the start of execute (templated values, once rendered)
    Case(
        "configure op rendered method",
        "migration_method",
        rendered(lambda: op_configure(migration_method=TEMPLATE), migration_method="bogus"),
        "operator",
        METHOD_VALUES,
    ),
    Case(
        "configure op rendered resume",
        "resume_mode",
        rendered(lambda: op_configure(resume_mode=TEMPLATE), resume_mode="always"),
        "operator",
        "'auto', 'manual'",
    ),
    Case(
        "configure op rendered bandwidth",
        "bandwidth_limit_mb",
        rendered(lambda: op_configure(bandwidth_limit_mb=TEMPLATE), bandwidth_limit_mb="10241"),
        "operator",
        BANDWIDTH_RANGE,
    ),
    Case(
        "configure op rendered task id",
        "migration_task_id",
        rendered(lambda: op_configure(migration_task_id=TEMPLATE), migration_task_id="a/b"),
        "operator",
        ID_RULE,
    ),
    Case(
        "configure op rendered instance",
        "source_instance",
        rendered(
            lambda: op_configure(source_instance=TEMPLATE), source_instance={"id": "i-1", "addrs": "h:1"}
        ),
        "operator",
    ),
    Case(
        "configure op rendered addrs",
        "target_instance.addrs",
        rendered(
            lambda: op_configure(target_instance={"addrs": TEMPLATE}), target_instance={"addrs": "a b:1"}
        ),
        "operator",
        HOSTPORT,
    ),
    Case(
        "configure op rendered not mapping",
        "target_instance",
        rendered(lambda: op_configure(target_instance=TEMPLATE), target_instance="h:1"),
        "operator",
    ),
    Case(
        "create op rendered name",
        "migration_task_name",
        rendered(lambda: op_create(migration_task_name=TEMPLATE), migration_task_name=""),
        "operator",
    ),
    Case(
        "create op rendered vpc",
        "vpc_id",
        rendered(lambda: op_create(vpc_id=TEMPLATE), vpc_id="v/1"),
        "operator",
    ),
    Case(
        "create op rendered reuse name",
        "migration_task_name",
        rendered(
            lambda: op_create(migration_task_name=TEMPLATE, reuse_existing=True), migration_task_name="n" * 65
        ),
        "operator",
    ),
    Case(
        "stop op rendered ../x",
        "migration_task_id",
        rendered(
            lambda: DcsStopMigrationTaskOperator(task_id="s", migration_task_id=TEMPLATE),
            migration_task_id="../x",
        ),
        "operator",
    ),
    Case(
        "delete op rendered a b",
        "migration_task_id",
        rendered(
            lambda: DcsDeleteMigrationTaskOperator(task_id="d", migration_task_id=TEMPLATE),
            migration_task_id="a b",
        ),
        "operator",
    ),
    Case(
        "exchange op rendered ips",
        "exchanged_ip",
        rendered(
            lambda: DcsExchangeInstanceIpOperator(task_id="x", migration_task_id="t", exchanged_ip=TEMPLATE),
            exchanged_ip="10.0.0.1,nope",
        ),
        "operator",
    ),
    Case(
        "rollback op rendered id",
        "migration_task_id",
        rendered(
            lambda: DcsRollbackInstanceIpOperator(task_id="r", migration_task_id=TEMPLATE),
            migration_task_id="x#y",
        ),
        "operator",
    ),
    Case(
        "admit op rendered instances",
        "instance_ids",
        rendered(
            lambda: DcsAdmitMigrationEcsToWhitelistOperator(
                task_id="a", migration_task_id="t", instance_ids=TEMPLATE
            ),
            instance_ids=["../i"],
        ),
        "operator",
    ),
    Case(
        "admit op rendered group",
        "group_name",
        rendered(
            lambda: DcsAdmitMigrationEcsToWhitelistOperator(
                task_id="a", migration_task_id="t", group_name=TEMPLATE
            ),
            group_name="g" * 65,
        ),
        "operator",
    ),
    Case(
        "remove op rendered admitted",
        "admitted.changed[0].instance_id",
        rendered(
            lambda: DcsRemoveMigrationEcsFromWhitelistOperator(task_id="r", admitted=TEMPLATE),
            admitted={"ip": "10.0.0.5", "changed": [{"instance_id": "../x"}]},
        ),
        "operator",
    ),
    Case(
        "remove op rendered instances",
        "instance_ids",
        rendered(
            lambda: DcsRemoveMigrationEcsFromWhitelistOperator(
                task_id="r", migration_task_id="t", instance_ids=TEMPLATE
            ),
            instance_ids="i-1",
        ),
        "operator",
    ),
    Case(
        "resume op rendered never",
        "resume_mode",
        rendered(
            lambda: DcsSetResumeModeOperator(task_id="m", migration_task_id="t", resume_mode=TEMPLATE),
            resume_mode="never",
        ),
        "operator",
        "'auto', 'manual'",
    ),
    Case(
        "batch stop op rendered",
        "migration_task_ids",
        rendered(
            lambda: DcsBatchStopMigrationTasksOperator(task_id="b", migration_task_ids=TEMPLATE),
            migration_task_ids="a,b/c",
        ),
        "operator",
    ),
    Case(
        "batch restart op rendered empty",
        "migration_task_ids",
        rendered(
            lambda: DcsBatchRestartMigrationTasksOperator(task_id="b", migration_task_ids=TEMPLATE),
            migration_task_ids="",
        ),
        "operator",
    ),
    Case(
        "sensor rendered ..",
        "migration_task_id",
        rendered(
            lambda: DcsMigrationTaskSensor(task_id="w", migration_task_id=TEMPLATE), migration_task_id=".."
        ),
        "operator",
    ),
    Case(
        "sensor poke rendered %2F",
        "migration_task_id",
        rendered(
            lambda: DcsMigrationTaskSensor(
                task_id="w", migration_task_id=TEMPLATE, deferrable=False, timeout=1, poke_interval=0.1
            ),
            migration_task_id="%2F",
        ),
        "operator",
    ),
]

CASES = HOOK_CASES + OPERATOR_CASES


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.case for case in CASES}) == len(CASES), "case names must be unique"
    assert len({case.parameter for case in CASES}) >= 25


@pytest.mark.parametrize("case", CASES, ids=[case.case for case in CASES])
def test_hostile_input_is_refused_before_any_request(
    case: Case, emulator_conn_env: EmulatorProcess, emulator_admin: EmulatorAdmin
) -> None:
    hook = DcsHook(retry_policy=FAST_RETRY)
    with pytest.raises(DcsError) as info:
        case.call(hook)
    error = info.value
    assert isinstance(error, DcsValidationError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert error.parameter == case.parameter, message
    assert message.startswith(f"invalid {case.parameter}: "), message
    if case.allowed is not None:
        assert case.allowed in message, message
    assert len(message) < 600, "an oversized value is quoted cut short"
    assert PASSWORD not in message
    assert PASSWORD not in repr(error)
    sent = emulator_admin.requests()
    assert sent == [], f"requests were sent: {[r.get('path') for r in sent]}"
    figures.record(
        "hostile_input",
        {
            "case": case.case,
            "parameter": case.parameter,
            "rejected_by": case.rejected_by,
            "requests_sent": len(sent),
            "message": message[:100],
        },
    )
