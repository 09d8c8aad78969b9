"""Client-supplied path patterns (fault rules, the request-log filter), bounded in cost.

A pattern is a Python regular expression searched in a URL path, as before, but only patterns whose
backtracking stays small are accepted; :func:`compile_path_pattern` refuses the others with a
:class:`ValueError` (the admin API answers HTTP 400):

* longer than :data:`MAX_PATTERN_CHARS` characters;
* a repeat inside a repeat (``(a+)+``, ``(a*)*``, ``(a+){20}``, ``(ab?)+``): exponential;
* an alternation inside a repeat (``(a|aa)+``): exponential;
* too many choices in all: a search tries every start in the path, and each variable-length
  repeat (``+``, ``*``, ``{m,n}``: up to 256 ways, ``?``: 2) and each alternation (the square of
  its branch count) multiplies the ways to try; their product times 256 (the starts) may not exceed
  :data:`MAX_WAYS` (``256 ** 3``: two ``+`` in a pattern, or one ``+`` and a few alternations);
* backreferences, conditionals and lookarounds.

And a path longer than :data:`MAX_MATCHED_PATH_CHARS` characters matches no pattern (real API
paths are about 100 characters; a rule without ``path`` still applies to it). Together these keep a
search under some 50 ms, whatever the path (the request-log filter yields to other requests every
ten entries, and gives up after :data:`~.request_log.FILTER_BUDGET_SECONDS`). The patterns the
tests use (literals, ``^``, ``$``, character classes with one ``+``:
``r"/migration/[0-9a-f-]+/task$"``) keep their meaning.
"""

from __future__ import annotations

import re
from typing import Any

#: Longest accepted pattern.
MAX_PATTERN_CHARS = 256
#: Longest path a pattern is searched in; longer paths match no pattern.
MAX_MATCHED_PATH_CHARS = 256
#: The most ways a search may try (starts x repeats x alternations; see the module docstring):
#: a worst-case search of a 256-character path then takes some 50 ms.
MAX_WAYS = MAX_MATCHED_PATH_CHARS**3

_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_REFUSED = {
    "GROUPREF": "backreferences",
    "GROUPREF_EXISTS": "conditional groups",
    "ASSERT": "lookarounds",
    "ASSERT_NOT": "lookarounds",
}


def _parse(pattern: str) -> Any:
    from re import _parser  # type: ignore[attr-defined]  # the stdlib's own regex parser

    return _parser.parse(pattern)


class _Budget:
    def __init__(self) -> None:
        self.ways = MAX_MATCHED_PATH_CHARS  # the start positions of a search

    def times(self, factor: int) -> None:
        self.ways *= max(1, factor)
        if self.ways > MAX_WAYS:
            raise ValueError(
                "too many repeats and alternations (each multiplies the work of a search; "
                "at most two + or *, or one and a few alternations)"
            )


def _walk(items: Any, in_repeat: bool, budget: _Budget) -> None:
    """Check one parsed sequence; ``in_repeat``: inside a repeat that can match more than once."""
    for op, av in items:
        name = str(op)
        if name in _REFUSED:
            raise ValueError(f"{_REFUSED[name]} are not allowed")
        if name in _REPEATS:
            low, high, sub = av
            repeating = high > 1
            variable = high != low
            if in_repeat and (repeating or variable):
                raise ValueError("a repeat inside a repeat (e.g. (a+)+) could backtrack catastrophically")
            if variable:
                budget.times(min(high - low + 1, MAX_MATCHED_PATH_CHARS))
            _walk(sub, in_repeat or repeating, budget)
        elif name == "BRANCH":
            if in_repeat:
                raise ValueError(
                    "an alternation inside a repeat (e.g. (a|aa)+) could backtrack catastrophically"
                )
            budget.times(len(av[1]) ** 2)  # a branch costs more than a repeat step
            for branch in av[1]:
                _walk(branch, in_repeat, budget)
        elif name == "SUBPATTERN":
            _walk(av[-1], in_repeat, budget)
        elif name == "ATOMIC_GROUP":
            _walk(av, in_repeat, budget)


def compile_path_pattern(pattern: Any) -> re.Pattern[str]:
    """The compiled pattern; :class:`ValueError` (a readable reason) when it is refused."""
    if not isinstance(pattern, str):
        raise ValueError("a path pattern must be a string (a regular expression)")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(
            f"a path pattern may have at most {MAX_PATTERN_CHARS} characters, not {len(pattern)}"
        )
    try:
        compiled = re.compile(pattern)
        tree = _parse(pattern)
    except (re.error, RecursionError, OverflowError) as err:
        raise ValueError(f"not a valid regular expression: {err}") from None
    budget = _Budget()
    try:
        _walk(tree, False, budget)
    except RecursionError:
        raise ValueError("the pattern is nested too deeply") from None
    except ValueError as err:
        raise ValueError(f"path pattern refused: {err}") from None
    return compiled


def path_matches(pattern: re.Pattern[str] | None, path: str) -> bool:
    """Whether ``pattern`` is found in ``path`` (``None`` matches any path)."""
    if pattern is None:
        return True
    if len(path) > MAX_MATCHED_PATH_CHARS:
        return False
    return pattern.search(path) is not None
