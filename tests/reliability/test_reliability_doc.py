"""docs/reliability.md says what the suite asserts, and names tests that exist.

The tables are rendered from recorded figures (``scripts/reliability_report.py --write``); this
test keeps the page honest between renderings: every case of the fault matrix has its row with the
outcome and the attempt count the matrix asserts, and every test a row names is a test function of
this repository.
"""

from __future__ import annotations

import re
from pathlib import Path

from reliability import figures
from reliability.test_fault_matrix import FAULT_CASES

DOC = figures.REPO / "docs" / "reliability.md"


def _table(name: str) -> list[dict[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- table:{name} -->\n(.*?)\n<!-- /table:{name} -->", text, re.S)
    assert match, f"docs/reliability.md has no table {name!r}"
    lines = [line for line in match.group(1).splitlines() if line.startswith("|")]
    assert len(lines) > 2, f"table {name!r} is empty: run scripts/reliability_report.py --write"
    split = re.compile(r"(?<!\\)\|")
    heads = [cell.strip() for cell in split.split(lines[0])[1:-1]]

    def plain(cell: str) -> str:  # the renderer escapes '|' and brackets
        return cell.strip().replace("\\|", "|").replace("\\[", "[").replace("\\]", "]")

    return [
        dict(zip(heads, (plain(cell) for cell in split.split(line)[1:-1]), strict=True)) for line in lines[2:]
    ]


def _test_exists(reference: str) -> bool:
    path, _, name = reference.strip("`").partition("::")
    file = figures.REPO / "tests" / path
    base = re.sub(r"\[.*\]$", "", name)
    return file.is_file() and re.search(rf"^\s*(async )?def {re.escape(base)}\(", file.read_text(), re.M)


def test_every_fault_of_the_matrix_is_in_the_doc_as_asserted() -> None:
    rows = {row["Fault"]: row for row in _table("faults")}
    for case in FAULT_CASES:
        assert case.fault in rows, f"docs/reliability.md lacks the fault {case.fault!r}"
        row = rows[case.fault]
        assert row["Outcome"] == case.outcome, (case.id, row["Outcome"])
        assert row["Attempts at the faulted endpoint"] == str(case.attempts), (case.id, row)
        assert row["Configure POSTs"] == str(case.configure_posts), (case.id, row)
        assert case.id in row["Test"], (case.id, row["Test"])


def test_the_issue_s_faults_all_have_a_row() -> None:
    faults = " ".join(rows["Fault"].lower() for rows in _table("faults"))
    for words in (
        "503",
        "429 with retry-after",
        "429 without retry-after",
        "reset mid-response",
        "read timeout",
        "html",
        "truncated json",
        "empty 200",
        "content-type",
        "dcs.4133",
        "backwards",
        "unknown new status",
        "clock",
        "triggerer",
        "worker killed",
    ):
        assert words in faults, f"no row for {words!r}"


def test_every_named_test_exists() -> None:
    for table in ("faults", "hostile_input", "path_ids", "fuzz", "load", "security"):
        for row in _table(table):
            assert _test_exists(row["Test"]), f"{table}: {row['Test']} is not a test of this repository"


def test_no_row_reports_a_failure_to_hold() -> None:
    for row in _table("hostile_input"):
        assert row["Requests sent"] == "0", row
    for row in _table("path_ids"):
        assert row["Requests sent"] == "0", row
        assert row["Refused"] == row["Escaping ids tried"], row
    for row in _table("fuzz"):
        assert row["Failures"] == "0", row
    for row in _table("load"):
        assert row["Stuck"] == "0", row
        assert row["Succeeded"] == row["Mapped migrations"] == row["Configures that took effect"], row
    assert Path(DOC).read_text().count("fails (slowly)") == 0


def test_the_wrong_outcome_cases_are_in_the_doc() -> None:
    rows = _table("wrong_outcomes")
    cases = " ".join(row["Case"].lower() for row in rows)
    for words in (
        "deleted mid-migration",
        "then released",
        "released while",
        "terminating",
        "password",
        "retried",
    ):
        assert words in cases, f"docs/reliability.md lacks the wrong-outcome case {words!r}"
    for row in rows:
        assert _test_exists(row["Test"]), row["Test"]


def test_the_hostile_configuration_rows_name_their_setting() -> None:
    rows = _table("hostile_config")
    settings = {row["Setting"] for row in rows}
    assert {"host", "extra timeout", "extra ca_bundle"} <= settings, settings
    for row in rows:
        assert row["Setting"].split()[-1] in row["Error (before any request)"], row
        assert _test_exists(row["Test"]), row["Test"]


def test_the_debug_level_scan_found_no_secret() -> None:
    rows = _table("debug_scan")
    paths = " ".join(row["Path run at DEBUG"] for row in rows)
    assert "dag.test()" in paths
    assert "hook" in paths
    for row in rows:
        assert row["Hits"] == "0", row
        assert int(row["DEBUG lines"]) > 0, row
