"""Fault injection rules of the emulator (applied by :mod:`.fault_injection`).

A rule (posted as JSON to ``/_emulator/faults``) matches API requests by method and a regular
expression searched in the URL path (no query string; bounded in cost, see :mod:`.path_patterns`),
and does one of:

* ``status``: answer an HTTP error (429, 5xx, or a 4xx such as a "busy" ``DCS.4017``) with the
  usual error body, optionally with ``Retry-After``. With ``body`` (raw text, sent as it is),
  any status from 200 to 599 may be answered: a gateway's HTML error page, an empty 200
  (``"body": ""``), a fixed answer; ``content_type`` sets its ``Content-Type`` (default:
  ``text/html`` when the body starts with ``<``, else ``text/plain``);
* ``drop``: close the TCP connection without any response;
* ``latency``: sleep ``delay`` seconds, then carry on (the next rule, or the real handler).

Three more actions damage the real handler's answer, so they need ``when: after``:

* ``truncate``: send only the first ``keep_bytes`` bytes of the answer's body (with a matching
  ``Content-Length``): a truncated JSON document, complete as far as HTTP is concerned;
* ``content_type``: send the answer unchanged but with ``Content-Type: <content_type>`` (e.g.
  ``text/html`` on a valid JSON body);
* ``reset``: send the status line and the headers with the *full* ``Content-Length``, then only
  the first ``keep_bytes`` bytes of the body (default: half of it), then close the TCP
  connection: the client's read breaks in the middle of the answer.

``when`` is ``before`` (default: the request never reaches the API, nothing happens) or
``after`` (the API processes the request, its side effect happens, then the fault applies to the
answer). ``count`` is how many matching requests the rule affects before it expires (default 1;
``null`` = forever). ``probability`` (0 < p <= 1, default 1) makes a rule apply to only that share
of matching requests, drawn from a random generator seeded by ``seed`` (the rule's own seed, so a
run is repeatable); a request the draw spares does not count against ``count``. Rules are tried in
the order they were added; latency rules stack, the first rule of any other action ends the
request.

Besides the rules, two admin settings fake what a fault rule cannot: the ``clock_skew_seconds``
config value shifts the gateway's clock (signatures of a correct client then look expired, and
the ``Date`` header shows the shifted time), and ``POST /_emulator/tasks/{task_id}/status``
forces the status a task reports for a while (a status going backwards, or an unknown one). A
detail read answered with a forced status shows ``status_override`` among its ``faults`` in the
request log.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from typing import Any

from huaweicloud_dcs_emulator.path_patterns import compile_path_pattern, path_matches

ACTIONS = ("status", "drop", "latency", "truncate", "content_type", "reset")
#: Actions that change the real handler's answer (``when: after`` only).
AFTER_ONLY_ACTIONS = frozenset({"truncate", "content_type", "reset"})
#: Actions that end the request (the first one that applies wins).
TERMINAL_ACTIONS = frozenset(ACTIONS) - {"latency"}
WHENS = ("before", "after")

#: Default ``(error_code, error_msg)`` of a ``status`` fault, by HTTP status.
_DEFAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("DCS.4017", "This DCS instance job task is still running."),
    401: ("APIGW.0301", "Incorrect IAM authentication information: injected fault"),
    403: ("DCS.2007", "The IAM policy denies the action."),
    404: ("APIGW.0101", "The API does not exist or has not been published in the environment"),
    429: (
        "APIGW.0308",
        "The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 minute",
    ),
}


def default_error(status: int) -> tuple[str, str]:
    """Error code and message a ``status`` fault uses when the rule gives none."""
    if status in _DEFAULT_ERRORS:
        return _DEFAULT_ERRORS[status]
    if status >= 500:
        return ("DCS.5000", "Internal error.")
    return ("DCS.4000", "Injected error.")


_ids = itertools.count(1)


@dataclass
class FaultRule:
    """One fault rule; see the module docstring."""

    action: str
    method: str | None = None
    path: str | None = None
    status: int = 503
    error_code: str | None = None
    error_msg: str | None = None
    retry_after: str | None = None
    delay: float = 1.0
    count: int | None = 1
    when: str = "before"
    body: str | None = None
    probability: float = 1.0
    seed: int | None = None
    content_type: str | None = None
    keep_bytes: int | None = None
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed if self.seed is not None else self.id)

    @classmethod
    def from_json(cls, data: Any) -> FaultRule:
        """Validate a posted rule; :class:`ValueError` with a readable message when invalid."""
        if not isinstance(data, dict):
            raise ValueError("a fault rule must be a JSON object")
        known = {
            "action",
            "method",
            "path",
            "status",
            "error_code",
            "error_msg",
            "retry_after",
            "delay",
            "count",
            "when",
            "body",
            "probability",
            "seed",
            "content_type",
            "keep_bytes",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault rule field(s) {unknown}; known: {sorted(known)}")
        action = data.get("action", "status")
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {list(ACTIONS)}")
        when = data.get("when") or "before"
        if when not in WHENS:
            raise ValueError(f"when must be one of {list(WHENS)}")
        if action in AFTER_ONLY_ACTIONS and when != "after":
            raise ValueError(f"action {action!r} changes the API's answer: it needs when='after'")
        method = data.get("method")
        if method is not None and (not isinstance(method, str) or not method):
            raise ValueError("method must be an HTTP method or null")
        path = data.get("path")
        pattern = None
        if path is not None:
            if not isinstance(path, str):
                raise ValueError("path must be a regular expression (string) or null")
            try:
                pattern = compile_path_pattern(path)
            except ValueError as err:
                raise ValueError(f"path: {err}") from None
        status = data.get("status", 503)
        lowest = 200 if data.get("body") is not None else 400
        if isinstance(status, bool) or not isinstance(status, int) or not lowest <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599), or 200-599 with a raw 'body'")
        delay = data.get("delay", 1.0)
        if delay is None:
            delay = 1.0
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 600:
            raise ValueError("delay must be a number of seconds (0-600)")
        count = data.get("count", 1)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer or null (forever)")
        retry_after = data.get("retry_after")
        if retry_after is not None:
            if isinstance(retry_after, bool) or not isinstance(retry_after, int | float | str):
                raise ValueError("retry_after must be a number of seconds, an HTTP date or null")
            retry_after = str(int(retry_after)) if isinstance(retry_after, int | float) else retry_after
        probability = data.get("probability", 1.0)
        if probability is None:
            probability = 1.0
        if (
            isinstance(probability, bool)
            or not isinstance(probability, int | float)
            or not 0 < probability <= 1
        ):
            raise ValueError("probability must be a number in (0, 1]")
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer or null")
        for name in ("error_code", "error_msg", "body", "content_type"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or null")
        content_type = data.get("content_type")
        if action == "content_type" and not content_type:
            raise ValueError("action 'content_type' needs the content_type to send")
        if content_type is not None and ("\r" in content_type or "\n" in content_type):
            raise ValueError("content_type must be a single header value")
        keep_bytes = data.get("keep_bytes")
        if keep_bytes is not None and (
            isinstance(keep_bytes, bool) or not isinstance(keep_bytes, int) or keep_bytes < 0
        ):
            raise ValueError("keep_bytes must be an integer >= 0 or null")
        if action == "truncate" and keep_bytes is None:
            raise ValueError("action 'truncate' needs keep_bytes (how many bytes of the body to send)")
        return cls(
            action=action,
            method=method.upper() if method else None,
            path=path,
            status=status,
            error_code=data.get("error_code"),
            error_msg=data.get("error_msg"),
            retry_after=retry_after,
            delay=float(delay),
            count=count,
            when=when,
            body=data.get("body"),
            probability=float(probability),
            seed=seed,
            content_type=content_type,
            keep_bytes=keep_bytes,
            _pattern=pattern,
        )

    def matches(self, method: str, path: str) -> bool:
        """True when the rule applies to a request (ignores ``count``)."""
        if self.method is not None and self.method != method.upper():
            return False
        return path_matches(self._pattern, path)

    def draw(self) -> bool:
        """Whether this matching request is affected (always, unless ``probability`` < 1)."""
        return self.probability >= 1 or self._random.random() < self.probability

    @property
    def remaining(self) -> int | None:
        """Requests the rule will still affect (``None``: unlimited)."""
        return None if self.count is None else max(0, self.count - self.hits)

    def error_body(self) -> dict[str, Any]:
        """JSON body of a ``status`` fault."""
        code, message = default_error(self.status)
        return {
            "error_code": self.error_code or code,
            "error_msg": self.error_msg or message,
            "error_ext_msg": None,
        }

    def to_json(self) -> dict[str, Any]:
        """JSON form (as listed by ``GET /_emulator/faults``)."""
        return {
            "id": self.id,
            "action": self.action,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "error_code": self.error_code,
            "error_msg": self.error_msg,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "count": self.count,
            "when": self.when,
            "body": self.body,
            "probability": self.probability,
            "seed": self.seed,
            "content_type": self.content_type,
            "keep_bytes": self.keep_bytes,
            "hits": self.hits,
            "remaining": self.remaining,
        }


class FaultStore:
    """Active rules, in the order they were added."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        """Register a rule."""
        self._rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        """Delete one rule; False if unknown."""
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        """Delete every rule."""
        self._rules.clear()

    def rules(self) -> list[FaultRule]:
        """Active rules."""
        return list(self._rules)

    def take(self, when: str, method: str, path: str) -> list[FaultRule]:
        """Rules to apply now, consumed atomically (latency rules, then at most one terminal rule)."""
        chosen: list[FaultRule] = []
        for rule in self._rules:
            if rule.when != when or not rule.matches(method, path) or not rule.draw():
                continue
            rule.hits += 1
            chosen.append(rule)
            if rule.action in TERMINAL_ACTIONS:
                break
        self._rules = [r for r in self._rules if r.remaining != 0]
        return chosen
