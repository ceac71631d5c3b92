"""The explorer in a real browser: Debian's headless Chromium driven by Playwright.

The page loads with no console error and no request leaving 127.0.0.1; changing stride,
padding, dilation, boundary and kernel redraws a map equal to scipy's; hovering a cell shows its
window and the library's sum; drawing on the network canvas shows predict_proba's
probabilities; a file that is not an image gives a message, not a crash. Screenshots go to
$CONVKIT_SCREENSHOTS (docs/_static/explore_*.png) or the test's tmp folder. `.ci/run` installs
chromium; without it this test fails, it does not skip.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

import numpy as np
import pytest

from _web import reference_conv, running, tiny_model

pytestmark = pytest.mark.browser    # leave out with -m "not browser"; CI runs them

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("CONVKIT_SCREENSHOTS") or str(tmp_path_factory.mktemp("screenshots"))
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "install Debian's chromium: apt-get install -y chromium chromium-driver"
    model = tmp_path_factory.mktemp("model") / "model.npz"
    tiny_model(model)
    with running(str(model)) as server, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            tempfile.mkdtemp(), executable_path=CHROMIUM, args=ARGS, headless=True,
            viewport={"width": 1250, "height": 950})
        page = context.new_page()
        log = {"console": [], "requests": [], "network_bodies": []}
        page.on("console", lambda m: m.type in ("error", "warning") and log["console"].append(m.text))
        page.on("pageerror", lambda e: log["console"].append(str(e)))
        page.on("request", lambda r: log["requests"].append(r.url))
        page.on("request", lambda r: r.url.endswith("/api/network") and log["network_bodies"].append(r.post_data))
        started = time.perf_counter()
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        log["load_s"] = time.perf_counter() - started
        yield page, server, log
        context.close()


def _changed(page, key, action):
    """Run `action`, then wait until the page has redrawn (its version counter moved)."""
    before = page.evaluate(f"document.body.dataset.{key} || '0'")
    action()
    try:
        page.wait_for_function("([key, before]) => (document.body.dataset[key] || '0') !== before",
                               arg=[key, before], timeout=15_000)
    except Exception as exc:
        raise AssertionError(f"no redraw; the page says {page.inner_text('#message')!r}; "
                             f"console: {page.evaluate('state.seq')}") from exc


def _conv(page):
    return page.evaluate("state.conv")


def test_page_loads_clean_and_local(browser_page, shots):
    page, server, log = browser_page
    page.screenshot(path=os.path.join(shots, "explore_full.png"), full_page=True)
    assert log["console"] == []
    assert log["requests"] and all(u.startswith(server.url) for u in log["requests"]), log["requests"]
    assert page.inner_text("#boundary-picture") == "k k | a b c d | k k"


def test_seed_map_and_hover(browser_page, shots):
    page, _, _ = browser_page
    canvas = page.locator("#output-canvas")
    cell = float(canvas.get_attribute("data-cell"))
    canvas.hover(position={"x": 3 * cell + cell / 2, "y": 1 * cell + cell / 2})   # row 1, column 3
    assert page.inner_text("#hover-sum") == "1"
    assert page.get_attribute("#hover-detail", "data-row") == "1"
    assert page.get_attribute("#hover-detail", "data-col") == "3"
    page.locator("#conv").screenshot(path=os.path.join(shots, "explore_conv.png"))


@pytest.mark.parametrize("case", range(6))
def test_parameter_changes_redraw_the_library_map(browser_page, case):
    page, _, log = browser_page
    rng = np.random.default_rng(case)
    sample = ["seed", "camera", "coins", "astronaut", "seed", "blank16"][case]
    _changed(page, "convVersion", lambda: page.select_option("#image-source", sample))
    kernel = str(rng.choice(["sobel_x", "laplacian", "sharpen", "emboss", "custom5", "box"]))
    _changed(page, "convVersion", lambda: page.select_option("#kernel-name", kernel))
    boundary = ["constant", "reflect", "mirror", "nearest", "wrap"][case % 5]
    settings = {"#stride": int(rng.integers(1, 4)), "#padding": int(rng.integers(0, 4)),
                "#dilation": int(rng.integers(1, 3)), "#bias": 0.5 * case}
    side = min(np.shape(page.evaluate("state.image"))[1:]) + 2 * settings["#padding"]
    if settings["#dilation"] * (len(page.evaluate("state.kernel[0]")) - 1) + 1 > side:
        settings["#dilation"] = 1                              # the server would refuse it (tested elsewhere)
    for selector, value in settings.items():
        if float(page.input_value(selector)) != value:         # an unchanged field sends nothing
            _changed(page, "convVersion", lambda: page.fill(selector, str(value)))
    if page.input_value("#boundary") != boundary:
        _changed(page, "convVersion", lambda: page.select_option("#boundary", boundary))
    if page.is_checked("#flip") != bool(case % 2):
        _changed(page, "convVersion", lambda: page.set_checked("#flip", bool(case % 2)))
    conv = _conv(page)
    image, kern = page.evaluate("state.image"), page.evaluate("state.kernel")
    ref = reference_conv(image, kern, stride=settings["#stride"], padding=settings["#padding"],
                         dilation=settings["#dilation"], boundary=boundary, flip=bool(case % 2),
                         bias=settings["#bias"])
    np.testing.assert_allclose(conv["output"], ref, rtol=1e-10, atol=1e-10)
    assert page.inner_text("#boundary-picture") == {
        "constant": "k k | a b c d | k k", "reflect": "b a | a b c d | d c",
        "mirror": "c b | a b c d | c b", "nearest": "a a | a b c d | d d",
        "wrap": "c d | a b c d | a b"}[boundary]
    # hover a random cell: its window is outlined and the shown sum is the library's cell
    i, j = int(rng.integers(0, len(ref))), int(rng.integers(0, len(ref[0])))
    canvas = page.locator("#output-canvas")
    cell = float(canvas.get_attribute("data-cell"))
    canvas.hover(position={"x": j * cell + cell / 2, "y": i * cell + cell / 2})
    page.wait_for_function("([i, j]) => document.getElementById('hover-detail').dataset.row === i && "
                           "document.getElementById('hover-detail').dataset.col === j", arg=[str(i), str(j)])
    shown = float(page.inner_text("#hover-sum"))
    assert shown == pytest.approx(ref[i][j], abs=1e-9)
    from convkit import correlate, convolve, pad
    p = settings["#padding"]
    padded = pad(np.array(image), ((0, 0), (p, p), (p, p)), boundary)
    slide = convolve if case % 2 else correlate
    library = sum(slide(padded[c], np.array(kern[c]), "valid", stride=settings["#stride"],
                        dilation=settings["#dilation"]) for c in range(len(image))) + settings["#bias"]
    assert shown == pytest.approx(float(library[i, j]), abs=1e-9)
    log.setdefault("redraw_ms", []).append(float(page.evaluate("document.body.dataset.redrawMs")))


def test_redraw_time_is_reported(browser_page):
    _, _, log = browser_page
    times = sorted(log.get("redraw_ms", []))
    assert times, "no redraw was timed"
    print(f"\nredraw after a parameter change (images up to 32x32): median {times[len(times) // 2]:.1f} ms, "
          f"max {times[-1]:.1f} ms; page load {log['load_s']:.2f} s")
    assert times[len(times) // 2] < 500


def test_pool_winners_and_softmax_follow_the_map(browser_page, shots):
    page, _, _ = browser_page
    _changed(page, "convVersion", lambda: page.select_option("#image-source", "seed"))
    for sel, val in {"#stride": "1", "#padding": "0", "#dilation": "1", "#bias": "0"}.items():
        page.fill(sel, val)
    _changed(page, "convVersion", lambda: page.select_option("#boundary", "constant"))
    page.uncheck("#flip")
    page.wait_for_timeout(300)
    steps = page.evaluate("state.steps")
    assert steps["pooled"] == [[1, 1], [4, 2]] and steps["winners"] == [[1, 7], [16, 13]]
    probs = [float(t) for t in page.locator("#softmax-table td:nth-child(4)").all_inner_texts()]
    z = np.array([1.0, 1.0, 4.0, 2.0])
    np.testing.assert_allclose(probs, np.exp(z) / np.exp(z).sum(), atol=5e-5)
    page.locator("#steps").screenshot(path=os.path.join(shots, "explore_steps.png"))


def test_drawing_a_digit_shows_predict_proba(browser_page, shots):
    from skimage.transform import resize

    from convkit.cnn import Sequential

    page, server, log = browser_page
    page.locator("#draw").scroll_into_view_if_needed()
    box = page.locator("#draw").bounding_box()
    x0, y0 = box["x"], box["y"]

    def stroke():
        page.mouse.move(x0 + 80, y0 + 40)
        page.mouse.down()
        for k in range(12):
            page.mouse.move(x0 + 80 + 6 * k, y0 + 40 + 12 * k)
        page.mouse.up()

    _changed(page, "networkVersion", stroke)
    page.wait_for_timeout(300)
    shown = [float(v) for v in page.eval_on_selector_all(".p[data-class]", "els => els.map(e => e.dataset.value)")]
    image = np.array(json.loads(log["network_bodies"][-1])["image"])[0]
    assert image.max() > 0.5                                   # the stroke reached the server
    model = Sequential.load(server.view.path)
    ref = model.predict_proba(resize(image, (8, 8), anti_aliasing=True)[None, None])[0]
    np.testing.assert_allclose(shown, ref, atol=1e-6)
    assert page.locator("#layers .layer").count() == 6        # input + 5 layers
    print(f"\nnetwork redraw: {page.evaluate('document.body.dataset.networkMs')} ms")
    page.locator("#network").screenshot(path=os.path.join(shots, "explore_network.png"))


def test_continuous_slider_shows_the_closed_form(browser_page, shots):
    page, _, _ = browser_page
    page.select_option("#pair", "exp")
    page.wait_for_function("() => document.getElementById('cont-area').textContent.includes('exp')")
    page.fill("#t", "80")                 # t = -1 + 6 * 80 / 240 = 1
    page.wait_for_function("() => document.getElementById('t-value').textContent === 't = 1.000'")
    assert float(page.inner_text("#area")) == pytest.approx(1 - np.exp(-1.0), abs=1e-6)
    page.locator("#continuous").screenshot(path=os.path.join(shots, "explore_continuous.png"))


def test_upload_of_a_non_image_gives_a_message(browser_page, tmp_path):
    page, server, _ = browser_page
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    page.set_input_files("#upload", str(bad))
    page.wait_for_function("() => document.getElementById('message').textContent.includes('not an image')")
    _changed(page, "convVersion", lambda: page.select_option("#image-source", "coins"))
    assert page.inner_text("#message") == ""


def test_no_console_error_in_the_whole_session(browser_page):
    _, _, log = browser_page
    # a refused parameter combination is a 400 that the page shows as a message: not an error here
    refused = "the server responded with a status of 400"
    assert [m for m in log["console"] if refused not in m] == []
