"""The release artefacts: ``scripts/package.sh`` builds an sdist and a wheel that pass
``twine check --strict`` and hold what users install: the package with ``py.typed``, the
Apache-2.0 license, the entry points Airflow and pytest look for, and the one version number.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from huaweicloud_dcs_provider import __version__, get_provider_info

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
    assert result.stdout.count("PASSED") == 2, result.stdout[-4000:]  # twine, for both files
    return outdir


def _wheel(dist: Path) -> zipfile.ZipFile:
    (wheel,) = dist.glob("*.whl")
    return zipfile.ZipFile(wheel)


def _metadata(dist: Path) -> tuple[dict[str, list[str]], str]:
    wheel = _wheel(dist)
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
    }
    # The changelog has an entry for the version being built.
    assert re.search(rf"^## \[{re.escape(__version__)}\]", (REPO / "CHANGELOG.md").read_text(), re.M)
    # No other file states a version of its own.
    version_lines = [
        path
        for path in (REPO / "provider").rglob("*.py")
        if re.search(r"^__version__\s*=", path.read_text(), re.M)
    ]
    assert [path.name for path in version_lines] == ["__init__.py"]


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


def test_wheel_holds_the_package_license_and_entry_points(dist: Path) -> None:
    wheel = _wheel(dist)
    names = wheel.namelist()
    assert "huaweicloud_dcs_provider/py.typed" in names
    assert "huaweicloud_dcs_provider/pytest_plugin.py" in names
    license_file = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
    assert "Apache License" in wheel.read(license_file).decode()
    assert "Version 2.0" in wheel.read(license_file).decode()
    entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "provider_info = huaweicloud_dcs_provider:get_provider_info" in entry_points
    assert "huaweicloud_dcs = huaweicloud_dcs_provider.pytest_plugin" in entry_points
    assert "dcs-emulator = huaweicloud_dcs_provider.emulator.__main__:main" in entry_points
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
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml"} <= names
    assert "provider/huaweicloud_dcs_provider/py.typed" in names
    assert not any(name.startswith("tests/") for name in names)
