"""Real migrations between real ``redis-server`` processes, driven through the signed API by ``DcsHook``.

The emulator runs with real migration enabled (its CLI default); the tests check the data itself:
keys, types, values and TTLs on the target against the source, for a full migration of more than
100,000 keys of every common type in three databases, and for an incremental migration that has
to follow a burst of writes, deletes and expiries. Figures (keys, seconds) are printed in the
terminal summary under "real Redis migration figures".
"""

from __future__ import annotations

import random
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from huaweicloud_dcs_emulator.testing import FAST_TIMINGS, EmulatorProcess
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.exceptions import DcsMigrationFailedError
from huaweicloud_dcs_provider.hooks.dcs import DcsHook
from redis_data import assert_same_data, databases, key_name, populate, write_value

if TYPE_CHECKING:
    from redis_servers import RedisPair, RedisServer

pytest_plugins = ["redis_servers"]  # redis_pair, unused_port, figures
pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.05, max_wait=0.2, max_total_seconds=20)
NETWORK = {"vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}
FULL = "full_amount_migration"
INCREMENTAL = "incremental_migration"
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled"


# ------------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_emulator() -> Iterator[EmulatorProcess]:
    """An emulator with real migration enabled (no ``--simulate-only``)."""
    # "dcs-instance-source": the cloud instance of test_cloud_instances_and_remote_addresses_...
    # (the emulator refuses DCS instances it does not know).
    with EmulatorProcess(
        config=FAST_TIMINGS, real_migration=True, instances=["dcs-instance-source"]
    ) as process:
        yield process


@pytest.fixture
def hook(real_emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> DcsHook:
    """The real hook, pointed at the freshly reset emulator (running migrations are cancelled)."""
    real_emulator.admin().reset()
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", real_emulator.conn_uri_json())
    return DcsHook(retry_policy=FAST_RETRY)


def create_task(hook: DcsHook) -> str:
    """Create a task and wait until it can be configured; returns its id."""
    created = hook.create_online_migration_task(
        name=f"real-{secrets.token_hex(4)}", poll_interval=0.05, timeout=20, **NETWORK
    )
    return str(created["task_id"])


def start_migration(
    hook: DcsHook,
    method: str,
    source: Mapping[str, Any],
    target: Mapping[str, Any],
    *,
    bandwidth_limit_mb: int | None = None,
    task_id: str | None = None,
) -> str:
    """Configure ``task_id`` (a new task if not given); returns the task id."""
    task_id = task_id or create_task(hook)
    hook.configure_online_migration(
        task_id,
        migration_method=method,
        resume_mode="manual",
        source_instance=source,
        target_instance=target,
        bandwidth_limit_mb=bandwidth_limit_mb,
    )
    return task_id


def wait_status(hook: DcsHook, task_id: str, status: str, timeout: float = 60) -> None:
    """Poll the task (every 50 ms) until ``status``."""
    hook.wait_for_task_status(task_id, [status], timeout=timeout, poll_interval=0.05)


def wait_offset_zero(hook: DcsHook, task_id: str, timeout: float = 30) -> tuple[float, int]:
    """Poll the stats until ``offset`` is 0; returns ``(seconds waited, largest offset seen)``."""
    began = time.monotonic()
    largest = 0
    while True:
        stats = hook.get_migration_task_stats(task_id)
        offset = stats.offset if stats.offset is not None else -1
        largest = max(largest, offset)
        if offset == 0:
            return time.monotonic() - began, largest
        if time.monotonic() - began > timeout:
            raise AssertionError(f"offset still {offset} after {timeout} s: {stats.describe()}")
        time.sleep(0.02)


def failure_reason(hook: DcsHook, task_id: str) -> str:
    """A failed task's reason, where the real service puts it: its ERROR log entries (the detail
    has no ``error`` field, as in the official SDK's ``ShowMigrationTaskResponse``)."""
    return "; ".join(entry.message for entry in hook.list_migration_task_logs(task_id, log_level="ERROR"))


def wait_for_key(server: RedisServer, key: str, timeout: float = 10) -> None:
    """Until ``key`` exists on ``server``."""
    deadline = time.monotonic() + timeout
    with server.client() as client:
        while not client.exists(key):
            assert time.monotonic() < deadline, f"{key} never reached {server.addrs}"
            time.sleep(0.02)


# ------------------------------------------------------------------------------------------------
# Full migration
# ------------------------------------------------------------------------------------------------


def test_full_migration_copies_every_key_value_and_ttl(
    hook: DcsHook, redis_pair: RedisPair, real_emulator: EmulatorProcess, figures: Callable[[str], None]
) -> None:
    source, target = redis_pair.source, redis_pair.target
    layout = {0: 60_000, 3: 30_000, 7: 12_000}
    kinds = populate(source, layout, seed=20240401)
    total = sum(kinds.values())
    assert total >= 100_000

    task_id = create_task(hook)
    began = time.monotonic()
    start_migration(hook, FULL, source.endpoint(), target.endpoint(), task_id=task_id)
    wait_status(hook, task_id, "SUCCESS", timeout=120)
    seconds = time.monotonic() - began

    stats = hook.get_migration_task_stats(task_id)
    assert stats.full_migration_progress == 100
    assert stats.source_dbsize == total
    assert stats.target_dbsize == total
    assert stats.offset == 0
    assert stats.is_migrating is False
    logs = [entry.message for entry in hook.list_migration_task_logs(task_id)]
    assert f"Full migration finished: {total} keys migrated" in logs

    checked = time.monotonic()
    assert assert_same_data(source, target) == total
    assert databases(target) == set(layout)
    engine_line = re.search(
        rf"task {task_id}: full sync copied (\d+) keys in ([\d.]+) s", real_emulator.log_text()
    )
    assert engine_line is not None
    assert int(engine_line.group(1)) == total
    types = ", ".join(f"{count:,} {kind}" for kind, count in kinds.most_common())
    figures(
        f"full migration: {total:,} keys in DBs {sorted(layout)} ({types}; one in three with a TTL) "
        f"copied by the engine in {engine_line.group(2)} s; configure -> SUCCESS seen by the hook "
        f"after {seconds:.2f} s ({total / seconds:,.0f} keys/s); target verified key by key "
        f"in {time.monotonic() - checked:.1f} s"
    )


def test_bandwidth_limit_paces_the_copy(
    hook: DcsHook, redis_pair: RedisPair, figures: Callable[[str], None]
) -> None:
    source, target = redis_pair.source, redis_pair.target
    rng = random.Random(5)
    with source.client() as client:
        client.mset({f"blob:{i}": rng.randbytes(1024) for i in range(2_500)})  # ~2.5 MB

    task_id = create_task(hook)
    began = time.monotonic()
    start_migration(hook, FULL, source.endpoint(), target.endpoint(), bandwidth_limit_mb=1, task_id=task_id)
    wait_status(hook, task_id, "SUCCESS")
    seconds = time.monotonic() - began

    assert seconds >= 1.5, f"2.5 MB at 1 MB/s took only {seconds:.2f} s"
    assert assert_same_data(source, target) == 2_500
    figures(f"bandwidth_limit_mb=1: 2,500 keys of 1 KiB (2.5 MB) took {seconds:.2f} s")


# ------------------------------------------------------------------------------------------------
# Incremental migration
# ------------------------------------------------------------------------------------------------


def burst(source: RedisServer) -> dict[str, list[bytes]]:
    """Writes, overwrites, deletes, renames, moves, expiries of every type; returns notable keys."""
    rng = random.Random(99)
    short: list[bytes] = []
    deleted: list[bytes] = []
    with source.client(0) as client:
        pipe = client.pipeline(transaction=False)
        for i in range(3_000):  # overwrite existing keys, any type -> string
            pipe.set(key_name(0, i * 3 + 1), rng.randbytes(rng.randint(1, 100)))
        for i in range(2_000):  # new keys of every type
            write_value(pipe, rng, b"new:%d" % i, i)
        for i in range(1_000):  # deletes
            key = key_name(0, 10_000 + i * 2)
            deleted.append(key)
            pipe.delete(key)
        for i in range(300):  # new keys that expire very soon
            key = b"short:%d" % i
            short.append(key)
            pipe.set(key, b"gone soon", px=300)
        for i in range(300):  # existing keys that expire very soon
            key = key_name(0, 12_001 + i * 2)
            short.append(key)
            pipe.pexpire(key, 300)
        for i in range(200):  # TTL changes both ways
            pipe.persist(key_name(0, i * 3))
            pipe.pexpire(key_name(0, 8_001 + i * 3), 7_200_000)
        for i in range(100):  # in-place updates of collections
            pipe.hset(b"new:%d" % (i * 20 + 9), "extra", rng.randbytes(5))
            pipe.rpush(b"new:%d" % (i * 20 + 11), b"tail")
            pipe.lpop(b"new:%d" % (i * 20 + 12))
            pipe.zincrby(b"new:%d" % (i * 20 + 15), 2.5, b"member")
            pipe.xadd(b"new:%d" % (i * 20 + 17), {b"late": b"entry"})
        for i in range(100):  # renames and moves to another database
            pipe.rename(b"new:%d" % (i * 20 + 1), b"renamed:%d" % i)
            pipe.move(b"new:%d" % (i * 20 + 2), 2)
        pipe.execute()
    with source.client(5) as client:  # a database the full sync never saw
        client.mset({f"db5:{i}": str(i) for i in range(500)})
        client.hset("db5:hash", mapping={"a": "1", "b": "2"})
    return {"short": short, "deleted": deleted}


def test_incremental_migration_follows_writes_deletes_and_expiries(
    hook: DcsHook, redis_pair: RedisPair, figures: Callable[[str], None]
) -> None:
    source, target = redis_pair.source, redis_pair.target
    populate(source, {0: 16_000, 2: 4_000}, seed=7)

    task_id = create_task(hook)
    began = time.monotonic()
    start_migration(hook, INCREMENTAL, source.endpoint(), target.endpoint(), task_id=task_id)
    with source.client(0) as client:  # writes while the full sync runs must not be lost
        client.mset({f"early:{i}": f"v{i}" for i in range(2_000)})
        client.delete(*[key_name(0, i) for i in range(1, 400, 2)])
    wait_status(hook, task_id, "INCRMIGEATING")
    full_seconds = time.monotonic() - began
    assert hook.get_migration_task_stats(task_id).full_migration_progress == 100

    burst_began = time.monotonic()
    notable = burst(source)
    burst_seconds = time.monotonic() - burst_began
    converged, largest = wait_offset_zero(hook, task_id)

    time.sleep(max(0.0, burst_began + burst_seconds + 0.4 - time.monotonic()))  # short TTLs are over
    wait_offset_zero(hook, task_id)
    compared = assert_same_data(source, target)
    with target.client(0) as client:
        assert client.exists(*notable["short"]) == 0
        assert client.exists(*notable["deleted"]) == 0
        assert client.exists(b"renamed:5") == 1
    with target.client(2) as client:
        assert client.exists(b"new:42") == 1  # MOVEd from db0
    stats = hook.get_migration_task_stats(task_id)
    assert stats.is_migrating is True
    assert hook.get_task_status(task_id) == "INCRMIGEATING"
    figures(
        f"incremental migration: full phase of 22,000 keys (+2,000 written meanwhile) "
        f"in {full_seconds:.2f} s; "
        f"burst of ~9,000 writes/deletes/expiries/renames in {burst_seconds:.2f} s; offset back to 0 "
        f"{converged:.2f} s after the burst (largest offset seen {largest}); {compared:,} keys verified"
    )

    hook.stop_migration_task(task_id)
    wait_status(hook, task_id, "TERMINATED", timeout=20)


def test_stop_during_incremental_terminates_and_stops_copying(hook: DcsHook, redis_pair: RedisPair) -> None:
    source, target = redis_pair.source, redis_pair.target
    with source.client() as client:
        client.set("before", "1")
    task_id = start_migration(hook, INCREMENTAL, source.endpoint(), target.endpoint())
    wait_status(hook, task_id, "INCRMIGEATING")
    with source.client() as client:
        client.set("during", "2")
    wait_for_key(target, "during")

    stopping = hook.stop_migration_task(task_id)
    assert stopping.status == "TERMINATING"
    wait_status(hook, task_id, "TERMINATED", timeout=20)
    with source.client() as client:
        assert client.pubsub_numpat() == 0  # the keyspace subscription is gone
        client.set("after", "3")
        client.delete("during")
    time.sleep(0.5)
    with target.client() as client:
        assert client.get("before") == b"1"
        assert client.get("during") == b"2"
        assert client.exists("after") == 0
    assert hook.get_migration_task_stats(task_id).is_migrating is False

    # A restart runs a new full sync, then follows the source again.
    assert [r.result for r in hook.batch_restart_migration_tasks([task_id])] == ["success"]
    wait_status(hook, task_id, "INCRMIGEATING")
    wait_for_key(target, "after")
    with source.client() as client:
        client.set("after-restart", "4")
    wait_for_key(target, "after-restart")


# ------------------------------------------------------------------------------------------------
# Failures
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "password", "cause"),
    [
        ("source", "wrong-password", WRONGPASS),
        ("target", "wrong-password", WRONGPASS),
        ("source", None, "NOAUTH Authentication required"),
    ],
)
def test_authentication_failure_fails_the_migration(
    hook: DcsHook, redis_pair: RedisPair, side: str, password: str | None, cause: str
) -> None:
    sides = {"source": redis_pair.source.endpoint(), "target": redis_pair.target.endpoint()}
    sides[side] = {"addrs": sides[side]["addrs"], **({"password": password} if password else {})}
    task_id = start_migration(hook, FULL, sides["source"], sides["target"])
    with pytest.raises(DcsMigrationFailedError) as info:
        wait_status(hook, task_id, "SUCCESS")
    server = redis_pair.source if side == "source" else redis_pair.target
    assert info.value.status == "MIGRATION_FAILED"
    assert failure_reason(hook, task_id) == f"Failed to authenticate to {side} redis {server.addrs}: {cause}"
    for secret in (redis_pair.source.password, redis_pair.target.password, "wrong-password"):
        assert secret is not None
        assert secret not in str(info.value)
    with redis_pair.target.client() as client:
        assert client.dbsize() == 0


@pytest.mark.parametrize("side", ["source", "target"])
def test_unreachable_redis_fails_the_migration(
    hook: DcsHook, redis_pair: RedisPair, unused_port: int, side: str
) -> None:
    port = unused_port if side == "source" else 1  # nothing listens / the documented refused port
    sides = {"source": redis_pair.source.endpoint(), "target": redis_pair.target.endpoint()}
    sides[side] = {"addrs": f"127.0.0.1:{port}"}
    task_id = start_migration(hook, INCREMENTAL, sides["source"], sides["target"])
    with pytest.raises(DcsMigrationFailedError) as info:
        wait_status(hook, task_id, "INCRMIGEATING")
    assert info.value.status == "MIGRATION_FAILED"
    reason = f"Failed to connect to {side} redis 127.0.0.1:{port}: Connection refused"
    assert failure_reason(hook, task_id) == reason
    [item] = [task for task in hook.list_migration_tasks() if task.task_id == task_id]
    assert item.error == reason  # the list's error_message


def test_losing_the_source_mid_run_fails_the_migration(
    hook: DcsHook, redis_server_factory: Callable[..., RedisServer]
) -> None:
    source, target = redis_server_factory(password="mortal-1"), redis_server_factory()
    with source.client() as client:
        client.set("k", "v")
    task_id = start_migration(hook, INCREMENTAL, source.endpoint(), target.endpoint())
    wait_status(hook, task_id, "INCRMIGEATING")
    source.stop()
    with pytest.raises(DcsMigrationFailedError) as info:
        wait_status(hook, task_id, "TERMINATED", timeout=10)
    assert info.value.status == "MIGRATION_FAILED"
    assert failure_reason(hook, task_id) == (
        f"Lost connection to source redis {source.addrs} while receiving keyspace notifications: "
        "Connection closed by server"
    )


# ------------------------------------------------------------------------------------------------
# What stays simulated
# ------------------------------------------------------------------------------------------------


def test_cloud_instances_and_remote_addresses_stay_simulated(hook: DcsHook, redis_pair: RedisPair) -> None:
    with redis_pair.source.client() as client:
        client.set("untouched", "1")
    cloud = start_migration(hook, FULL, {"id": "dcs-instance-source"}, redis_pair.target.endpoint())
    remote = start_migration(hook, FULL, {"addrs": "10.0.0.1:6379"}, {"addrs": "10.0.0.2:6379"})
    mixed = start_migration(hook, FULL, redis_pair.source.endpoint(), {"addrs": "192.0.2.10:6379"})
    for task_id in (cloud, remote, mixed):
        wait_status(hook, task_id, "SUCCESS")
        stats = hook.get_migration_task_stats(task_id)
        assert stats.source_dbsize is not None
        assert 10_000 <= stats.source_dbsize < 100_000  # the simulation's invented figures
    with redis_pair.target.client() as client:
        assert client.dbsize() == 0


def test_simulate_only_emulator_never_touches_local_redis(
    emulator_conn_env: EmulatorProcess, redis_pair: RedisPair
) -> None:
    # The session emulator of conftest.py is an EmulatorProcess default: --simulate-only.
    with redis_pair.source.client() as client:
        client.set("k", "v")
    simulated = DcsHook(retry_policy=FAST_RETRY)
    task_id = start_migration(simulated, FULL, redis_pair.source.endpoint(), redis_pair.target.endpoint())
    wait_status(simulated, task_id, "SUCCESS")
    with redis_pair.target.client() as client:
        assert client.dbsize() == 0


# ------------------------------------------------------------------------------------------------
# Engine pieces (no server needed)
# ------------------------------------------------------------------------------------------------


def test_engine_choice_channel_parsing_and_ttls() -> None:
    from huaweicloud_dcs_emulator.engines.auto import runs_on_local_redis
    from huaweicloud_dcs_emulator.engines.keyspace_events import parse_keyspace_channel
    from huaweicloud_dcs_emulator.engines.protocol import Method, MigrationSpec, RedisEndpoint
    from huaweicloud_dcs_emulator.engines.redis_scripts import restore_ttl

    def spec(source: RedisEndpoint, target: RedisEndpoint) -> MigrationSpec:
        return MigrationSpec(task_id="t", method=Method.FULL, source=source, target=target)

    local = RedisEndpoint("source", addrs="127.0.0.1:6379")
    assert runs_on_local_redis(spec(local, RedisEndpoint("target", addrs="localhost:6380")))
    assert runs_on_local_redis(spec(local, RedisEndpoint("target", addrs="[::1]:6380")))
    assert not runs_on_local_redis(spec(local, RedisEndpoint("target", instance_id="dcs-1")))
    assert not runs_on_local_redis(spec(local, RedisEndpoint("target", addrs="10.0.0.2:6379")))
    assert not runs_on_local_redis(spec(local, RedisEndpoint("target", addrs="127.0.0.1:1,127.0.0.1:2")))

    assert parse_keyspace_channel(b"__keyspace@3__:a__:b\x00") == (3, b"a__:b\x00")
    assert parse_keyspace_channel(b"__keyspace@x__:a") is None
    assert parse_keyspace_channel(b"__keyevent@0__:set") is None
    assert [restore_ttl(t) for t in (-1, 0, 1, 5_000)] == [0, 1, 1, 5_000]


def test_error_texts_name_side_address_cause_and_never_the_password() -> None:
    from redis.exceptions import AuthenticationError, ResponseError
    from redis.exceptions import ConnectionError as RedisConnectionError

    from huaweicloud_dcs_emulator.engines.protocol import RedisEndpoint
    from huaweicloud_dcs_emulator.engines.redis_side import RedisSide

    side = RedisSide(RedisEndpoint("target", addrs="127.0.0.1:6380", password="pw-123"))
    refused = RedisConnectionError("Error 111 connecting to 127.0.0.1:6380.")
    refused.__context__ = ConnectionRefusedError(111, "Connect call failed")
    assert side.describe(refused, "connecting") == (
        "Failed to connect to target redis 127.0.0.1:6380: Connection refused"
    )
    wrong = AuthenticationError("invalid username-password pair or user is disabled.")
    assert (
        side.describe(wrong, "connecting")
        == f"Failed to authenticate to target redis 127.0.0.1:6380: {WRONGPASS}"
    )
    leaky = ResponseError("ERR something about pw-123")
    assert side.describe(leaky, "writing keys") == (
        "Error from target redis 127.0.0.1:6380 while writing keys: ERR something about ***"
    )
    side.connected = True
    assert side.describe(refused, "writing keys") == (
        "Lost connection to target redis 127.0.0.1:6380 while writing keys: Connection refused"
    )
