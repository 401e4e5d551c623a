"""report.html in a real browser: Debian's ``chromium`` driven headless by ``selenium``.

Skips cleanly where ``selenium``, ``/usr/bin/chromium`` or ``/usr/bin/chromedriver`` is absent
(``.ci/run`` installs them). The page comes from a run folder made by hand
(:func:`test_report.make_run_folder`), or from ``KERASX_REPORT_RUN`` (a folder written by
``kerasx malaria``) when that is set; ``KERASX_SCREENSHOT=PATH`` saves a full-page screenshot.
"""

import base64
import json
import os
import pathlib

import pytest
from test_report import assert_table_matches, make_run_folder

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip(
        f"Debian's chromium and chromium-driver are not installed ({CHROMIUM}, {CHROMEDRIVER})",
        allow_module_level=True,
    )

_TABLES = """
const tables = {};
for (const table of document.querySelectorAll("table[id]")) {
  const rows = tables[table.id] = {};
  for (const row of table.querySelectorAll("tr[data-key]")) {
    const cells = rows[row.dataset.key] = {};
    for (const cell of row.querySelectorAll("td[data-model]")) {
      cells[cell.dataset.model] = cell.innerText.trim();
    }
  }
}
return tables;
"""


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """``(page path, metrics.json)``: the page of KERASX_REPORT_RUN, or of a hand-made folder."""
    from kerasx.commands._html import write_report

    folder = os.environ.get("KERASX_REPORT_RUN")
    if folder is None:
        folder = tmp_path_factory.mktemp("report_run")
        make_run_folder(folder)
    path = write_report(folder, os.path.join(tmp_path_factory.mktemp("page"), "report.html"))
    with open(os.path.join(folder, "metrics.json")) as file:
        return path, json.load(file)


@pytest.fixture(scope="module")
def opened(browser, report):
    path, metrics = report
    browser.set_window_size(1100, 900)
    browser.get(pathlib.Path(path).resolve().as_uri())
    return browser, metrics


def test_no_console_errors(opened):
    """Catches an image or stylesheet linked by a path the page cannot reach (Chromium logs
    ``net::ERR_FILE_NOT_FOUND`` as SEVERE, checked by hand) and a script error. An undecodable
    data URI logs nothing: test_every_image_decoded catches that."""
    browser, _ = opened
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def test_every_image_decoded(opened):
    """naturalWidth is 0 for an image the browser could not decode, even though the <img>
    element exists. Catches a data URI cut before the PNG header or mislabeled (checked by
    hand: 10 bytes of a PNG give 0; 200 bytes, with the header, decode at full size)."""
    browser, _ = opened
    widths = browser.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth])"
    )
    assert len(widths) >= 3
    for alt, complete, width in widths:
        assert complete and width > 0, alt


def test_table_numbers_equal_metrics_json(opened):
    """What the browser renders in the tables (innerText) is metrics.json's numbers."""
    browser, metrics = opened
    assert_table_matches(browser.execute_script(_TABLES), metrics)


def test_readable_on_a_phone_and_printable(opened):
    """At a phone's width nothing runs off the side of the page (wide tables and model
    summaries scroll inside their own box), and the page prints to PDF. Catches a fixed-width
    layout and images without max-width."""
    browser, _ = opened
    browser.set_window_size(390, 844)
    try:
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        image_widths = browser.execute_script(
            "return [...document.images].map(i => i.getBoundingClientRect().width)"
        )
        assert max(image_widths) <= 390
    finally:
        browser.set_window_size(1100, 900)
    pdf = base64.b64decode(browser.print_page())
    assert pdf[:5] == b"%PDF-"


def test_screenshot(opened):
    """Saves a full-page screenshot to KERASX_SCREENSHOT (skipped when it is not set)."""
    target = os.environ.get("KERASX_SCREENSHOT")
    if not target:
        pytest.skip("KERASX_SCREENSHOT is not set")
    browser, _ = opened
    height = browser.execute_script(
        "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight"
    )
    browser.set_window_size(1100, min(height + 20, 20_000))
    try:
        assert browser.save_screenshot(target)
    finally:
        browser.set_window_size(1100, 900)
