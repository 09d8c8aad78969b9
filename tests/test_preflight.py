"""The pre-flight check against real ``redis-server`` processes, each configured to break one rule.

Every rule of ``datacheck.preflight_rules`` is broken on purpose (``rename-command``, ACL rules,
``repl-timeout``, output buffer limits, keys outside DB0 into a one-node Redis Cluster, a non-empty
or small target, a password with a single quote) and its row checked; DCS instances (``id``) are
registered in the emulator (versions, ``cache_mode``, ports) and looked up through its API. Also:
the one table in the log, the XCom, refused input, and no password anywhere.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from huaweicloud_dcs_provider.datacheck import preflight_rules as rules
from huaweicloud_dcs_provider.datacheck.preflight_reasons import MIB
from huaweicloud_dcs_provider.datacheck.preflight_rules import NodeFacts, SideFacts
from huaweicloud_dcs_provider.exceptions import DcsError, DcsValidationError
from huaweicloud_dcs_provider.operators.preflight import DcsMigrationPreflightOperator

if TYPE_CHECKING:
    from huaweicloud_dcs_emulator.testing import EmulatorAdmin
    from redis_servers import RedisServer

pytest_plugins = ["airflow_fixtures", "redis_servers"]
pytestmark = pytest.mark.integration

Factory = Callable[..., "RedisServer"]
RULE_IDS = [
    "source-reachable",
    "target-reachable",
    "sync-psync",
    "repl-timeout",
    "replica-buffer",
    "versions",
    "proxy-source",
    "multi-db-cluster",
    "target-empty",
    "target-memory",
    "password-quote",
]
#: A source tuned as Huawei advises (the other settings are redis-server's defaults).
TUNED = ["repl-timeout 300"]


def context() -> dict[str, Any]:
    from airflow_fixtures import make_context

    return make_context()


def preflight(source: Any, target: Any, **kwargs: Any) -> DcsMigrationPreflightOperator:
    kwargs.setdefault("socket_timeout", 2)
    return DcsMigrationPreflightOperator(
        task_id="pf", source_instance=source, target_instance=target, **kwargs
    )


def passes(source: Any, target: Any, **kwargs: Any) -> dict[str, dict[str, str]]:
    """Run the check, which must pass; its rows by rule id."""
    report = preflight(source, target, **kwargs).execute(context())
    assert report["passed"] is True
    return {row["rule"]: row for row in report["rules"]}


def fails(source: Any, target: Any, **kwargs: Any) -> tuple[str, dict[str, dict[str, str]]]:
    """Run the check, which must fail; the error message and the rows (pushed as XCom)."""
    ctx = context()
    with pytest.raises(DcsError) as info:
        preflight(source, target, **kwargs).execute(ctx)
    report = ctx["ti"].pushed["preflight"]
    assert report["passed"] is False
    return str(info.value), {row["rule"]: row for row in report["rules"]}


def conn(monkeypatch: pytest.MonkeyPatch, name: str, server: RedisServer) -> dict[str, str]:
    """``{"addrs", "password_conn_id"}`` of ``server``, its password in an Airflow connection."""
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{name.upper()}",
        json.dumps({"conn_type": "generic", "host": server.host, "password": server.password}),
    )
    return {"addrs": server.addrs, "password_conn_id": name}


def one_node_cluster(factory: Factory) -> RedisServer:
    """A Redis Cluster of one primary holding every slot (its bus on a port of its own: the
    default, port + 10000, does not exist above 55535)."""
    from redis_servers import free_port

    server = factory(None, extra_config=["cluster-enabled yes", f"cluster-port {free_port()}"])
    with server.client() as client:
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        deadline = time.monotonic() + 10
        while b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO", NEVER_DECODE=True):
            assert time.monotonic() < deadline, "the one-node cluster did not become ok"
            time.sleep(0.05)
    return server


def dcs(admin: EmulatorAdmin, addrs: str | None = None, **fields: Any) -> dict[str, str]:
    """A DCS instance registered in the emulator (``addrs``: where its Redis answers)."""
    instance_id = f"dcs-{uuid.uuid4()}"
    admin.add_instance(instance_id, addrs=addrs, **fields)
    return {"id": instance_id}


# ------------------------------------------------------------------------------------------------
# A well-prepared pair: every rule passes; the table and the XCom
# ------------------------------------------------------------------------------------------------


def test_a_prepared_pair_passes_every_rule_with_one_table_and_the_xcom(
    redis_server_factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = redis_server_factory(f"src-{secrets.token_urlsafe(12)}", extra_config=TUNED)
    target = redis_server_factory(f"dst-{secrets.token_urlsafe(12)}")
    source.client().set("k", "v" * 1000)
    source.client(db=2).set("k", "v")
    caplog.set_level("INFO")

    report = preflight(conn(monkeypatch, "pf_src", source), conn(monkeypatch, "pf_dst", target)).execute(
        context()
    )

    assert report["passed"] is True
    assert [row["rule"] for row in report["rules"]] == RULE_IDS
    assert {row["result"] for row in report["rules"]} == {"pass"}, report["rules"]
    for row in report["rules"]:
        assert set(row) == {"rule", "result", "detail", "why", "action"}
        assert row["why"]
        assert row["detail"]
    figures = report["figures"]
    assert figures["source_used_memory"] > 0
    assert figures["target_keys"] == 0
    assert figures["target_maxmemory"] is None  # no maxmemory: unlimited
    assert figures["skipped"] == []
    assert figures["source_keys"] == {"db0": 1, "db2": 1}
    assert figures["source_version"] == figures["target_version"]
    json.dumps(report)  # an XCom: JSON as it is

    # Airflow 3 logs through structlog (stdout here); Airflow 2 through logging, which both caplog
    # and the console handler see: look in one of them.
    out = capsys.readouterr().out
    text = caplog.text if "Pre-flight checks:" in caplog.text else out
    assert text.count("Pre-flight checks: 11 pass") == 1  # one message, the whole table
    lines = [line for line in text.splitlines() if line.split(" ", 1)[0] in RULE_IDS]
    header = next(line for line in text.splitlines() if "RULE" in line and "RESULT" in line)
    column = header.index("RESULT") - header.index("RULE")
    assert len(lines) == len(RULE_IDS)
    for line in lines:
        assert line[column : column + 4] == "PASS", line  # aligned
    for secret in (source.password, target.password):
        assert secret not in caplog.text + out + json.dumps(report)


# ------------------------------------------------------------------------------------------------
# Rule by rule, on servers configured to break it
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("directive", "named"), [('rename-command SYNC ""', "SYNC"), ('rename-command PSYNC "psync-x"', "PSYNC")]
)
def test_sync_or_psync_renamed_or_disabled_fails(
    redis_server_factory: Factory, directive: str, named: str
) -> None:
    source = redis_server_factory(None, extra_config=[*TUNED, directive])
    target = redis_server_factory(None)
    message, rows = fails({"addrs": source.addrs}, {"addrs": target.addrs})
    assert rows["sync-psync"]["result"] == "fail"
    assert rows["sync-psync"]["detail"].startswith(f"{named} renamed or disabled on {source.addrs}")
    assert "sync-psync:" in message
    assert "rename-command" in message


def test_an_acl_denying_psync_fails_and_an_unreadable_acl_warns(redis_server_factory: Factory) -> None:
    source = redis_server_factory(None, extra_config=TUNED)
    target = redis_server_factory(None)
    source.client().execute_command("ACL", "SETUSER", "default", "-psync")
    _message, rows = fails({"addrs": source.addrs}, {"addrs": target.addrs})
    assert rows["sync-psync"]["result"] == "fail"
    assert rows["sync-psync"]["detail"] == "the ACL denies PSYNC (ACL user 'default')"
    assert "ACL SETUSER" in rows["sync-psync"]["action"]

    source.client().execute_command("ACL", "SETUSER", "default", "+psync", "-acl")  # may not ask
    rows = passes({"addrs": source.addrs}, {"addrs": target.addrs})
    assert rows["sync-psync"]["result"] == "warn"
    assert "could not check" in rows["sync-psync"]["detail"]
    assert "ACL check refused" in rows["sync-psync"]["detail"]


def test_a_hidden_command_command_leaves_sync_unchecked(redis_server_factory: Factory) -> None:
    source = redis_server_factory(None, extra_config=[*TUNED, 'rename-command COMMAND ""'])
    target = redis_server_factory(None)
    rows = passes({"addrs": source.addrs}, {"addrs": target.addrs})
    assert rows["sync-psync"]["result"] == "warn"
    assert "COMMAND INFO refused" in rows["sync-psync"]["detail"]


def test_short_repl_timeout_and_small_replica_buffer_warn_only(redis_server_factory: Factory) -> None:
    source = redis_server_factory(
        None,
        extra_config=["repl-timeout 30", "maxmemory 100mb", "client-output-buffer-limit replica 1mb 1mb 60"],
    )
    target = redis_server_factory(None)
    rows = passes({"addrs": source.addrs}, {"addrs": target.addrs})
    assert rows["repl-timeout"]["result"] == "warn"
    assert rows["repl-timeout"]["detail"] == f"repl-timeout 30 s on {source.addrs} (advised: 300 s)"
    assert "Disconnecting timedout slave" in rows["repl-timeout"]["why"]
    assert rows["replica-buffer"]["result"] == "warn"
    assert "hard 1 MiB / soft 1 MiB" in rows["replica-buffer"]["detail"]
    assert "maxmemory 100 MiB, i.e. 20 MiB" in rows["replica-buffer"]["detail"]

    # 0 means unlimited; without maxmemory the share is of the used memory (about 1 MiB here).
    source.client().config_set("client-output-buffer-limit", "replica 0 0 0")
    source.client().config_set("repl-timeout", "300")
    rows = passes({"addrs": source.addrs}, {"addrs": target.addrs})
    assert rows["repl-timeout"]["result"] == rows["replica-buffer"]["result"] == "pass"


def test_a_renamed_config_command_leaves_the_tuning_unchecked(redis_server_factory: Factory) -> None:
    source = redis_server_factory(None, extra_config=['rename-command CONFIG ""'])
    target = redis_server_factory(None)
    rows = passes({"addrs": source.addrs}, {"addrs": target.addrs})
    for rule in ("repl-timeout", "replica-buffer"):
        assert rows[rule]["result"] == "warn"
        assert "CONFIG GET refused" in rows[rule]["detail"]
    assert rows["target-memory"]["result"] == "pass"  # maxmemory comes from INFO memory


def test_keys_outside_db0_into_a_redis_cluster_target_fail(redis_server_factory: Factory) -> None:
    source = redis_server_factory(None, extra_config=TUNED)
    target = one_node_cluster(redis_server_factory)
    source.client().set("a", "1")
    rows = passes({"addrs": source.addrs}, {"addrs": target.addrs})
    assert (
        f"{target.addrs} answered (Redis Cluster, 1 primary, redis_version"
        in rows["target-reachable"]["detail"]
    )
    assert rows["multi-db-cluster"]["result"] == "pass"
    assert rows["multi-db-cluster"]["detail"] == "the source holds keys in DB0 only; the target is a cluster"

    source.client(db=3).set("b", "2")
    source.client(db=5).set("c", "3")
    message, rows = fails({"addrs": source.addrs}, {"addrs": target.addrs})
    assert rows["multi-db-cluster"]["result"] == "fail"
    assert "(DB3: 1, DB5: 1)" in rows["multi-db-cluster"]["detail"]
    assert "highest DB id" in rows["multi-db-cluster"]["why"]
    assert "multi-db-cluster:" in message


def test_a_non_empty_target_fails_unless_allowed_and_a_small_target_fails(
    redis_server_factory: Factory,
) -> None:
    source = redis_server_factory(None, extra_config=TUNED)
    target = redis_server_factory(None)
    source.client().set("big", "x" * 2_000_000)
    target.client(db=3).set("left-over", "1")
    target.client().config_set("maxmemory", "1mb")
    message, rows = fails({"addrs": source.addrs}, {"addrs": target.addrs})
    assert rows["target-empty"]["result"] == "fail"
    assert rows["target-empty"]["detail"] == "the target holds 1 key(s) (DB3: 1)"
    assert rows["target-memory"]["result"] == "fail"
    assert (
        "the target's maxmemory (1 MiB) is below the source's used memory" in rows["target-memory"]["detail"]
    )
    assert "target-empty:" in message
    assert "target-memory:" in message
    assert "FLUSHALL" in message

    target.client().config_set("maxmemory", "0")
    rows = passes({"addrs": source.addrs}, {"addrs": target.addrs}, require_empty_target=False)
    assert rows["target-empty"]["result"] == "warn"
    rows = passes(
        {"addrs": source.addrs}, {"addrs": target.addrs}, require_empty_target=False, check_memory=False
    )
    assert rows["target-memory"]["result"] == "skipped"
    assert rows["target-memory"]["detail"] == "not asked (check_memory=False)"


def test_a_password_with_a_single_quote_fails_without_showing_it(
    redis_server_factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = f"pf'{secrets.token_urlsafe(12)}"
    source = redis_server_factory(password, extra_config=TUNED)
    target = redis_server_factory(None)
    caplog.set_level("INFO")
    operator = preflight({"addrs": source.addrs, "password": password}, {"addrs": target.addrs})
    assert "password" not in operator.source_instance  # kept out of the template fields
    ctx = context()
    with pytest.raises(DcsError) as info:
        operator.execute(ctx)
    rows = {row["rule"]: row for row in ctx["ti"].pushed["preflight"]["rules"]}
    assert rows["source-reachable"]["result"] == "pass"  # the password works...
    assert rows["password-quote"]["result"] == "fail"  # ...but the migration would break on it
    assert rows["password-quote"]["detail"] == "the source's password contains a single quote (')"
    shown = str(info.value) + repr(info.value) + json.dumps(ctx["ti"].pushed) + caplog.text
    shown += capsys.readouterr().out + json.dumps(operator.source_instance)
    assert password not in shown
    assert password[3:] not in shown


# ------------------------------------------------------------------------------------------------
# Reachability: self-hosted vs DCS instances (records from the emulator's API)
# ------------------------------------------------------------------------------------------------


def test_an_unreachable_self_hosted_side_fails_and_a_wrong_password_fails(
    redis_server_factory: Factory, unused_port: int
) -> None:
    target = redis_server_factory(f"dst-{secrets.token_urlsafe(12)}")
    message, rows = fails({"addrs": f"127.0.0.1:{unused_port}"}, {"addrs": target.addrs, "password": "wrong"})
    assert rows["source-reachable"]["result"] == "fail"
    assert rows["source-reachable"]["detail"].startswith(f"Redis 127.0.0.1:{unused_port}: not reachable")
    assert rows["target-reachable"]["result"] == "fail"
    assert "the password was refused" in rows["target-reachable"]["detail"]
    for rule in ("sync-psync", "repl-timeout", "replica-buffer", "target-empty"):
        assert rows[rule]["result"] == "skipped", rule
    assert f"source-reachable: Redis 127.0.0.1:{unused_port}: not reachable" in message


def test_an_unreachable_dcs_instance_is_skipped_from_its_record(
    emulator_conn_env: Any, emulator_admin: EmulatorAdmin, redis_server_factory: Factory, unused_port: int
) -> None:
    source = dcs(emulator_admin, f"127.0.0.1:{unused_port}", engine_version="5.0", cache_mode="ha")
    target = redis_server_factory(None)
    rows = passes(source, {"addrs": target.addrs})
    reach = rows["source-reachable"]
    assert reach["result"] == "skipped"
    assert reach["detail"].startswith(f"DCS instance {source['id']} (127.0.0.1:{unused_port}): not reachable")
    assert "VPC" in reach["detail"]
    assert "VPC" in reach["action"]
    for rule in ("sync-psync", "repl-timeout", "replica-buffer"):
        assert rows[rule]["result"] == "skipped", rule
    version = target.client().info("server")["redis_version"]
    assert rows["versions"]["detail"] == f"source Redis 5.0, target Redis {version}"  # from the record
    assert rows["proxy-source"]["detail"] == "DCS cache_mode ha"


def test_a_reachable_dcs_instance_with_a_wrong_password_fails(
    emulator_conn_env: Any, emulator_admin: EmulatorAdmin, redis_server_factory: Factory
) -> None:
    server = redis_server_factory(f"dcs-{secrets.token_urlsafe(12)}")
    target = redis_server_factory(None)
    _message, rows = fails(
        {**dcs(emulator_admin, server.addrs), "password": "wrong"}, {"addrs": target.addrs}
    )
    assert rows["source-reachable"]["result"] == "fail"
    assert "the password was refused" in rows["source-reachable"]["detail"]


def test_an_unknown_dcs_instance_fails(emulator_conn_env: Any, redis_server_factory: Factory) -> None:
    target = redis_server_factory(None)
    missing = f"dcs-{uuid.uuid4()}"
    message, rows = fails({"id": missing}, {"addrs": target.addrs})
    assert rows["source-reachable"]["detail"] == f"DCS instance {missing}: does not exist (HTTP 404 DCS.3022)"
    assert "instance id" in message


def test_versions_proxy_source_and_cluster_records(
    emulator_conn_env: Any, emulator_admin: EmulatorAdmin, redis_server_factory: Factory, unused_port: int
) -> None:
    server = redis_server_factory(None, extra_config=TUNED)
    nowhere = f"127.0.0.1:{unused_port}"
    version = server.client().info("server")["redis_version"]
    # The local Redis (Debian's: 7.0) into a DCS 4.0 instance: newer into older.
    _message, rows = fails({"addrs": server.addrs}, dcs(emulator_admin, nowhere, engine_version="4.0"))
    assert rows["versions"]["result"] == "fail"
    assert rows["versions"]["detail"] == f"the source (Redis {version}) is newer than the target (Redis 4.0)"
    # A DCS source older than 3.0.
    _message, rows = fails(dcs(emulator_admin, nowhere, engine_version="2.8"), {"addrs": server.addrs})
    assert rows["versions"]["result"] == "fail"
    assert rows["versions"]["detail"] == "the source is Redis 2.8, older than 3.0"
    # A DCS Proxy Cluster source (reachable: its Redis-level rules run too).
    _message, rows = fails(dcs(emulator_admin, server.addrs, cache_mode="proxy"), {"addrs": nowhere})
    assert rows["proxy-source"]["result"] == "fail"
    assert "Proxy Cluster" in rows["proxy-source"]["detail"]
    assert rows["sync-psync"]["result"] == "pass"
    # Keys outside DB0 into a DCS Redis Cluster instance this worker cannot reach.
    server.client(db=1).set("k", "v")
    _message, rows = fails({"addrs": server.addrs}, dcs(emulator_admin, nowhere, cache_mode="cluster"))
    assert rows["multi-db-cluster"]["result"] == "fail"
    assert rows["target-empty"]["result"] == "skipped"


def test_ip_switch_eligibility_only_when_asked(
    emulator_conn_env: Any, emulator_admin: EmulatorAdmin, redis_server_factory: Factory
) -> None:
    one, other = redis_server_factory(None, extra_config=TUNED), redis_server_factory(None)
    assert "ip-switch" not in passes(dcs(emulator_admin, one.addrs), dcs(emulator_admin, one.addrs))

    row = passes(dcs(emulator_admin, one.addrs), dcs(emulator_admin, one.addrs), ip_switch=True)["ip-switch"]
    assert row["result"] in ("pass", "warn")  # warn: the record shows no edition
    assert row["result"] == "pass" or "edition" in row["detail"]

    cases = [
        ({"addrs": one.addrs}, dcs(emulator_admin, other.addrs), "the source is self-hosted"),
        (dcs(emulator_admin, one.addrs), dcs(emulator_admin, other.addrs), "the ports differ"),
        (dcs(emulator_admin, one.addrs, engine_version="3.0"), dcs(emulator_admin, one.addrs), "< 4.0"),
        (dcs(emulator_admin, one.addrs), dcs(emulator_admin, one.addrs, cache_mode="cluster"), "cluster"),
    ]
    for source, target, expected in cases:
        _message, rows = fails(source, target, ip_switch=True)
        assert rows["ip-switch"]["result"] == "fail", expected
        assert expected in rows["ip-switch"]["detail"]

    operator = preflight(dcs(emulator_admin, one.addrs), dcs(emulator_admin, one.addrs), ip_switch="{{ x }}")
    operator.ip_switch = "true"  # as rendered
    assert "ip-switch" in {row["rule"] for row in operator.execute(context())["rules"]}


# ------------------------------------------------------------------------------------------------
# Input refused when the DAG is parsed; the rules alone
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"source_instance": {"addrs": "h:1", "pasword": "x"}}, "source_instance"),
        ({"source_instance": {"addrs": "h:0"}}, "source_instance.addrs"),
        ({"source_instance": {"addrs": "h:1", "id": "i"}}, "source_instance"),
        ({"target_instance": ["h:1"]}, "target_instance"),
        ({"target_instance": "h:1"}, "target_instance"),
        ({"target_instance": {"id": "i", "password_conn_id": 3}}, "target_instance.password_conn_id"),
        ({"require_empty_target": "yes"}, "require_empty_target"),
        ({"check_memory": None}, "check_memory"),
        ({"ip_switch": "maybe"}, "ip_switch"),
        ({"socket_timeout": 0}, "socket_timeout"),
    ],
)
def test_bad_input_is_refused_when_the_dag_is_parsed(kwargs: dict[str, Any], parameter: str) -> None:
    arguments = {"source_instance": {"addrs": "h:1"}, "target_instance": {"id": "i"}, **kwargs}
    with pytest.raises(DcsValidationError) as info:
        DcsMigrationPreflightOperator(task_id="pf", **arguments)
    assert info.value.parameter == parameter


def test_templates_wait_for_rendering_and_passwords_stay_out_of_template_fields(
    redis_server_factory: Factory, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    operator = DcsMigrationPreflightOperator(
        task_id="pf",
        source_instance={"addrs": "{{ params.src }}", "password": "{{ conn.src.password }}"},
        target_instance={"id": "i", "password": "literal-secret"},
        ip_switch="{{ params.switch }}",
    )
    assert operator.source_instance == {"addrs": "{{ params.src }}"}
    assert operator.target_instance == {"id": "i"}
    assert "ip_switch" in operator.template_fields

    # At run time the password template is rendered privately (here from a stand-in ``conn``).
    source = redis_server_factory(f"tpl-{secrets.token_urlsafe(12)}", extra_config=TUNED)
    target = redis_server_factory(None)
    operator = preflight(
        {"addrs": source.addrs, "password": "{{ conn.src.password }}"}, {"addrs": target.addrs}
    )
    ctx = {**context(), "conn": SimpleNamespace(src=SimpleNamespace(password=source.password))}
    report = operator.execute(ctx)
    assert report["rules"][0]["result"] == "pass"  # the rendered password opened the source
    assert operator.source_instance == {"addrs": source.addrs}
    assert source.password not in json.dumps(report) + caplog.text + capsys.readouterr().out


def test_the_rules_alone() -> None:
    """The pure functions, on facts no local server can show (old versions, editions, Redis 6 ACLs)."""
    from huaweicloud_dcs_provider.operators.preflight_facts import acl_allows, memory_value, replica_limits

    old = SideFacts("source", "Redis a:1", reached=True, redis_version="2.8.24")
    new = SideFacts("target", "Redis b:1", reached=True, redis_version="7.2.4")
    assert rules.versions(old, new).result == "fail"
    assert rules.versions(new, old).result == "fail"
    assert rules.versions(SideFacts("source", "x", redis_version="6.2.1"), new).result == "pass"
    assert rules.versions(SideFacts("source", "x"), new).result == "skipped"
    pro = {"instance_id": "i", "port": 6379, "cache_mode": "ha", "engine_version": "6.0"}
    assert (
        rules.ip_switch(
            SideFacts("source", "x", **pro, edition="enterprise"),
            SideFacts("target", "y", **pro, edition="generic"),
        ).result
        == "fail"
    )
    assert (
        rules.ip_switch(
            SideFacts("source", "x", **pro, edition="generic"),
            SideFacts("target", "y", **pro, edition="basic"),
        ).result
        == "pass"
    )
    node = NodeFacts("a:1", used_memory=10 * MIB, maxmemory=0, replica_buffer=(1 * MIB, 0))
    side = SideFacts("source", "x", reached=True, nodes=(node,))
    assert rules.replica_buffer(side).result == "warn"  # 1 MiB < 20% of 10 MiB used
    assert rules.password_issues("no-quote") == ()
    assert rules.password_issues("it's") == ("a single quote (')",)
    assert acl_allows("+@all -psync", "psync") is False
    assert acl_allows("+@all -psync", "sync") is True
    assert acl_allows("-@all +get +sync", "sync") is True
    assert acl_allows("-@all +@read", "psync") is False
    assert acl_allows("allcommands -@dangerous", "sync") is False
    assert acl_allows("+@all -config|set", "sync") is True
    assert acl_allows("+@all %R~x", "sync") is None
    assert replica_limits("normal 0 0 0 slave 268435456 67108864 60 pubsub 1 2 3") == (268435456, 67108864)
    assert replica_limits("normal 0 0 0 replica 256mb 64mb 60") == (256 * MIB, 64 * MIB)
    assert replica_limits("normal 0 0 0") is None
    assert memory_value("1gb") == 1024**3
    assert memory_value("10k") == 10_000
    assert memory_value("x") is None
