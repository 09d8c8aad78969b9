"""Headless Chromium for the web-UI tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser download (``playwright install``) does not work on a machine without
general internet access, so the browser is Debian's package (``scripts/ensure_chromium.sh``),
launched from :data:`CHROMIUM` with the flags a closed network needs (no background networking,
no component updates, no sync) and a fresh, empty profile that is removed afterwards (it lives
outside pytest's temp directory: a browser profile is not something the session's secret scan
should have to understand).

:class:`Screenshots` writes each step's PNG into the test's build directory, and also into the
docs directory when asked (``DCS_UI_SCREENSHOTS=docs/images`` or ``--ui-screenshots docs/images``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

REPO = Path(__file__).resolve().parents[2]
#: The browser: Debian's chromium, unless ``$DCS_UI_CHROMIUM`` names another Chromium binary.
CHROMIUM = Path(os.environ.get("DCS_UI_CHROMIUM", "/usr/bin/chromium"))
#: Flags for a headless Chromium on a closed network (without the background-networking ones it
#: keeps trying to reach Google services and misbehaves).
CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Viewport of the browser and size of the screenshots.
VIEWPORT = {"width": 1280, "height": 800}
#: Milliseconds Playwright waits for an element or a navigation before failing.
DEFAULT_TIMEOUT_MS = 30_000
#: Environment variable naming the docs directory for the screenshots.
SCREENSHOTS_ENV = "DCS_UI_SCREENSHOTS"
ENSURE_SCRIPT = "scripts/ensure_chromium.sh"


def require_browser() -> Path:
    """The Chromium binary; fails the test (never skips it) when it or Playwright is missing."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"headless Chromium not found at {CHROMIUM}: run {ENSURE_SCRIPT} (as root it installs "
            "Debian's chromium) or set DCS_UI_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(
            "the Python package 'playwright' is missing: run .venv/bin/pip install -e '.[test]'",
            pytrace=False,
        )
    return CHROMIUM


@contextlib.contextmanager
def chromium_page(*, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Iterator[Page]:
    """A page of a new headless Chromium with an empty profile (deleted afterwards)."""
    from playwright.sync_api import expect, sync_playwright

    executable = require_browser()
    profile = Path(tempfile.mkdtemp(prefix="dcs-ui-chromium-"))
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=str(executable),
                args=list(CHROMIUM_ARGS),
                headless=True,
                viewport=VIEWPORT,  # type: ignore[arg-type]
                locale="en-US",
                timezone_id="UTC",
            )
            try:
                context.set_default_timeout(timeout_ms)
                expect.set_options(timeout=timeout_ms)
                page = context.pages[0] if context.pages else context.new_page()
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def docs_screenshot_dir(option: str | None) -> Path | None:
    """Where the screenshots also go: the pytest option, else ``$DCS_UI_SCREENSHOTS``, else nowhere.

    A relative path is taken from the repository root (``docs/images``).
    """
    value = option or os.environ.get(SCREENSHOTS_ENV) or ""
    if not value.strip():
        return None
    path = Path(value)
    return path if path.is_absolute() else REPO / path


class Screenshots:
    """Numbered PNG screenshots of each step, in ``build_dir`` and (when set) in ``docs_dir``.

    :param build_dir: always written (the test's temp directory).
    :param docs_dir: the commit-ready copies (``docs/images``), or ``None``.
    """

    def __init__(self, build_dir: Path, docs_dir: Path | None = None) -> None:
        self.build_dir = build_dir
        self.docs_dir = docs_dir
        self.taken: list[Path] = []
        build_dir.mkdir(parents=True, exist_ok=True)
        if docs_dir is not None:
            docs_dir.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str, *, element: Locator | None = None) -> Path:
        """Screenshot the viewport (or just ``element``) as ``<name>.png``; returns the build copy."""
        target = self.build_dir / f"{name}.png"
        if element is not None:
            element.screenshot(path=str(target), animations="disabled")
        else:
            page.screenshot(path=str(target), animations="disabled", full_page=False)
        if self.docs_dir is not None:
            shutil.copyfile(target, self.docs_dir / target.name)
        self.taken.append(target)
        return target
