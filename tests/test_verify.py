"""The verify operator against real ``redis-server`` processes (and a real 3-node Redis Cluster).

Both sides are filled with the same seeded data of every type (``redis_data.populate``), then
divergences are planted on the target: each must be found with its kind, and nothing else.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from huaweicloud_dcs_provider.datacheck.pacing import Pace
from huaweicloud_dcs_provider.exceptions import DcsError, DcsValidationError
from huaweicloud_dcs_provider.operators.verify import DcsVerifyMigrationOperator

if TYPE_CHECKING:
    from airflow_fixtures import DcsTestEnv
    from redis_cluster import LocalCluster
    from redis_servers import RedisPair, RedisServer

pytest_plugins = ["airflow_fixtures", "redis_servers", "redis_cluster"]
pytestmark = pytest.mark.integration

LAYOUT = {0: 2_000, 3: 400}


def context() -> dict[str, Any]:
    from airflow_fixtures import make_context

    return make_context()


def conn(monkeypatch: pytest.MonkeyPatch, name: str, password: str | None) -> str:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{name.upper()}",
        json.dumps({"conn_type": "generic", "host": "127.0.0.1", "password": password}),
    )
    return name


def endpoints(pair: RedisPair, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return {
        "source_instance": {
            "addrs": pair.source.addrs,
            "password_conn_id": conn(monkeypatch, "vsrc", pair.source.password),
        },
        "target_instance": {
            "addrs": pair.target.addrs,
            "password_conn_id": conn(monkeypatch, "vdst", pair.target.password),
        },
    }


def copy_keys(source: Any, target: Any) -> None:
    """Every key of one client's database into another's (DUMP/RESTORE, TTL kept)."""
    keys = list(source.scan_iter(count=1_000))
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        read = source.pipeline(transaction=False)
        for key in batch:
            read.dump(key)
            read.pttl(key)
        replies = read.execute()
        for index, key in enumerate(batch):
            payload, ttl = replies[2 * index], replies[2 * index + 1]
            target.restore(key, max(0, ttl), payload, replace=True)


def same_data(pair: RedisPair, layout: dict[int, int] = LAYOUT) -> int:
    """The source filled with every type, the target a copy (as a finished migration leaves it)."""
    from redis_data import populate

    populate(pair.source, layout, seed=7)
    for db in layout:
        with pair.source.client(db) as src, pair.target.client(db) as dst:
            copy_keys(src, dst)
    return sum(layout.values())


def verify(pair: RedisPair, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("round_interval", 0)
    operator = DcsVerifyMigrationOperator(task_id="verify", **endpoints(pair, monkeypatch), **kwargs)
    result: dict[str, Any] = operator.execute(context())
    return result


def plant(target: RedisServer) -> dict[tuple[int, bytes], str]:
    """One divergence of every kind (and inside big keys) on the target; ``{(db, key): kind}``."""
    from redis_data import key_name

    planted: dict[tuple[int, bytes], str] = {}
    client = target.client(0)
    types = {index: client.type(key_name(0, index)) for index in range(0, 400)}

    def first(kind: bytes, skip: int = 0) -> bytes:
        picks = [key_name(0, i) for i, t in types.items() if t == kind]
        return picks[skip]

    gone = key_name(0, 1)
    client.delete(gone)
    planted[(0, gone)] = "missing_on_target"
    client.set(b"only-on-target", b"1")
    planted[(0, b"only-on-target")] = "extra_on_target"
    retyped = first(b"hash")
    client.delete(retyped)
    client.sadd(retyped, b"x")
    planted[(0, retyped)] = "type"
    string = first(b"string", 2)
    ttl = client.pttl(string)
    client.set(string, b"another value", px=ttl if ttl > 0 else None)
    planted[(0, string)] = "value"
    members = client.zrange(first(b"zset"), 0, 0)
    client.zadd(first(b"zset"), {members[0]: 123456.5})
    planted[(0, first(b"zset"))] = "value"
    stream = first(b"stream")
    client.xadd(stream, {b"n": b"extra entry"})
    planted[(0, stream)] = "value"
    lived = first(b"list", 1)
    client.persist(lived)
    client.expire(lived, 10_000)
    planted[(0, lived)] = "ttl"
    # Big keys: one element changed deep inside.
    for kind in (b"hash", b"list", b"set", b"zset"):
        big = [
            key_name(0, i)
            for i in range(2_000)
            if i % 1000 < 20 and client.type(key_name(0, i)) == kind and (0, key_name(0, i)) not in planted
        ]
        if not big:
            continue
        key = big[0]
        if kind == b"hash":
            field = sorted(client.hkeys(key))[-1]
            client.hset(key, field, b"changed")
        elif kind == b"list":
            client.lset(key, -5, b"changed")
        elif kind == b"set":
            member = sorted(client.smembers(key))[-1]
            client.srem(key, member)
            client.sadd(key, b"a member only the target has")
        else:
            member = client.zrange(key, -1, -1)[0]
            client.zadd(key, {member: -0.000001})
        planted[(0, key)] = "value"
    db3 = target.client(3)
    db3.delete(key_name(3, 10))
    planted[(3, key_name(3, 10))] = "missing_on_target"
    return planted


# ------------------------------------------------------------------------------------------------


def test_identical_data_passes_in_every_mode(redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch) -> None:
    total = same_data(redis_pair)
    for mode in ("full", "keys", "length"):
        result = verify(redis_pair, monkeypatch, mode=mode)
        assert result["passed"], result
        assert result["keys_compared"] == total
        assert result["target_keys_checked"] == total
        assert result["mismatches"] == 0
        assert set(result["by_kind"]) == {"missing_on_target", "extra_on_target", "type", "value", "ttl"}
        assert result["source_keys"] == result["target_keys"] == {"db0": 2_000, "db3": 400}
        assert result["databases"] == [0, 3]


def test_full_finds_every_planted_divergence_and_nothing_else(
    redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    same_data(redis_pair)
    planted = plant(redis_pair.target)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DcsError) as failure:
        verify(redis_pair, monkeypatch, mode="full", rounds=2)
    operator = DcsVerifyMigrationOperator(
        task_id="verify", max_mismatches=len(planted), round_interval=0, **endpoints(redis_pair, monkeypatch)
    )
    result = operator.execute(context())
    assert result["passed"] is True  # within max_mismatches
    assert result["mismatches"] == len(planted)
    expected: dict[str, int] = {}
    for kind in planted.values():
        expected[kind] = expected.get(kind, 0) + 1
    assert {k: v for k, v in result["by_kind"].items() if v} == expected
    message = str(failure.value)
    assert f"{len(planted)} mismatch(es)" in message
    for kind in expected:
        assert kind in message
    # Examples name keys (binary ones escaped), never values.
    assert len(result["examples"]) <= 20
    text = message + caplog.text + json.dumps(result)
    for secret in (redis_pair.source.password, redis_pair.target.password, "another value", "changed"):
        assert secret
        assert secret not in text
    assert all("\x00" not in example["key"] for example in result["examples"])


def test_keys_and_length_modes_see_only_what_they_compare(
    redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    same_data(redis_pair, {0: 300})
    client = redis_pair.target.client(0)
    client.set(b"k:0:0", b"another length", keepttl=True)  # a string: another value and length
    client.rpush(b"k:0:12", b"one more element")  # slot 12: a list; its length differs
    keys_only = verify(redis_pair, monkeypatch, mode="keys")
    assert keys_only["passed"], keys_only
    with pytest.raises(DcsError, match="value 2"):
        verify(redis_pair, monkeypatch, mode="length")


def test_rounds_let_keys_in_flight_settle(redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key written on the source but not yet on the target counts only if it never arrives."""
    from huaweicloud_dcs_provider.datacheck.sides import Endpoint, open_side
    from huaweicloud_dcs_provider.datacheck.verify import Verification, VerifySettings

    same_data(redis_pair, {0: 500})
    redis_pair.source.client(0).set(b"in-flight", b"v")
    redis_pair.source.client(0).set(b"lost", b"v")

    def arrive(_: float) -> None:
        redis_pair.target.client(0).set(b"in-flight", b"v")

    source = Endpoint("source", (("127.0.0.1", redis_pair.source.port),), redis_pair.source.password)
    target = Endpoint("target", (("127.0.0.1", redis_pair.target.port),), redis_pair.target.password)
    with open_side(source) as src, open_side(target) as tgt:
        report = Verification(src, tgt, VerifySettings(rounds=3), sleep=arrive).run()
    assert report.rounds_run == 3
    assert [(f.key, f.kind) for f in report.findings] == [(b"lost", "missing_on_target")]
    assert report.rechecked == 2 + 1


def test_sample_is_seeded_and_reports_its_confidence(
    redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    same_data(redis_pair, {0: 5_000})
    first = verify(redis_pair, monkeypatch, mode="sample", sample_size=500, seed=42)
    again = verify(redis_pair, monkeypatch, mode="sample", sample_size=500, seed=42)
    assert first["passed"]
    assert again["passed"]
    assert first["sample"]["source_sampled"] == 500 == again["sample"]["source_sampled"]
    assert first["keys_compared"] == 500
    bound = first["sample"]["max_mismatch_rate"]
    assert 0 < bound < 0.005  # 1,000 clean keys: at most ~0.3 % differ, at 95 % confidence
    # Every key differs: any sample finds it.
    redis_pair.target.client(0).flushdb()
    with pytest.raises(DcsError, match="missing_on_target 500"):
        verify(redis_pair, monkeypatch, mode="sample", sample_size=500, seed=1, rounds=1)


def test_cluster_target_takes_every_source_database_in_db0(
    redis_pair: RedisPair, redis_cluster_empty: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis_data import populate

    populate(redis_pair.source, {0: 600, 2: 200}, seed=3)
    cluster = redis_cluster_empty.client()
    for db in (0, 2):
        with redis_pair.source.client(db) as client:
            copy_keys(client, cluster)
    cluster_conn = conn(monkeypatch, "vcluster", redis_cluster_empty.password)
    src = {
        "addrs": redis_pair.source.addrs,
        "password_conn_id": conn(monkeypatch, "vsrc", redis_pair.source.password),
    }
    dst = {"addrs": redis_cluster_empty.addrs, "password_conn_id": cluster_conn}
    result = DcsVerifyMigrationOperator(
        task_id="verify", source_instance=src, target_instance=dst, round_interval=0
    ).execute(context())
    assert result["passed"], result
    assert result["keys_compared"] == 800
    assert result["target_keys"] == {"db0": 800}
    assert any("Redis Cluster" in note and "[2]" in note for note in result["notes"])
    # And the other way round: a cluster source against a single Redis.
    cluster.set(b"only-in-cluster", b"1")
    back = DcsVerifyMigrationOperator(
        task_id="verify",
        source_instance=dst,
        target_instance=src,
        round_interval=0,
        databases=[0],
        max_mismatches=10**6,
    ).execute(context())
    assert back["by_kind"]["missing_on_target"] >= 200 + 1  # db2's keys and the new one are not in db0


def test_endpoints_from_the_migration_task_and_a_dcs_instance_id(
    dcs_env: DcsTestEnv, redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    same_data(redis_pair, {0: 300})
    target_id = str(uuid.uuid4())
    dcs_env.admin.add_instance(target_id, addrs=redis_pair.target.addrs)
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(
        task_id,
        method="incremental_migration",
        source={"addrs": redis_pair.source.addrs, "password": redis_pair.source.password},
        target={"id": target_id, "password": redis_pair.target.password},
    )
    passwords = {
        "source_instance": {"password_conn_id": conn(monkeypatch, "vsrc", redis_pair.source.password)},
        "target_instance": {"password_conn_id": conn(monkeypatch, "vdst", redis_pair.target.password)},
    }
    ctx = context()
    result = DcsVerifyMigrationOperator(task_id="verify", migration_task_id=task_id, **passwords).execute(ctx)
    assert result["passed"]
    assert result["keys_compared"] == 300
    # An instance id on its own resolves through the DCS instance API.
    direct = DcsVerifyMigrationOperator(
        task_id="verify",
        source_instance={"addrs": redis_pair.source.addrs, **passwords["source_instance"]},
        target_instance={"id": target_id, **passwords["target_instance"]},
    ).execute(context())
    assert direct["passed"]
    shown = dcs_env.requests(method="GET", path=rf"/instances/{target_id}$")
    assert shown, "the target's address was looked up through the DCS instance API"
    with pytest.raises(DcsError, match=r"DCS\.3022|does not exist"):
        DcsVerifyMigrationOperator(
            task_id="verify",
            source_instance={"addrs": redis_pair.source.addrs, **passwords["source_instance"]},
            target_instance={"id": str(uuid.uuid4())},
        ).execute(context())


def test_qps_cap_holds_the_command_rate(redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch) -> None:
    same_data(redis_pair, {0: 400})
    before = redis_pair.source.client().info("stats")["total_commands_processed"]
    began = time.monotonic()
    verify(redis_pair, monkeypatch, mode="keys", qps=1_000)
    took = time.monotonic() - began
    sent = redis_pair.source.client().info("stats")["total_commands_processed"] - before
    assert sent >= 400 * 2  # TYPE and PTTL of every key, at least
    assert sent / took <= 1_000 * 1.2, f"{sent} commands in {took:.2f} s"


def test_pace_waits_only_as_long_as_the_cap_needs() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pace = Pace(100, clock=lambda: now[0], sleep=sleep)
    pace.take(50)  # 50 commands at 100/s take 0.5 s
    pace.take(50)
    assert slept == [pytest.approx(0.5), pytest.approx(0.5)]
    now[0] += 2.0  # idle: the next commands are due already
    pace.take(10)
    assert len(slept) == 2
    assert Pace(None, clock=lambda: 0.0, sleep=sleep).take(10**6) is None


def test_progress_is_logged_on_long_runs(redis_pair: RedisPair, caplog: pytest.LogCaptureFixture) -> None:
    from huaweicloud_dcs_provider.datacheck.sides import Endpoint, open_side
    from huaweicloud_dcs_provider.datacheck.verify import Verification, VerifySettings

    same_data(redis_pair, {0: 3_000})
    source = Endpoint("source", (("127.0.0.1", redis_pair.source.port),), redis_pair.source.password)
    target = Endpoint("target", (("127.0.0.1", redis_pair.target.port),), redis_pair.target.password)
    caplog.set_level(logging.INFO)
    with open_side(source) as src, open_side(target) as tgt:
        Verification(src, tgt, VerifySettings(progress_interval=0)).run()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Verifying (full)")]
    assert len(lines) >= 6  # one per batch of 500 keys, both directions
    assert "keys compared" in lines[-1]


@pytest.mark.parametrize(
    ("kwargs", "parameter", "allowed"),
    [
        ({"mode": "exact"}, "mode", "full, sample, keys, length"),
        ({"rounds": 0}, "rounds", "an integer from 1"),
        ({"qps": -5}, "qps", "a number from 1"),
        ({"sample_size": 10**12}, "sample_size", "to 1e+09"),
        ({"databases": "0"}, "databases", "a list"),
        ({"ttl_tolerance_seconds": float("nan")}, "ttl_tolerance_seconds", "a number"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    kwargs: dict[str, Any], parameter: str, allowed: str
) -> None:
    with pytest.raises(DcsValidationError) as info:
        DcsVerifyMigrationOperator(
            task_id="v",
            source_instance={"addrs": "10.0.0.1:6379"},
            target_instance={"addrs": "10.0.0.2:6379"},
            **kwargs,
        )
    assert parameter in str(info.value)
    assert allowed in str(info.value)


def test_what_to_compare_must_be_said_once() -> None:
    with pytest.raises(
        DcsValidationError, match="migration_task_id, or both source_instance and target_instance"
    ):
        DcsVerifyMigrationOperator(task_id="v", source_instance={"addrs": "10.0.0.1:6379"})
    with pytest.raises(DcsValidationError, match=r"source_instance.*only 'password' or 'password_conn_id'"):
        DcsVerifyMigrationOperator(
            task_id="v", migration_task_id="t1", source_instance={"addrs": "10.0.0.1:6379"}
        )
    with pytest.raises(DcsValidationError, match=r"target_instance\.addrs"):
        DcsVerifyMigrationOperator(
            task_id="v", source_instance={"addrs": "10.0.0.1:6379"}, target_instance={"addrs": "host:0"}
        )


def test_unreachable_or_wrong_password_fails_in_words(
    redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch, unused_port: int
) -> None:
    wrong = conn(monkeypatch, "vwrong", "not-the-password")
    with pytest.raises(DcsError, match="password was refused"):
        DcsVerifyMigrationOperator(
            task_id="v",
            source_instance={"addrs": redis_pair.source.addrs, "password_conn_id": wrong},
            target_instance={"addrs": redis_pair.target.addrs},
        ).execute(context())
    with pytest.raises(DcsError, match=rf"the source \(Redis 127.0.0.1:{unused_port}\) is not reachable"):
        DcsVerifyMigrationOperator(
            task_id="v",
            source_instance={"addrs": f"127.0.0.1:{unused_port}"},
            target_instance={"addrs": redis_pair.target.addrs},
            socket_timeout=1,
        ).execute(context())


def test_writes_streaming_in_do_not_fail_a_multi_round_check(
    redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes land on both sides with a delay (as replication does): rounds absorb it."""
    same_data(redis_pair, {0: 1_000})
    stop = threading.Event()
    src, dst = redis_pair.source.client(0), redis_pair.target.client(0)

    def replicate_late() -> None:
        rng = random.Random(5)
        while not stop.is_set():
            key = b"live:%d" % rng.randrange(200)
            src.set(key, b"x")
            time.sleep(0.002)
            dst.set(key, b"x")

    writer = threading.Thread(target=replicate_late, daemon=True)
    writer.start()
    try:
        result = verify(redis_pair, monkeypatch, mode="full", rounds=3, round_interval=0.2)
    finally:
        stop.set()
        writer.join(5)
    assert result["passed"], result


def test_stream_consumer_groups_and_big_strings_are_compared(
    redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = redis_pair.source.client(0), redis_pair.target.client(0)
    for client in (src, dst):
        for n in range(1_200):  # several XRANGE chunks
            client.xadd(b"events", {b"n": str(n)}, id=f"1-{n + 1}")
        client.xgroup_create(b"events", "billing", id="0")
        client.set(b"blob", b"x" * (3 * 1024 * 1024))  # 3 MB: compared in 512 KB slices
    assert verify(redis_pair, monkeypatch)["passed"]
    dst.xgroup_setid(b"events", "billing", id="1-600")  # same entries, another delivery position
    dst.setrange(b"blob", 2 * 1024 * 1024 + 7, b"y")
    with pytest.raises(DcsError) as failure:
        verify(redis_pair, monkeypatch, rounds=1)
    assert "value 2" in str(failure.value)
    result = DcsVerifyMigrationOperator(
        task_id="v", max_mismatches=2, round_interval=0, **endpoints(redis_pair, monkeypatch)
    ).execute(context())
    whys = {example["key"]: example["why"] for example in result["examples"]}
    assert whys == {
        "events": "consumer groups differ (names, last delivered id or pending count)",
        "blob": "bytes 2097152-2621439 differ",
    }


def test_passwords_stay_out_of_template_fields_and_the_event_carries_the_result(
    redis_pair: RedisPair,
) -> None:
    from types import SimpleNamespace

    from huaweicloud_dcs_provider.assets import dcs_instance_asset

    same_data(redis_pair, {0: 100})
    target_asset = dcs_instance_asset("target-instance-1")
    operator = DcsVerifyMigrationOperator(
        task_id="v",
        source_instance={"addrs": redis_pair.source.addrs, "password": redis_pair.source.password},
        target_instance={"addrs": redis_pair.target.addrs, "password": redis_pair.target.password},
        outlets=[target_asset],
    )
    fields = json.dumps([getattr(operator, name) for name in operator.template_fields], default=str)
    assert redis_pair.source.password not in fields
    assert redis_pair.target.password not in fields
    events: dict[Any, Any] = {}

    class Events(dict):  # type: ignore[type-arg]
        def __missing__(self, key: Any) -> Any:
            self[key] = SimpleNamespace(extra={})
            return self[key]

    ctx = context()
    ctx["outlet_events"] = events = Events()
    result = operator.execute(ctx)
    assert result["passed"]
    [event] = events.values()
    assert event.extra["verify"] == {
        key: result[key] for key in ("passed", "mode", "keys_compared", "mismatches", "by_kind", "duration_s")
    }
