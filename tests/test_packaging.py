"""The release artefacts: ``scripts/package.sh`` builds an sdist and a wheel of the provider and of
the emulator (``emulator/``, its own distribution) that pass ``twine check --strict`` and hold what
users install: each package with ``py.typed``, the Apache-2.0 license, the entry points Airflow
(provider) and pytest and the shell (emulator) look for, and one version number each. The
provider's wheel holds no emulator and no pytest plugin.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from huaweicloud_dcs_emulator import __version__ as emulator_version
from huaweicloud_dcs_provider import __version__
from huaweicloud_dcs_provider.provider_info import get_provider_info

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "package.sh"), "--outdir", str(outdir)],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert result.stdout.count("PASSED") == 4, result.stdout[-4000:]  # twine, for all four files
    return outdir


def _wheel(dist: Path, distribution: str = "airflow_provider_huaweicloud_dcs") -> zipfile.ZipFile:
    (wheel,) = dist.glob(f"{distribution}-*.whl")
    return zipfile.ZipFile(wheel)


def _emulator_wheel(dist: Path) -> zipfile.ZipFile:
    return _wheel(dist, "huaweicloud_dcs_emulator")


def _metadata(
    dist: Path, distribution: str = "airflow_provider_huaweicloud_dcs"
) -> tuple[dict[str, list[str]], str]:
    wheel = _wheel(dist, distribution)
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    message = Parser().parsestr(wheel.read(name).decode())
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields, str(message.get_payload())


def test_the_version_is_written_in_one_place_and_everywhere_the_same(dist: Path) -> None:
    fields, _ = _metadata(dist)
    assert fields["Version"] == [__version__]
    assert get_provider_info()["versions"][0] == __version__
    assert {path.name for path in dist.iterdir()} == {
        f"airflow_provider_huaweicloud_dcs-{__version__}.tar.gz",
        f"airflow_provider_huaweicloud_dcs-{__version__}-py3-none-any.whl",
        f"huaweicloud_dcs_emulator-{emulator_version}.tar.gz",
        f"huaweicloud_dcs_emulator-{emulator_version}-py3-none-any.whl",
    }
    emulator_fields, _ = _metadata(dist, "huaweicloud_dcs_emulator")
    assert emulator_fields["Version"] == [emulator_version]
    # The changelog has an entry for the version being built.
    assert re.search(rf"^## \[{re.escape(__version__)}\]", (REPO / "CHANGELOG.md").read_text(), re.M)
    # No other file states a version of its own.
    version_lines = [
        path
        for path in (REPO / "provider").rglob("*.py")
        if re.search(r"^__version__\s*=", path.read_text(), re.M)
    ]
    assert [path.name for path in version_lines] == ["__init__.py"]
    emulator_version_lines = [
        path
        for path in (REPO / "emulator" / "huaweicloud_dcs_emulator").rglob("*.py")
        if re.search(r"^__version__\s*=", path.read_text(), re.M)
    ]
    assert [str(path.relative_to(REPO)) for path in emulator_version_lines] == [
        "emulator/huaweicloud_dcs_emulator/__init__.py"
    ]
    assert "version =" not in (REPO / "emulator" / "pyproject.toml").read_text().split("[tool.")[0]


def test_metadata_declares_the_license_classifiers_and_dependencies(dist: Path) -> None:
    fields, description = _metadata(dist)
    assert fields["License-Expression"] == ["Apache-2.0"]
    classifiers = set(fields["Classifier"])
    assert {"Framework :: Apache Airflow", "Framework :: Apache Airflow :: Provider"} <= classifiers
    assert "Typing :: Typed" in classifiers
    requires = " ".join(fields["Requires-Dist"])
    for dependency in ("apache-airflow>=2.11", "apache-airflow-providers-http", "tenacity"):
        assert dependency in requires
    assert fields["Requires-Python"] == [">=3.11"]
    assert "Changelog" in " ".join(fields["Project-URL"])
    assert "scripts/test.sh" in description  # the README is the long description
    # The emulator comes with the extras that need it, never with the provider itself.
    provides = set(fields["Provides-Extra"])
    assert {"testing", "test"} <= provides
    assert "emulator" not in provides
    assert 'huaweicloud-dcs-emulator>=0.1; extra == "testing"' in fields["Requires-Dist"]
    assert not any("huaweicloud-dcs-emulator" in r and "extra" not in r for r in fields["Requires-Dist"])


def test_emulator_metadata_declares_its_license_and_dependencies(dist: Path) -> None:
    fields, description = _metadata(dist, "huaweicloud_dcs_emulator")
    assert fields["Name"] == ["huaweicloud-dcs-emulator"]
    assert fields["License-Expression"] == ["Apache-2.0"]
    assert fields["Requires-Python"] == [">=3.11"]
    assert "Typing :: Typed" in set(fields["Classifier"])
    requires = fields["Requires-Dist"]
    for dependency in ("aiohttp>=3.12", "requests>=2.32", "redis>=5.0"):
        assert dependency in requires
    # Nothing of the provider or of Airflow; pytest loads the plugin itself, so it is no dependency.
    assert not any(r.startswith(("airflow", "apache-airflow", "pytest")) for r in requires)
    assert "dcs-emulator" in description  # its own README is the long description


def test_wheel_holds_the_package_license_and_entry_points(dist: Path) -> None:
    wheel = _wheel(dist)
    names = wheel.namelist()
    assert "huaweicloud_dcs_provider/py.typed" in names
    # The emulator and the pytest fixtures are the emulator's distribution, not the provider's.
    assert not [n for n in names if "emulator" in n or n.endswith("pytest_plugin.py")]
    license_file = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
    assert "Apache License" in wheel.read(license_file).decode()
    assert "Version 2.0" in wheel.read(license_file).decode()
    entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "provider_info = huaweicloud_dcs_provider.provider_info:get_provider_info" in entry_points
    assert "[pytest11]" not in entry_points
    assert "[console_scripts]" not in entry_points
    assert "dcs-emulator" not in entry_points
    # Only the package and its metadata: no tests, DAGs, scripts or docs.
    assert {name.split("/")[0] for name in names} == {
        "huaweicloud_dcs_provider",
        f"airflow_provider_huaweicloud_dcs-{__version__}.dist-info",
    }
    # No machine path leaked into the built files.
    for name in names:
        text = wheel.read(name).decode(errors="replace")
        assert str(REPO) not in text, name


def test_sdist_holds_the_sources_license_readme_and_changelog(dist: Path) -> None:
    (sdist,) = dist.glob("airflow_provider_huaweicloud_dcs-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml"} <= names
    assert "provider/huaweicloud_dcs_provider/py.typed" in names
    assert not any(name.startswith("tests/") for name in names)
    assert not any(name.startswith("emulator/") for name in names), "the emulator has its own sdist"


def test_emulator_wheel_holds_its_package_license_entry_points_and_no_provider(dist: Path) -> None:
    wheel = _emulator_wheel(dist)
    names = wheel.namelist()
    for module in ("py.typed", "__init__.py", "__main__.py", "pytest_plugin.py", "app.py", "routes.py"):
        assert f"huaweicloud_dcs_emulator/{module}" in names
    assert "huaweicloud_dcs_emulator/store/task_store.py" in names
    assert "huaweicloud_dcs_emulator/engines/redis_engine.py" in names
    license_file = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
    assert "Apache License" in wheel.read(license_file).decode()
    entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[pytest11]\nhuaweicloud_dcs = huaweicloud_dcs_emulator.pytest_plugin" in entry_points
    assert "[console_scripts]\ndcs-emulator = huaweicloud_dcs_emulator.__main__:main" in entry_points
    assert "apache_airflow_provider" not in entry_points
    assert {name.split("/")[0] for name in names} == {
        "huaweicloud_dcs_emulator",
        f"huaweicloud_dcs_emulator-{emulator_version}.dist-info",
    }
    for name in names:
        text = wheel.read(name).decode(errors="replace")
        assert str(REPO) not in text, name
        if name.endswith(".py"):
            assert "huaweicloud_dcs_provider" not in text, name


def test_emulator_sdist_holds_its_sources_license_and_readme(dist: Path) -> None:
    (sdist,) = dist.glob("huaweicloud_dcs_emulator-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "huaweicloud_dcs_emulator/py.typed"} <= names
    assert not any(name.startswith(("provider/", "tests/")) for name in names)


def test_the_readme_lists_the_dependencies_and_ranges_of_pyproject() -> None:
    """The README's "Depends on" line names every runtime dependency with its range, and no other."""
    from packaging.requirements import Requirement

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    line = re.search(r"^- Depends on ([^(]*)\(", (REPO / "README.md").read_text(), re.M)
    assert line is not None, "README.md: no '- Depends on `...`, ... (' line"
    listed = re.findall(r"`([^`]+)`", line[1])
    assert listed, line[0]
    assert sorted(str(Requirement(item)) for item in listed) == sorted(
        str(Requirement(item)) for item in declared
    )


def test_the_test_command_prints_the_slowest_tests() -> None:
    """``scripts/test.sh`` ends with the slowest tests (``--durations``): the suite takes minutes."""
    script = (REPO / "scripts" / "test.sh").read_text()
    (pytest_line,) = [line for line in script.splitlines() if re.search(r"-m pytest\b", line)]
    durations = re.search(r"--durations=(\d+)", pytest_line)
    assert durations is not None, pytest_line
    assert int(durations[1]) >= 10
    assert pytest_line.index("--durations") < pytest_line.index('"$@"'), "extra arguments can override it"
