"""Griffe extension of the docs build: Sphinx cross-reference roles become links.

The provider's docstrings use Sphinx roles (``:class:`DcsApiError```, ``:meth:`on_kill```,
``:class:`~huaweicloud_dcs_provider.sensors.migration.DcsMigrationTaskSensor```), which
mkdocstrings would otherwise print as they are. Each role becomes an optional autorefs
cross-reference: a link when the object is rendered somewhere in the site, plain code otherwise
(an optional reference never fails the ``--strict`` build). Used by mkdocs.yml only.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|data|attr|exc|mod|obj|const):`(~?)([^`<>]+)`")
_PACKAGE = "huaweicloud_dcs_provider"


def _target(obj: griffe.Object, name: str) -> str | None:
    """The full path of ``name`` as seen from ``obj``'s docstring, or None when it is not ours."""
    if name.startswith(f"{_PACKAGE}.") or name == _PACKAGE:
        return name
    if name.startswith("."):  # relative to the module, e.g. ".engine.MigrationEngine"
        module = obj.module
        base = module.path if module.is_package else (module.parent.path if module.parent else "")
        return f"{base}{name}" if base else None
    head, _, rest = name.partition(".")
    for scope in (obj, obj.parent):
        if scope is None:
            continue
        try:
            resolved = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError, KeyError):
            continue
        if resolved.startswith(_PACKAGE):
            return f"{resolved}.{rest}" if rest else resolved
    return None


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._walk(pkg)

    def _walk(self, obj: griffe.Object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(lambda match: self._ref(obj, match), obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member)  # type: ignore[arg-type]

    @staticmethod
    def _ref(obj: griffe.Object, match: re.Match[str]) -> str:
        tilde, name = match[1], match[2].strip()
        title = name.rsplit(".", 1)[-1] if tilde else name.lstrip(".")
        code = f"<code>{html.escape(title)}</code>"
        target = _target(obj, name)
        if target is None:
            return code
        return f'<autoref identifier="{html.escape(target)}" optional>{code}</autoref>'
