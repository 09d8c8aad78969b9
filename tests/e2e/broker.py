"""The Celery broker of the distributed e2e deployment, read for the secret scan."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any

from huaweicloud_dcs_emulator.local_redis import RedisServer


def broker_dump(broker: RedisServer) -> str:
    """Every key of the Celery broker with its contents, as text (Kombu message bodies decoded)."""
    lines: list[str] = []
    with broker.client(0) as client:
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            value: Any
            if kind == "string":
                value = client.get(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "set":
                value = client.smembers(key)
            elif kind == "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            else:
                value = kind
            lines.append(f"{key!r}\t{kind}\t{value!r}")
            lines.extend(_kombu_bodies(value))
    return "\n".join(lines)


def _kombu_bodies(value: Any) -> list[str]:
    """The decoded bodies of the Kombu messages in a broker value (Kombu base64-encodes them)."""
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
    bodies = []
    for item in items:
        with contextlib.suppress(ValueError, TypeError, AttributeError, KeyError, binascii.Error):
            message = json.loads(item)
            if isinstance(message, list):  # unacked entries: [message, exchange, routing key]
                message = message[0]
            body = message["body"]
            if message.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body).decode("utf-8", errors="replace")
            bodies.append(f"\tbody\t{body}")
    return bodies
