"""One real-browser test: Debian's Chromium, headless, driven by Playwright, against the
review app served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crimedetect.review.app import ReviewConfig, create_app
from crimedetect.review.auth import add_user
from crimedetect.review.db import dispose_engine, make_engine
from crimedetect.review.sample import write_sample
from crimedetect.review.store import ReviewStore

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
# The docs' screenshot is refreshed only on request (CRIMEDETECT_REFRESH_SCREENSHOT=1), so a
# test run leaves the working tree as it found it.
DOCS_SCREENSHOT = ROOT / "docs" / "review-screenshot.png"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium not installed: apt-get install -y chromium"
    ),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The app on a free 127.0.0.1 port, with 40 sample flags and one supervisor."""
    import uvicorn

    records, crimes, flags = write_sample(tmp_path, 40, seed=7)
    url = f"sqlite:///{tmp_path / 'review.db'}"
    store = ReviewStore(make_engine(url))
    store.import_files(flags=flags, records=records, crimes=crimes)
    with store.sessions.begin() as db:
        add_user(db, "sam", "supervisor", PASSWORD)
    app = create_app(ReviewConfig(db_url=url))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("review app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)
    sock.close()
    dispose_engine(url)


def test_supervisor_reviews_top_flag_in_real_browser(server: str, tmp_path: Path) -> None:
    refresh = os.environ.get("CRIMEDETECT_REFRESH_SCREENSHOT") == "1"
    screenshot = DOCS_SCREENSHOT if refresh else tmp_path / "review-screenshot.png"
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(15000)
            page.goto(server + "/")
            expect(page).to_have_url(f"{server}/login?next=%2F")  # nothing visible without login
            page.fill("input[name=username]", "sam")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_have_text("Flags to review")

            top = page.locator("table.queue tbody tr").first
            record_id = top.locator("a.record-link").inner_text()
            open_before = int(page.locator("#count-open").inner_text())
            top.locator("a.record-link").click()
            expect(page.locator("h1")).to_have_text(record_id)

            marks = page.locator("mark.ev")
            expect(marks.first).to_be_visible()
            assert marks.first.locator(".ev-label").inner_text().strip()  # labelled by category

            findings = page.locator("article.finding")
            n_findings = findings.count()
            assert n_findings >= 1
            for i in range(n_findings):  # decide every finding, so the record leaves the open list
                finding = page.locator("article.finding").nth(i)
                assert finding.locator("select[name=category]").input_value()  # defaults to the finding's
                finding.locator("input[value=crime_recorded]").check()
                finding.locator("input[name=crime_ref]").fill(f"CR-17-00012{i}")
                finding.locator("textarea[name=rationale]").fill("Disclosed in the log; recorded today.")
                finding.locator("button[type=submit]").click()
                expect(page.locator(".saved")).to_have_text("Decision recorded.")
            history = page.locator("section.record-history")
            expect(history).to_contain_text("Crime recorded now")
            expect(history).to_contain_text("CR-17-000120")
            expect(history).to_contain_text("sam")
            expect(page.locator("dl.meta dd.status")).to_have_text("decided")
            page.screenshot(path=str(screenshot), full_page=True)

            page.click("header.top nav a:text('Queue')")
            row = page.locator("table.queue tbody tr", has=page.locator(f"a:text-is('{record_id}')"))
            expect(row.locator("td.decision")).to_contain_text("Crime recorded now")
            page.select_option("select[name=status]", "decided")
            page.click("form.filters button[type=submit]")
            expect(page.locator("a.record-link", has_text=record_id)).to_be_visible()
            assert int(page.locator("#count-open").inner_text()) == open_before - 1
            assert int(page.locator("#count-decided").inner_text()) == 1
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
