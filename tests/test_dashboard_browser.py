"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright) over a
log the bot wrote through the Bot API emulator."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import Settings
from handlers.services import NewsApp
from tests.support.bot import handled
from tests.support.dashboard import PASSWORD, USER, dashboard
from tests.support.emulator.server import BotApiEmulator

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
UNANSWERED = "What is the capital of France?"


def browser_or_skip() -> None:
    """Skip, naming what is missing, where Playwright or Chromium is not installed."""
    pytest.importorskip("playwright", reason="playwright is not installed (the dev extra)")
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does)")


async def test_an_editor_logs_in_and_sees_charts_and_the_unanswered_list(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings, tmp_path: Path
) -> None:
    """Questions asked through Telegram; in Chromium, after the password, the dashboard shows
    the day's figures, rendered SVG charts, and the unanswered list that unanswered.json
    gives; a question's link opens the passages shown for it."""
    browser_or_skip()
    from playwright.async_api import async_playwright

    await emulator.send_text("When will all US troops leave Afghanistan?")
    await emulator.wait_for(1001)
    for _ in range(2):
        await emulator.send_command("ask", UNANSWERED)
    await emulator.wait_for(1001, count=3)
    await handled(bot)

    with dashboard(settings.db_path) as site:
        expected = site.get("/newsbot/unanswered.json?_shape=objects").json()["rows"]
        assert [(r["question"], r["times"]) for r in expected] == [(UNANSWERED, 2)]
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                anonymous = await browser.new_context()
                denied = await anonymous.request.get(site.url + "/")
                assert denied.status == 401 and UNANSWERED not in await denied.text()

                context = await browser.new_context(
                    http_credentials={"username": USER, "password": PASSWORD},
                    viewport={"width": 1280, "height": 900},
                )
                page = await context.new_page()
                response = await page.goto(site.url + "/")
                assert response is not None and response.status == 200
                figures = await page.locator("#figures .card").first.inner_text()
                assert figures.split() == ["Today", "3", "questions", "33%", "answered"]
                chart = page.locator("svg.chart").first
                await chart.wait_for(state="visible")
                box = await chart.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 100
                # matplotlib draws each bar as a path; dashboard_charts marks its group
                # g.bar (matplotlib's own patch_N groups include the backgrounds and legend).
                bars = page.locator("svg.chart g.bar > path")
                assert await bars.count() >= 2
                drawn = await bars.first.bounding_box()
                assert drawn is not None and drawn["width"] > 1 and drawn["height"] > 1
                rows = page.locator("#unanswered tbody tr")
                shown = [
                    (await rows.nth(i).locator("td").nth(0).inner_text(),
                     int(await rows.nth(i).locator("td").nth(1).inner_text()))
                    for i in range(await rows.count())
                ]  # fmt: skip
                assert shown == [(r["question"], r["times"]) for r in expected]
                await page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
                await rows.first.locator("a").click()
                await page.wait_for_url("**/newsbot/passages?question=*")
                assert "Passages shown for a question" in await page.content()
            finally:
                await browser.close()
    assert (tmp_path / "dashboard.png").read_bytes().startswith(b"\x89PNG")
