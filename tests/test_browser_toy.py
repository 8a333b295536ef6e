"""The Training tab's toy in a real browser (Debian's Chromium via Playwright, as tests/test_browser.py):
Balanced reaches the ideal on the page, D(x) = 1/2 where the data lives; the other two presets, Stop
and a restart (slow). Screenshots go to $STUDIO_SCREENSHOTS if set, else the test's temporary folder."""
from pathlib import Path

import pytest

STATUS = "document.querySelector('#toy-status').innerText"


@pytest.fixture
def page(browser, studio_url):  # browser, shots: tests/conftest.py
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(studio_url)
    page.locator("#current-face img").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Training").click()
    page.locator("#toy-balanced").scroll_into_view_if_needed()
    yield page
    context.close()


def scroll_to_toy(page) -> None:
    """The toy's part of the page in view, from its introduction to its status line."""
    page.locator("#toy-intro").evaluate("e => { e.scrollIntoView({block: 'start'}); window.scrollBy(0, -8) }")
    page.mouse.move(2, 700)  # off the plot: no hover mark on a curve
    page.wait_for_timeout(300)


def show_toy(page, path: Path) -> None:
    scroll_to_toy(page)
    page.screenshot(path=str(path))


def test_balanced_reaches_one_half_on_the_page(page, shots):
    scroll_to_toy(page)
    page.locator("#toy-balanced").click()
    page.mouse.move(2, 700)
    page.wait_for_function(f"{STATUS}.startsWith('Step 0 ')", timeout=15_000, polling="raf")
    page.wait_for_timeout(150)  # the plot drawn
    page.screenshot(path=str(shots / "toy_start.png"))  # the first frame: G off to the left, D untrained
    page.locator("#toy-plot svg, #toy-plot canvas").first.wait_for(timeout=15_000)
    assert "Balanced:" in page.locator("#toy-what").inner_text()
    # the status as it was when it first said so (a frame later D may be a hair outside the band again)
    text = page.wait_for_function(f"(() => {{ const t = {STATUS}; return t.includes('D cannot tell') ? t : null }})",
                                  timeout=45_000, polling="raf").json_value()
    page.screenshot(path=str(shots / "toy_balanced.png"))
    assert "D(x) = 1/2 everywhere the data lives" in text and "First reached at step" in text
    page.locator("#toy-stop").click()
    page.wait_for_function(f"{STATUS}.includes('Stopped.')", timeout=10_000)


@pytest.mark.slow
def test_balanced_to_the_end_of_its_run(page, shots):
    page.locator("#toy-balanced").click()
    page.wait_for_function(f"{STATUS}.includes('The run ended')", timeout=60_000)
    show_toy(page, shots / "toy_balanced_end.png")
    assert "First reached at step" in page.locator("#toy-status").inner_text()


@pytest.mark.slow
def test_the_strong_players_stop_and_a_restart(page, shots):
    page.locator("#toy-d-strong").click()
    page.wait_for_function(f"{STATUS}.startsWith('Step')", timeout=15_000)
    page.wait_for_timeout(12_000)
    assert "D too strong:" in page.locator("#toy-what").inner_text()
    assert "D cannot tell" not in page.locator("#toy-status").inner_text()
    show_toy(page, shots / "toy_d_strong.png")
    page.locator("#toy-g-strong").click()  # a press while a run goes: that run ends, the new one starts
    page.wait_for_function("document.querySelector('#toy-what').innerText.includes('G too strong:')", timeout=15_000)
    page.wait_for_timeout(8_000)
    status = page.locator("#toy-status").inner_text()
    assert "D cannot tell" not in status
    show_toy(page, shots / "toy_g_strong.png")
    page.locator("#toy-stop").click()
    page.wait_for_function(f"{STATUS}.includes('Stopped.')", timeout=10_000)
    stopped = page.locator("#toy-status").inner_text()
    page.wait_for_timeout(1500)
    assert page.locator("#toy-status").inner_text() == stopped  # no frame after Stop
