"""Options and hooks of the web-UI tests (``tests/ui``).

``--ui-screenshots DIR``: also write the screenshots into ``DIR`` (relative to the repository
root), e.g. ``--ui-screenshots docs/images``; ``$DCS_UI_SCREENSHOTS`` does the same. The option is
only known when pytest is started on ``tests/ui`` (or a file in it); the variable works always.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--ui-screenshots DIR``."""
    parser.addoption(
        "--ui-screenshots",
        default=None,
        metavar="DIR",
        help="also write the web-UI test's screenshots into DIR (e.g. docs/images); "
        "default: $DCS_UI_SCREENSHOTS, else only the test's temp directory",
    )
