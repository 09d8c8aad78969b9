"""How the async hook puts a call on the wire with ``aiohttp``, and what its failures mean.

* one keep-alive session (one connection pool) per event loop, shared by every async hook inside
  ``async with`` (:func:`acquire_session` / :func:`release_session`): the triggerer runs all its
  triggers in one loop, and a session per trigger costs a thousand triggers hundreds of MB and a
  thousand idle connections to the API gateway;
* one SSL context per CA bundle for the whole process (:func:`shared_ssl_context`);
* :func:`send`: one signed attempt, ``aiohttp`` failures turned into
  :class:`~huaweicloud_dcs_provider.exceptions.DcsConnectionError` saying whether the request may
  have reached the server.

``aiohttp`` is imported when first used: importing this module costs nothing.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from huaweicloud_dcs_provider.api.signing import now_sdk_date, prepare_signed
from huaweicloud_dcs_provider.api.transport import Call
from huaweicloud_dcs_provider.connection import (
    DcsConnectionSettings,
    plain_http_message,
    plain_text_answer,
    tls_failure_detail,
    tls_failure_message,
)
from huaweicloud_dcs_provider.exceptions import DcsConnectionError, DcsTlsError

#: SSL contexts of the async hook, one per CA bundle (path and version) for the whole process.
_SSL_CONTEXTS: dict[tuple[str, int, int], Any] = {}
_SSL_CONTEXTS_LOCK = threading.Lock()


def shared_ssl_context(settings: DcsConnectionSettings) -> Any:
    """What ``aiohttp`` takes as ``ssl=``, shared by every async hook trusting the same CA bundle.

    A context that loaded a CA bundle holds the parsed certificates (a few hundred KB with a
    full bundle): a triggerer running a thousand triggers must not hold a thousand of them. The
    key has the file's modification time and size, so a replaced bundle is read again. Blocking
    (reads the bundle): call it off the event loop.
    """
    verify = settings.verify
    if isinstance(verify, bool):
        return verify  # aiohttp's own shared default context, or no verification
    try:
        info = os.stat(verify)
    except OSError:
        return settings.ssl_context  # fails with the usual error
    key = (verify, info.st_mtime_ns, info.st_size)
    with _SSL_CONTEXTS_LOCK:
        context = _SSL_CONTEXTS.get(key)
        if context is None:
            if len(_SSL_CONTEXTS) >= 64:  # bundles rotated many times: forget the old ones
                _SSL_CONTEXTS.clear()
            context = _SSL_CONTEXTS[key] = settings.ssl_context
    return context


class _SharedSession:
    """The ``aiohttp`` session every async hook of one event loop uses inside ``async with``."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.users = 0


_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedSession] = weakref.WeakKeyDictionary()


def acquire_session() -> Any:
    """The loop's shared session (made on first use); pair with :func:`release_session`.

    Safe to share: every request carries its own signature, timeout and TLS settings; the pool
    keys connections by host, port, TLS context and proxy; and cookies are not kept, so nothing
    one connection (or credential) receives is sent on behalf of another.
    """
    import aiohttp

    loop = asyncio.get_running_loop()
    shared = _SESSIONS.get(loop)
    if shared is None or shared.session.closed:
        shared = _SESSIONS[loop] = _SharedSession(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),  # as many connections as calls at once
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        )
    shared.users += 1
    return shared.session


async def release_session(session: Any) -> None:
    """One user less; the last one closes the session (and its connections)."""
    shared = _SESSIONS.get(asyncio.get_running_loop())
    if shared is None or shared.session is not session:
        return  # already replaced after being closed elsewhere
    shared.users -= 1
    if shared.users <= 0:
        del _SESSIONS[asyncio.get_running_loop()]
        await session.close()


async def send(
    client: Any, settings: DcsConnectionSettings, ssl: Any, call: Call[Any]
) -> tuple[int, Mapping[str, str], bytes]:
    """One signed attempt of ``call``: ``(status, headers, body)``, no retry.

    ``client`` is an ``aiohttp.ClientSession``, or ``None`` for a session of this call only.
    """
    import aiohttp
    import yarl

    prepared = prepare_signed(
        method=call.api.method,
        base_url=settings.endpoint,
        path=call.path(settings.project_id),
        query=call.query,
        headers=call.headers(settings.project_id),
        body=call.body_bytes(),
        credentials=settings.credentials,
        sdk_date=now_sdk_date(),
    )
    owned = client is None
    session = aiohttp.ClientSession() if owned else client
    timeout = aiohttp.ClientTimeout(sock_connect=settings.connect_timeout, sock_read=settings.read_timeout)
    endpoint, operation = settings.endpoint, call.operation
    try:
        async with session.request(
            prepared.method,
            yarl.URL(prepared.url, encoded=True),
            data=prepared.body,
            headers=prepared.headers,
            timeout=timeout,
            allow_redirects=False,
            proxy=settings.proxy,
            ssl=ssl,
        ) as response:
            body = await response.read()
            return response.status, dict(response.headers), body
    except aiohttp.ClientConnectorCertificateError as exc:
        raise DcsTlsError(
            tls_failure_message(operation, endpoint, tls_failure_detail(str(exc))),
            request_sent=False,
            operation=operation,
        ) from None
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        plain = plain_text_answer(str(exc)) if isinstance(exc, aiohttp.ClientSSLError) else None
        if plain:  # a plain-HTTP server answered the handshake: no retry will change that
            raise DcsTlsError(
                plain_http_message(operation, endpoint, plain), request_sent=False, operation=operation
            ) from None
        raise DcsConnectionError(
            f"DCS {operation}: cannot connect to {endpoint} ({type(exc).__name__})",
            request_sent=False,
            operation=operation,
        ) from None
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
        raise DcsConnectionError(
            f"DCS {operation}: connection to {endpoint} broken in the middle of the "
            f"answer ({type(exc).__name__}; the request may have been processed)",
            request_sent=True,
            operation=operation,
        ) from None
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise DcsConnectionError(
            f"DCS {operation}: connection to {endpoint} lost or timed out ({type(exc).__name__})",
            request_sent=True,
            operation=operation,
        ) from None
    finally:
        if owned:
            await session.close()
