"""The provider in the Airflow 3 web UI, driven in headless Chromium (Playwright).

A real deployment (:mod:`e2e.airflow_stack`: api-server, scheduler, dag-processor, triggerer,
``[core] test_connection = Enabled``) and the DCS emulator with temporary credentials (so the
connection carries a security token). The browser logs in through the SimpleAuthManager login
page (user ``admin``, the stack's generated password), then, as a user would:

1. opens Admin > Connections > Add Connection, picks "Huawei Cloud DCS" and checks what is shown:
   exactly our relabelled standard fields (Description, Endpoint URL, Access Key ID, Secret
   Access Key; no Host, Schema, Port, Login or Password) with our placeholders, the secret as a
   password input, and our four extra fields (Project ID, Region, Security token, CA bundle) with
   their labels and descriptions, the security token a password input too;
2. fills the form with the emulator's endpoint and credentials and saves it as
   ``huaweicloud_dcs_default``; the connection list's "Test Connection" button reports success
   with our hook's message (on Airflow 3.3.2 only with the browser's request patched: see
   :func:`work_around_portless_test_bug`); the edit form shows neither the SK nor the security
   token;
3. saves a second connection whose Secret Access Key is wrong: "Test Connection" fails with a
   message naming the authentication problem and the gateway's error code, showing no secret;
4. triggers a DAG (``tests/ui/dags/dcs_ui_console_link.py``: our configure operator on the form's
   connection) through the REST API and opens the task instance's page: the "DCS Migration Task"
   extra link points at the task's console URL.

Screenshots of each step go to the test's temp directory, and to ``docs/images`` with
``DCS_UI_SCREENSHOTS=docs/images`` (or ``--ui-screenshots docs/images``); see ``docs/ui.md``.

Skipped on Airflow 2 (another UI); fails, never skips, when Chromium is missing (run
``scripts/ensure_chromium.sh``).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import secret_hygiene
from airflow_versions import requires_airflow3
from e2e.airflow_stack import USERNAME, AirflowStack
from huaweicloud_dcs_emulator.testing import (
    FAST_TIMINGS,
    EmulatorProcess,
    random_security_token,
)
from huaweicloud_dcs_provider.links import DcsMigrationTaskLink, console_url
from huaweicloud_dcs_provider.provider_info import CONN_FIELDS, HOOK_NAME, UI_FIELD_BEHAVIOUR
from ui.browser import Screenshots, chromium_page, docs_screenshot_dir, require_browser

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Request, Route

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300), requires_airflow3]

HERE = Path(__file__).resolve().parent
DAG_FILE = HERE / "dags" / "dcs_ui_console_link.py"
DAG_ID = "dcs_ui_console_link"
TASK_ID = "configure"
CONN_ID = "huaweicloud_dcs_default"
BAD_CONN_ID = "huaweicloud_dcs_wrong_sk"
REGION = "ap-southeast-1"
#: The relabelled standard fields the form must show (and nothing else besides Description).
STANDARD_LABELS = {
    "Description",
    UI_FIELD_BEHAVIOUR["relabeling"]["host"],
    UI_FIELD_BEHAVIOUR["relabeling"]["login"],
    UI_FIELD_BEHAVIOUR["relabeling"]["password"],
}
#: Airflow's own labels of the fields we hide or relabel: none may be shown.
STRAY_LABELS = {"Host", "Schema", "Port", "Login", "Password", "Extra"}
#: Our extra fields: label -> (input name in the form, definition).
EXTRA_FIELDS = {
    definition["label"]: (f"element_{name}", definition) for name, definition in CONN_FIELDS.items()
}
#: Labels of the dialog's own fields (always shown above the accordion).
DIALOG_LABELS = {"Connection ID", "Connection Type"}
TEST_SUCCESS = "Test Connection Successful"
TEST_FAILED = "Test Connection Failed"


@dataclass
class UiDeployment:
    """The emulator, the Airflow deployment and what the test needs to log in."""

    stack: AirflowStack
    emulator: EmulatorProcess
    password: str = field(repr=False)
    screenshots: Screenshots = field(repr=False)

    @property
    def base_url(self) -> str:
        """The api-server (which serves the UI)."""
        return self.stack.base_url


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[UiDeployment]:
    """The emulator (temporary credentials) and a real Airflow with the test DAG; stopped after."""
    require_browser()  # before the 20 s start-up: a missing browser fails at once
    root = tmp_path_factory.mktemp("ui")
    docs_dir = docs_screenshot_dir(request.config.getoption("--ui-screenshots", default=None))
    with ExitStack() as cleanup:
        emulator = cleanup.enter_context(
            EmulatorProcess(config=FAST_TIMINGS, security_token=random_security_token())
        )
        env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
        stack = cleanup.enter_context(AirflowStack(root / "airflow", dag_files=[DAG_FILE], env=env))
        print(f"\n[ui] Airflow up in {stack.startup_seconds:.1f} s ({root})")
        # The stack's SimpleAuthManager passwords file (user -> password).
        password = json.loads((stack.home / "passwords.json").read_text())[USERNAME]
        yield UiDeployment(
            stack=stack,
            emulator=emulator,
            password=password,
            screenshots=Screenshots(root / "screenshots", docs_dir),
        )


# ------------------------------------------------------------------------------------------------
# Page helpers
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def step(page: Page, dep: UiDeployment, name: str) -> Iterator[None]:
    """Run one step; when it fails, screenshot the page (``failed-<name>.png``) and say which step."""
    started = time.monotonic()
    try:
        yield
    except BaseException as exc:
        shot = dep.screenshots.build_dir / f"failed-{name}.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=str(shot))
        exc.add_note(f"[ui] step {name!r} failed at {page.url}; screenshot: {shot}")
        raise
    print(f"[ui] {name}: {time.monotonic() - started:.1f} s")


def label_texts(scope: Locator) -> list[str]:
    """The visible field labels in ``scope``, without the required-field star."""
    return [text.replace("*", "").strip() for text in scope.locator("label:visible").all_inner_texts()]


def field_root(scope: Locator, label: str) -> Locator:
    """The form field (label, input, helper text) whose label is exactly ``label``.

    Airflow 3.3's extra fields are found by their label this way: their ``<label for>`` does not
    point at their ``<input>`` (a UI bug), so ``get_by_label`` cannot find them.
    """
    exact = re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$")
    return scope.locator("[data-scope=field][data-part=root]").filter(
        has=scope.page.locator("label").filter(has_text=exact)
    )


def login(page: Page, dep: UiDeployment) -> None:
    """Sign in on the SimpleAuthManager login page."""
    from playwright.sync_api import expect

    page.goto(f"{dep.base_url}/")
    page.wait_for_url("**/auth/login**")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(dep.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Admin")).to_be_visible()


def open_add_connection(page: Page, dep: UiDeployment) -> Locator:
    """Admin > Connections > Add Connection with type "Huawei Cloud DCS"; the dialog."""
    from playwright.sync_api import expect

    page.goto(f"{dep.base_url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Add Connection")).to_be_visible()
    dialog.get_by_role("combobox", name="Connection Type").fill("Huawei")
    page.get_by_role("option", name=HOOK_NAME, exact=True).click()
    expect(dialog.get_by_role("button", name="Standard Fields")).to_be_visible()
    expect(field_root(dialog, UI_FIELD_BEHAVIOUR["relabeling"]["login"])).to_be_visible()
    return dialog


def section(dialog: Locator, name: str) -> Locator:
    """The accordion section ``name`` of the connection dialog ("Standard Fields"...)."""
    trigger = dialog.page.get_by_role("button", name=name, exact=True)  # relative to the item
    return dialog.locator("[data-scope=accordion][data-part=item]").filter(has=trigger)


def show_section(dialog: Locator, name: str, probe: str) -> Locator:
    """Open the accordion section ``name`` (the others close) and wait for its field ``probe``
    and for every other section to be closed; returns the section."""
    from playwright.sync_api import expect

    button = dialog.get_by_role("button", name=name, exact=True)
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    expect(field_root(dialog, probe)).to_be_visible()
    items = dialog.locator("[data-scope=accordion][data-part=item]")
    for index in range(items.count()):
        item = items.nth(index)
        if not item.get_by_role("button", name=name, exact=True).count():
            expect(item.locator("[data-part=item-content]")).to_be_hidden()
    return section(dialog, name)


def fill_connection(
    dialog: Locator,
    *,
    conn_id: str,
    host: str,
    login_: str,
    password: str,
    extras: dict[str, str],
) -> None:
    """Fill the add-connection dialog (standard fields, then extra fields) and save it."""
    from playwright.sync_api import expect

    dialog.locator("input[name=connection_id]").fill(conn_id)
    show_section(dialog, "Standard Fields", UI_FIELD_BEHAVIOUR["relabeling"]["login"])
    dialog.locator("input[name=host]").fill(host)
    dialog.locator("input[name=login]").fill(login_)
    dialog.locator("input[name=password]").fill(password)
    show_section(dialog, "Extra Fields", CONN_FIELDS["project_id"]["label"])
    for name, value in extras.items():
        dialog.locator(f"input[name=element_{name}]").fill(value)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()


def connection_row(page: Page, conn_id: str) -> Locator:
    """The row of ``conn_id`` in the connection list."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=conn_id, exact=True))


def test_connection_toast(page: Page, conn_id: str) -> tuple[str, str]:
    """Press the row's "Test Connection" button; the title and text of the toast it shows."""
    from playwright.sync_api import expect

    toasts = page.locator("[data-scope=toast][data-part=root]").filter(
        has_text=re.compile(f"{TEST_SUCCESS}|{TEST_FAILED}")
    )
    before = toasts.count()
    connection_row(page, conn_id).get_by_role("button", name="Test Connection").click()
    toast = toasts.nth(before)
    expect(toast).to_be_visible()
    text = toast.inner_text()
    title = TEST_SUCCESS if TEST_SUCCESS in text else TEST_FAILED
    return title, text


test_connection_toast.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def work_around_portless_test_bug(page: Page) -> list[str]:
    """Make the list's "Test Connection" button send ``port: null`` instead of ``0``.

    Airflow 3.3.2's UI posts ``port: Number(connection.port)``, ``0`` for a connection without a
    port (every ``huaweicloud_dcs`` connection: the form hides the port), and the API then takes
    the connection for another destination and answers 400 "The host or port to test differs from
    the stored connection" (the toast says "Bad Request"). Fixed upstream by apache/airflow#73298,
    after 3.3.2. The rewrite is what that fix does on the server; it is harmless once fixed.
    Returns the list of connection ids whose request was rewritten (filled as the test goes).
    """
    rewritten: list[str] = []

    def handle(route: Route, request: Request) -> None:
        body = request.post_data_json if request.method == "POST" else None
        if isinstance(body, dict) and body.get("port") == 0:
            rewritten.append(str(body.get("connection_id")))
            route.continue_(post_data=json.dumps({**body, "port": None}))
        else:
            route.continue_()

    page.route("**/api/v2/connections/test", handle)
    return rewritten


# ------------------------------------------------------------------------------------------------
# The test
# ------------------------------------------------------------------------------------------------


def test_provider_in_the_airflow_ui(deployment: UiDeployment) -> None:
    """Connection form, Test Connection (good and wrong SK), the task instance's console link."""
    from playwright.sync_api import expect

    dep, emulator, shots = deployment, deployment.emulator, deployment.screenshots
    assert emulator.security_token is not None
    wrong_sk = secrets.token_urlsafe(30)
    secret_hygiene.register_secret(wrong_sk, "web-UI test: the wrong secret key typed into the form")
    secret_values = {
        "secret key": emulator.secret_key,
        "security token": emulator.security_token,
        "wrong secret key": wrong_sk,
    }
    started = time.monotonic()

    with chromium_page() as page:
        with step(page, dep, "login"):
            login(page, dep)
        rewritten = work_around_portless_test_bug(page)

        # 1. The form: our labelled fields, nothing stray, secrets as password inputs.
        with step(page, dep, "connection form"):
            dialog = open_add_connection(page, dep)
            standard = show_section(dialog, "Standard Fields", UI_FIELD_BEHAVIOUR["relabeling"]["login"])
            shown = label_texts(dialog)
            assert set(shown) == DIALOG_LABELS | STANDARD_LABELS, shown
            assert set(label_texts(standard)) == STANDARD_LABELS, label_texts(standard)
            every_label = {
                text.replace("*", "").strip() for text in dialog.locator("label").all_text_contents()
            }
            assert not STRAY_LABELS & every_label, every_label
            for name in ("schema", "port"):  # hidden-fields
                expect(dialog.locator(f"input[name={name}]")).to_have_count(0)
            placeholders = UI_FIELD_BEHAVIOUR["placeholders"]
            for name in ("host", "login", "password"):
                expect(dialog.locator(f"input[name={name}]")).to_have_attribute(
                    "placeholder", placeholders[name]
                )
            expect(dialog.locator("input[name=password]")).to_have_attribute("type", "password")
            dialog.locator("input[name=connection_id]").fill(CONN_ID)
            shots.take(page, "01-connection-form")

            extra_section = show_section(dialog, "Extra Fields", CONN_FIELDS["project_id"]["label"])
            shown = label_texts(dialog)
            assert set(shown) == DIALOG_LABELS | set(EXTRA_FIELDS), shown
            assert set(label_texts(extra_section)) == set(EXTRA_FIELDS), label_texts(extra_section)
            for label, (input_name, definition) in EXTRA_FIELDS.items():
                root = field_root(dialog, label)
                expect(root).to_have_count(1)
                expect(root.locator(f"input[name={input_name}]")).to_be_visible()
                expect(root.locator("[data-part=helper-text]")).to_have_text(definition["description"])
                # A description names fields by the labels the form shows, never Airflow's own.
                stray = [
                    word for word in STRAY_LABELS if re.search(rf"\b{word}\b", definition["description"])
                ]
                assert not stray, f"{label}'s description refers to {stray}, which the form does not show"
                kind = "password" if definition["schema"].get("format") == "password" else "text"
                shown_as = root.locator(f"input[name={input_name}]").evaluate("element => element.type")
                assert shown_as == kind, f"{label} is shown as a {shown_as} input, not {kind}"
            shots.take(page, "02-connection-extra-fields")

        # 2. Saved with the emulator's credentials; "Test Connection" succeeds.
        with step(page, dep, "test connection: success"):
            extras = {"project_id": emulator.project_id, "region": REGION}
            extras["security_token"] = emulator.security_token
            fill_connection(
                dialog,
                conn_id=CONN_ID,
                host=emulator.base_url,
                login_=emulator.access_key,
                password=emulator.secret_key,
                extras=extras,
            )
            expect(connection_row(page, CONN_ID)).to_be_visible()
            title, message = test_connection_toast(page, CONN_ID)
            assert title == TEST_SUCCESS, message
            assert f"Connected to {emulator.base_url}" in message, message
            assert f"(project {emulator.project_id}); credentials accepted." in message, message
            shots.take(page, "03-test-connection-success")

            saved = dep.stack.api("GET", f"/api/v2/connections/{CONN_ID}")
            assert saved["conn_type"] == "huaweicloud_dcs", saved
            assert saved["host"] == emulator.base_url, saved
            assert saved["login"] == emulator.access_key, saved
            extra = json.loads(saved["extra"] or "{}")
            assert extra["project_id"] == emulator.project_id, "extras are stored under their bare names"
            assert extra["region"] == REGION, saved

            # The edit form shows the secrets redacted (or not at all), as password inputs.
            connection_row(page, CONN_ID).get_by_role("button", name="Edit Connection").click()
            edit = page.get_by_role("dialog")
            expect(edit.get_by_role("heading", name="Edit Connection")).to_be_visible()
            expect(edit.locator("input[name=login]")).to_have_value(emulator.access_key)
            password_value = edit.locator("input[name=password]").input_value()
            assert emulator.secret_key not in password_value, "the edit form shows the SK"
            show_section(edit, "Extra Fields", CONN_FIELDS["project_id"]["label"])
            expect(edit.locator("input[name=element_project_id]")).to_have_value(emulator.project_id)
            token_value = edit.locator("input[name=element_security_token]").input_value()
            assert emulator.security_token not in token_value, "the edit form shows the security token"
            leaked = [name for name, value in secret_values.items() if value in page.content()]
            assert not leaked, f"secrets in the edit form's page: {leaked}"
            edit.get_by_role("button", name="Close").click()
            expect(edit).to_be_hidden()

        # 3. A wrong SK: "Test Connection" fails, saying why, showing no secret.
        with step(page, dep, "test connection: failure"):
            dialog = open_add_connection(page, dep)
            fill_connection(
                dialog,
                conn_id=BAD_CONN_ID,
                host=emulator.base_url,
                login_=emulator.access_key,
                password=wrong_sk,
                extras=extras,
            )
            title, message = test_connection_toast(page, BAD_CONN_ID)
            assert title == TEST_FAILED, message
            assert "Authentication failed" in message, message
            assert "APIGW.0301" in message, message  # the gateway's error code
            assert "Secret Access Key is wrong" in message, message
            leaked = [name for name, value in secret_values.items() if value in page.content()]
            assert not leaked, f"secrets shown in the page: {leaked}"
            shots.take(page, "04-test-connection-failure")

        # 4. A run of our configure operator on the form's connection; its console link.
        with step(page, dep, "task instance extra link"):
            migration_task_id = emulator.api().create_ready_task(f"ui-{time.time_ns()}", timeout=30)
            run_id = dep.stack.trigger_dag(DAG_ID, {"migration_task_id": migration_task_id})
            state = dep.stack.wait_run(DAG_ID, run_id, timeout=120)
            assert state == "success", dep.stack.explain(DAG_ID, run_id)
            expected_url = console_url(REGION, migration_task_id)
            assert expected_url, "no console URL for the region"
            page.goto(f"{dep.base_url}/dags/{DAG_ID}/runs/{run_id}/tasks/{TASK_ID}")
            page.get_by_role("link", name="Details", exact=True).click()
            link = page.get_by_role("link", name=DcsMigrationTaskLink.name, exact=True)
            expect(link).to_be_visible()
            expect(link).to_have_attribute("href", expected_url)
            expect(page.get_by_text("Extra Links")).to_be_visible()
            shots.take(page, "05-task-instance-extra-link")

    print(f"[ui] port 0 -> null in the Test Connection request of: {rewritten or 'none'}")
    print(f"[ui] browser steps: {time.monotonic() - started:.1f} s; screenshots in {shots.build_dir}")
