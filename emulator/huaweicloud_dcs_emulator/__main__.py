"""Command line: ``python -m huaweicloud_dcs_emulator`` (console script ``dcs-emulator``).

Credentials come from flags or the environment (``DCS_EMULATOR_ACCESS_KEY``,
``DCS_EMULATOR_SECRET_KEY``, ``DCS_EMULATOR_PROJECT_ID``, ``DCS_EMULATOR_SECURITY_TOKEN``); the
environment is preferred for secrets (flags are visible to other local users in ``ps``). Without
an access key / secret key pair, random ones are generated and written, as an Airflow connection
JSON document, to ``--conn-file`` (mode 0600; a file in the temp directory if no path is given).
The secret key and the security token are never printed or logged.

The admin API (``/_emulator/...``) needs the per-run admin token in the ``X-Emulator-Token``
header: ``--admin-token`` or ``DCS_EMULATOR_ADMIN_TOKEN`` (the environment is better), else a
random one. It is printed in the startup banner on stdout and written, with the port and the base
URL, to the ``--ready-file`` (a JSON document, mode 0600).

``--instance ID[=HOST:PORT][;KEY=VALUE]...`` (repeatable) registers the DCS instances the emulator
knows (an unknown instance id fails as on the cloud: HTTP 404 DCS.3022); a Redis Cluster gives
``HOST:PORT,HOST:PORT,...``; the keys are ``engine_version``, ``cache_mode``, ``max_memory_mb``,
``status`` and ``no_password_access`` (what "Query a DCS instance" shows), e.g.
``--instance 'dcs-1=127.0.0.1:6379;engine_version=5.0;cache_mode=single'`` (quote the ``;`` from
the shell). ``--time-scale`` multiplies every lifecycle duration.

With ``--tls-cert`` and ``--tls-key`` (PEM files) the emulator serves HTTPS instead of HTTP (for
testing the hooks' certificate verification); the connection document then has an ``https://``
host, and clients must trust the certificate's CA (connection extra ``ca_bundle``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import ssl
import string
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from huaweicloud_dcs_emulator import DEFAULT_PORT
from huaweicloud_dcs_emulator.app import EmulatorSettings, create_app
from huaweicloud_dcs_emulator.auth import AuthConfig
from huaweicloud_dcs_emulator.connection import connection_document
from huaweicloud_dcs_emulator.engines.factory import real_migration_available
from huaweicloud_dcs_emulator.routes import ADMIN_TOKEN_ENV, ADMIN_TOKEN_HEADER
from huaweicloud_dcs_emulator.service import new_admin_token
from huaweicloud_dcs_emulator.store.config import (
    DELETED_DETAIL_CHOICES,
    DURATIONS,
    RELEASED_STATS_CHOICES,
    EmulatorConfig,
)
from huaweicloud_dcs_emulator.store.instances import Instance

log = logging.getLogger("huaweicloud_dcs_emulator")

ENV_ACCESS_KEY = "DCS_EMULATOR_ACCESS_KEY"
ENV_SECRET_KEY = "DCS_EMULATOR_SECRET_KEY"  # noqa: S105 - a variable name
ENV_PROJECT_ID = "DCS_EMULATOR_PROJECT_ID"
ENV_SECURITY_TOKEN = "DCS_EMULATOR_SECURITY_TOKEN"  # noqa: S105 - a variable name


def random_access_key() -> str:
    """A random 20-character access key, shaped like Huawei Cloud's."""
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(20))


def random_secret_key() -> str:
    """A random 40-character secret key."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


def random_project_id() -> str:
    """A random 32-hex-digit project id."""
    return secrets.token_hex(16)


def _instance(spec: str) -> Instance:
    try:
        return Instance.parse(spec)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _choice_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        for choice in choices:
            if choice.lower() == text.lower():
                return choice
        raise argparse.ArgumentTypeError(f"{text!r}: one of {', '.join(choices)}")

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The CLI definition."""
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="dcs-emulator",
        description="Local emulator of the Huawei Cloud DCS v2 data-migration API (AK/SK signed).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (0 = any free port; default: {DEFAULT_PORT})"
    )
    parser.add_argument("--access-key", help=f"accepted AK (env {ENV_ACCESS_KEY}; random if unset)")
    parser.add_argument("--secret-key", help=f"accepted SK (prefer env {ENV_SECRET_KEY}; random if unset)")
    parser.add_argument(
        "--project-id", help=f"project id of the paths (env {ENV_PROJECT_ID}; random if unset)"
    )
    parser.add_argument(
        "--security-token",
        help=f"temporary credentials: the required X-Security-Token (prefer env {ENV_SECURITY_TOKEN})",
    )
    parser.add_argument(
        "--admin-token",
        help=f"the admin API's token, sent in {ADMIN_TOKEN_HEADER} "
        f"(prefer env {ADMIN_TOKEN_ENV}; random if unset)",
    )
    parser.add_argument("--conn-file", type=Path, help="write the Airflow connection JSON here (mode 0600)")
    parser.add_argument(
        "--ready-file",
        type=Path,
        help='once ready, write {"port", "base_url", "admin_token"} here as JSON (mode 0600)',
    )
    parser.add_argument(
        "--instance",
        action="append",
        type=_instance,
        default=[],
        metavar="ID[=HOST:PORT[,HOST:PORT...]][;KEY=VALUE...]",
        help="a DCS instance the emulator knows (repeatable; kept across a reset); unknown ids get "
        "HTTP 404 DCS.3022. Several HOST:PORT: a Redis Cluster. KEY: engine_version (default 6.0), "
        "cache_mode (single, ha, cluster, proxy, ha_rw_split; default ha, or cluster), max_memory_mb "
        "(default 1024), status (default RUNNING), no_password_access (true/false; default false), "
        "e.g. 'dcs-1=127.0.0.1:6379;engine_version=5.0;cache_mode=single'",
    )
    parser.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", type=Path, help="private key of --tls-cert (PEM)")
    for name, help_text in (
        ("create", "CREATING -> RUNNING"),
        ("full", "full sync duration / incremental offset drain"),
        ("stop", "TERMINATING -> TERMINATED"),
        ("fail", "configure -> MIGRATION_FAILED for failing inputs"),
        ("job", "async whitelist job duration"),
        ("exchange", "IP switch duration"),
        ("release-after", "SUCCESS -> RELEASED of a full migration"),
    ):
        default = getattr(defaults, f"{name.replace('-', '_')}_seconds")
        parser.add_argument(
            f"--{name}-seconds", type=float, default=default, help=f"{help_text} (default: {default} s)"
        )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=defaults.time_scale,
        help="multiply every lifecycle duration by this factor (e.g. 60 for cloud-like minutes; "
        f"default: {defaults.time_scale:g})",
    )
    parser.add_argument(
        "--deleted-detail",
        type=_choice_of(DELETED_DETAIL_CHOICES),
        default=defaults.deleted_detail,
        metavar="{" + ",".join(DELETED_DETAIL_CHOICES) + "}",
        help=f"what GET detail answers for a deleted task (default: {defaults.deleted_detail}; "
        "not_found = HTTP 400 DCS.4133)",
    )
    parser.add_argument(
        "--released-stats",
        type=_choice_of(RELEASED_STATS_CHOICES),
        default=defaults.released_stats,
        metavar="{" + ",".join(RELEASED_STATS_CHOICES) + "}",
        help=f"the stats of a RELEASED task: kept (the final figures) or gone (HTTP 400 DCS.4133; "
        f"default: {defaults.released_stats})",
    )
    parser.add_argument(
        "--simulate-only",
        action="store_true",
        help="simulate every migration, even between local Redis servers (default: tasks whose source "
        "and target are both a loopback addrs really copy keys, if the redis package is installed)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    return parser


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 (atomically, via a sibling temp file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def server_ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2+) serving ``cert`` (chain, PEM) with ``key``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    return context


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


async def serve(
    settings: EmulatorSettings,
    *,
    host: str,
    port: int,
    conn_file: Path | None,
    ready_file: Path | None,
    generated: bool,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Run the server until SIGINT/SIGTERM (HTTPS when ``ssl_context`` is given)."""
    runner = web.AppRunner(create_app(settings), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    actual_port = int(runner.addresses[0][1])
    scheme = "https" if ssl_context is not None else "http"
    base_url = f"{scheme}://{_url_host(host)}:{actual_port}"
    if generated and conn_file is None:
        conn_file = Path(tempfile.gettempdir()) / f"dcs-emulator-{actual_port}.conn.json"
    if conn_file is not None:
        document = connection_document(
            base_url=base_url,
            access_key=settings.auth.access_key,
            secret_key=settings.auth.secret_key,
            project_id=settings.auth.project_id,
            security_token=settings.auth.security_token,
        )
        _write_private(conn_file, json.dumps(document) + "\n")
        log.info("Airflow connection JSON written to %s", conn_file)
    log.info(
        "access key %s, project id %s%s%s",
        settings.auth.access_key,
        settings.auth.project_id,
        " (temporary credentials: X-Security-Token required)" if settings.auth.security_token else "",
        " (generated; secret key only in the connection file)" if generated else "",
    )
    if ready_file is not None:
        ready = {"port": actual_port, "base_url": base_url, "admin_token": settings.admin_token}
        _write_private(ready_file, json.dumps(ready) + "\n")
    log.info("listening on %s (admin API: token required in %s)", base_url, ADMIN_TOKEN_HEADER)
    print(f"listening on {base_url}", flush=True)
    print(f"admin token: {settings.admin_token} (send it in the {ADMIN_TOKEN_HEADER} header)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s dcs-emulator: %(message)s",
        stream=sys.stderr,
    )
    access_key = args.access_key or os.environ.get(ENV_ACCESS_KEY) or None
    secret_key = args.secret_key or os.environ.get(ENV_SECRET_KEY) or None
    if (access_key is None) != (secret_key is None):
        print("dcs-emulator: give both an access key and a secret key, or neither", file=sys.stderr)
        return 2
    generated = access_key is None
    if access_key is None or secret_key is None:
        access_key, secret_key = random_access_key(), random_secret_key()
    project_id = args.project_id or os.environ.get(ENV_PROJECT_ID) or random_project_id()
    token = args.security_token or os.environ.get(ENV_SECURITY_TOKEN) or None
    admin_token = args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or new_admin_token()
    try:
        config = EmulatorConfig().updated(
            {
                **{name: getattr(args, name) for name in DURATIONS},
                "time_scale": args.time_scale,
                "deleted_detail": args.deleted_detail,
                "released_stats": args.released_stats,
            }
        )
    except ValueError as err:
        print(f"dcs-emulator: {err}", file=sys.stderr)
        return 2
    real_migration = not args.simulate_only and real_migration_available()
    if args.simulate_only:
        log.info("--simulate-only: every migration is simulated")
    elif real_migration:
        log.info("real migration enabled: tasks between loopback Redis addrs copy keys for real")
    else:
        log.info(
            "the redis package is not installed: every migration is simulated "
            "(pip install redis for real local migrations)"
        )
    settings = EmulatorSettings(
        auth=AuthConfig(
            access_key=access_key, secret_key=secret_key, project_id=project_id, security_token=token
        ),
        config=config,
        real_migration=real_migration,
        instances=tuple(args.instance),
        admin_token=admin_token,
    )
    if (args.tls_cert is None) != (args.tls_key is None):
        print("dcs-emulator: give both --tls-cert and --tls-key, or neither", file=sys.stderr)
        return 2
    ssl_context: ssl.SSLContext | None = None
    if args.tls_cert is not None:
        try:
            ssl_context = server_ssl_context(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as err:
            print(f"dcs-emulator: cannot load the TLS certificate or key: {err}", file=sys.stderr)
            return 2
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("binding to %s: the emulator is meant for local use only", args.host)
    try:
        asyncio.run(
            serve(
                settings,
                host=args.host,
                port=args.port,
                conn_file=args.conn_file,
                ready_file=args.ready_file,
                generated=generated,
                ssl_context=ssl_context,
            )
        )
    except OSError as err:
        log.error("cannot start: %s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
