"""The web page in headless Chromium against `scout serve` reading profiles from the real broker:
search by words, filter by followers, ask for lookalikes of a roster and download them as CSV,
search by name, open an influencer (its history chart), follow a similar one, and see a
reclassification arrive live. The service has an API token: the page is opened as /#token=TOKEN
and must send it on every call. It serves the tiny model (its text encoder answers the word search).

Screenshots go to artifacts/screenshots/. Uses Debian's /usr/bin/chromium through Playwright's
Python package (no browser download); skipped when either is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streaming.infra.kafka_admin import produce
from tests.streaming.service.profiles import LABELS
from tests.streaming.service.serving import ScoutServe, toml_config
from tests.streaming.service.showcase import (
    MOVER,
    SHOWCASE,
    SHOWCASE_BRANDS,
    Showcase,
    backlog_reclassifications,
    followers,
    move_events,
    showcase_profiles,
    sponsorship_of,
)

pytest.importorskip("playwright.sync_api", reason="playwright (the dev extra) is not installed")

CHROMIUM = os.environ.get("SCOUT_TEST_CHROMIUM", "/usr/bin/chromium")
TOKEN = "browser-test-token-0123456789"
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# Some images, all of them loaded (an empty list must not pass: the images are fetched with the token).
IMAGES_LOADED = (
    "(imgs => imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0))"
    "([...document.querySelectorAll('#top-posts img')])"
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
    pytest.mark.skipif(shutil.which("java") is None, reason="the broker needs Java"),
]


def wait_for_category(served: ScoutServe, name: str, category: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if served.get_json(f"/api/influencers/{name}")["category"] == category:
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} did not become {category} within {timeout_s:.0f}s")


@pytest.fixture
def served(
    scout_settings: Callable[..., Any],
    free_port: Callable[[], int],
    tmp_path: Path,
    tiny_model: Any,
    tiny_model_dir: Path,
) -> Iterator[tuple[ScoutServe, Any, Path, Showcase]]:
    """`scout serve` in its own process, with the tiny model, over per-test topics filled with the
    showcase profiles (text vectors from the tiny model's text encoder) and their followers."""
    settings = scout_settings(unique=True)
    image_root = tmp_path / "images"
    image_root.mkdir()
    text_encoder, _ = tiny_model.encoders()
    showcase = Showcase(model_version=tiny_model.version, encode=text_encoder.encode)
    bootstrap, topics = settings.kafka.bootstrap_servers, settings.kafka.topics
    produce(bootstrap, topics.profiles, showcase_profiles(image_root, showcase))
    produce(bootstrap, topics.reclassified, backlog_reclassifications(tiny_model.version))
    produce(bootstrap, topics.followers, followers())
    port = free_port()
    config = tmp_path / "scout.toml"
    job = {"image_roots": [str(image_root)], "model_dir": str(tiny_model_dir), "device": "cpu"}
    config.write_text(toml_config(settings, port, {"api_token": TOKEN, "load_model": True}, job))
    with ScoutServe(config, port, tmp_path / "serve.log", token=TOKEN) as service:
        yield service, settings, image_root, showcase


def test_search_open_similar_and_live_reclassification(
    served: tuple[ScoutServe, Any, Path, Showcase],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    service, settings, image_root, showcase = served
    url = service.url
    bootstrap, topics = settings.kafka.bootstrap_servers, settings.kafka.topics
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 960}, accept_downloads=True)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{url}/#token={TOKEN}")
            expect(page.locator("#results li")).to_have_count(len(SHOWCASE))
            expect(page.locator("#status")).to_contain_text("ok")
            expect(page.locator("#result-count")).to_contain_text(f"model {showcase.model_version}")
            assert TOKEN not in page.url  # kept for the tab, off the address bar
            discover(page, expect)

            page.fill("#search", "wan")
            expect(page.locator("#results li")).to_have_count(1)
            page.fill("#search", "")
            page.select_option("#category", "travel")
            expect(page.locator("#results li")).to_have_count(3)
            page.locator("#results li", has_text="wander.ines").click()

            expect(page.locator("#profile-name")).to_have_text("wander.ines")
            expect(page.locator("#profile-category")).to_have_text("travel")
            # the service's model has no calibration stage: the page says so beside the post count
            expect(page.locator("#profile-meta")).to_contain_text(
                re.compile(r"confidence \(uncalibrated\) · \d+ posts")
            )
            expect(page.locator("#probabilities .bar-label")).to_have_count(len(LABELS))
            expect(page.locator("#top-posts figure")).to_have_count(3)
            expect(page.locator("#top-posts p").first).to_have_text("Lost in the blue streets of Chefchaouen")
            page.wait_for_function(IMAGES_LOADED)
            expect(page.locator("#history polyline")).to_have_count(1)  # its history chart
            sponsorship(page, expect)
            cards = page.locator("#similar .card")
            expect(cards).to_have_count(8)
            first_two = [cards.nth(i).get_attribute("data-influencer") for i in range(2)]
            assert set(first_two) == {"trail_tom", "nomad.kai"}, first_two  # the travel cluster first
            page.evaluate("window.__loadedOnce = true")
            page.screenshot(path=str(SCREENSHOTS / "influencer.png"), full_page=True)

            cards.first.click()
            expect(page.locator("#profile-name")).to_have_text(first_two[0])
            assert page.url.endswith(f"#/influencer/{first_two[0]}")

            expect(page.locator("#feed li")).to_have_count(2)  # the backlog, newest first
            expect(page.locator("#feed li").first).to_contain_text("luca_eats")
            # wander.ines turns out to post mostly about food: profile update plus reclassification.
            profile, change = move_events(image_root, showcase)
            produce(bootstrap, topics.profiles, [profile])  # the job's order: profiles, then changes
            wait_for_category(service, MOVER, "food")
            produce(bootstrap, topics.reclassified, [change])
            item = page.locator("#feed li[data-influencer='wander.ines']")
            expect(item).to_have_count(1, timeout=30_000)
            expect(item).to_contain_text("travel → food")
            assert page.evaluate("window.__loadedOnce") is True  # arrived without a reload
            expect(page.locator("#feed li").first).to_have_attribute("data-influencer", MOVER)
            item.click()
            expect(page.locator("#profile-category")).to_have_text("food", timeout=15_000)
            expect(page.locator("#history line.change")).to_have_count(1)  # travel -> food, on the chart
            # The list under the travel filter is refreshed: wander.ines left it.
            expect(page.locator("#results li")).to_have_count(2)
            page.wait_for_function(IMAGES_LOADED)
            page.screenshot(path=str(SCREENSHOTS / "live-feed.png"), full_page=True)

            # Opened without the token, the page asks for it once and then works.
            asked = browser.new_page()
            prompts: list[str] = []
            asked.on("dialog", lambda dialog: (prompts.append(dialog.message), dialog.accept(TOKEN)))
            asked.goto(url)
            expect(asked.locator("#results li")).to_have_count(len(SHOWCASE))
            expect(asked.locator("#feed-state")).to_have_text("live")
            assert len(prompts) == 1 and "API token" in prompts[0]
            assert not errors, errors  # no JavaScript error on the way
        finally:
            browser.close()


FOOD = ("anna.bakes", "luca_eats", "the.spice.table")


def sponsorship(page: Any, expect: Any) -> None:
    """wander.ines's sponsorship panel: open it, read its shares, brands and likely-undisclosed post,
    follow its brand to the influencers who worked with it, then the "at most x% sponsored" filter."""
    n = list(SHOWCASE).index(MOVER)
    figures = sponsorship_of(n, 40 + 7 * n)
    panel = page.locator("#sponsorship-panel")
    expect(page.locator("#sponsorship-shares")).not_to_be_visible()  # closed until asked
    page.click("#sponsorship-panel summary")
    expect(panel).to_have_attribute("open", "")
    pct = f"{100 * figures['sponsored_share']:.1f}%"
    expect(page.locator("#sponsorship-summary")).to_have_text(f"· {pct} of posts")
    expect(page.locator("#sponsorship-shares")).to_contain_text(
        f"{100 * figures['disclosed_share']:.1f}% disclosed"
    )
    expect(page.locator("#sponsorship-shares")).to_contain_text("estimated undisclosed (0 posts over 50.0%)")
    brand = SHOWCASE_BRANDS[n % 3]
    expect(page.locator("#sponsorship-brands button")).to_have_text([f"@{brand}"])
    page.screenshot(path=str(SCREENSHOTS / "sponsorship.png"), full_page=True)
    page.select_option("#category", "")
    page.locator("#sponsorship-brands button").first.click()  # who else worked with it
    worked = [name for i, name in enumerate(SHOWCASE) if SHOWCASE_BRANDS[i % 3] == brand]
    expect(page.locator("#results li")).to_have_count(len(worked))
    assert sorted(names_shown(page)) == sorted(worked)
    page.fill("#brand", "")
    page.press("#brand", "Tab")
    expect(page.locator("#results li")).to_have_count(len(SHOWCASE))
    page.fill("#sponsored-max", "6")
    page.press("#sponsored-max", "Tab")
    shares = {name: sponsorship_of(i, 40 + 7 * i)["sponsored_share"] for i, name in enumerate(SHOWCASE)}
    at_most = sorted(name for name, value in shares.items() if value <= 0.06)
    assert 0 < len(at_most) < len(SHOWCASE), shares
    expect(page.locator("#results li")).to_have_count(len(at_most))
    assert sorted(names_shown(page)) == at_most
    page.fill("#sponsored-max", "")
    page.press("#sponsored-max", "Tab")
    expect(page.locator("#results li")).to_have_count(len(SHOWCASE))
    page.select_option("#category", "travel")
    expect(page.locator("#results li")).to_have_count(3)


def names_shown(page: Any) -> list[str]:
    return page.eval_on_selector_all("#results li", "items => items.map(i => i.dataset.influencer)")


def discover(page: Any, expect: Any) -> None:
    """A word search, a follower filter, lookalikes of a roster and their CSV; then back to names."""
    page.select_option("#mode", "topic")
    page.fill("#search", "sourdough pancakes tagliatelle curry")
    expect(page.locator("#result-count")).to_contain_text("about “sourdough")
    assert set(names_shown(page)[:3]) == set(FOOD), names_shown(page)  # what their posts are about
    page.fill("#followers-min", "15000")
    page.press("#followers-min", "Tab")  # committed: the list follows the filter
    expect(page.locator("#results li")).to_have_count(len(SHOWCASE) - 1)
    assert "anna.bakes" not in names_shown(page)  # 10,000 followers
    page.fill("#followers-min", "")
    page.press("#followers-min", "Tab")
    expect(page.locator("#results li")).to_have_count(len(SHOWCASE))
    for name in FOOD[1:]:
        page.locator(f"#results li[data-influencer='{name}'] input.pick").check()
    expect(page.locator("#roster-names")).to_have_text("luca_eats, the.spice.table")
    page.click("#lookalikes")
    expect(page.locator("#result-count")).to_contain_text("like luca_eats, the.spice.table")
    shown = names_shown(page)
    assert shown[0] == "anna.bakes" and not set(FOOD[1:]) & set(shown), shown
    with page.expect_download() as download:
        page.click("#export")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("influencer,score,category,confidence,post_count,followers")
    assert [line.split(",")[0] for line in lines[1:]] == shown  # the list shown, as shown
    page.click("#roster-clear")
    page.select_option("#mode", "names")
    page.fill("#search", "")
    expect(page.locator("#results li")).to_have_count(len(SHOWCASE))
