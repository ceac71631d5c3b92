"""The explorer in a real browser: Debian's headless Chromium driven by Playwright.

The page loads with no console error and no request leaving 127.0.0.1; changing stride,
padding, dilation, boundary and kernel redraws a map equal to scipy's; hovering a cell shows its
window and the library's sum; drawing on the network canvas shows predict_proba's
probabilities; a file that is not an image gives a message, not a crash. Screenshots go to
$CONVKIT_SCREENSHOTS or the test's tmp folder (the docs take their own during the build). `.ci/run` installs
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


def _box(page, selector):
    return page.locator(selector).first.bounding_box()


def _in_viewport(page, selector):
    """The element is shown and lies inside the visible part of the page."""
    box, view = _box(page, selector), page.viewport_size
    assert box is not None and page.is_visible(selector), f"{selector} is not shown"
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= view["width"] and box["y"] + box["height"] <= view["height"], (selector, box)


def _near(page, selector, control, limit=120):
    """`selector` is visible in the viewport, at most `limit` px from `control`'s box."""
    page.locator(control).scroll_into_view_if_needed()
    _in_viewport(page, selector)
    a, b = _box(page, selector), _box(page, control)
    dx = max(0, a["x"] - (b["x"] + b["width"]), b["x"] - (a["x"] + a["width"]))
    dy = max(0, a["y"] - (b["y"] + b["height"]), b["y"] - (a["y"] + a["height"]))
    assert (dx * dx + dy * dy) ** 0.5 <= limit, f"{selector} is {dx:.0f}, {dy:.0f} px away from {control}"


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
    # regression: the detail opened below the fold; it now opens beside the map, within one map's
    # size of the hovered cell, and hides neither the map nor the image with the window
    box = canvas.bounding_box()
    cell_box = {"x": box["x"] + 3 * cell, "y": box["y"] + cell, "width": cell, "height": cell}
    _in_viewport(page, "#hover-detail")
    detail = _box(page, "#hover-detail")
    dx = max(0, detail["x"] - (cell_box["x"] + cell), cell_box["x"] - (detail["x"] + detail["width"]))
    dy = max(0, detail["y"] - (cell_box["y"] + cell), cell_box["y"] - (detail["y"] + detail["height"]))
    assert dx <= box["width"] and dy <= box["height"], (detail, cell_box)
    for picture in ("#output-canvas", "#input-canvas"):
        other = _box(page, picture)
        overlap_x = min(detail["x"] + detail["width"], other["x"] + other["width"]) - max(detail["x"], other["x"])
        overlap_y = min(detail["y"] + detail["height"], other["y"] + other["height"]) - max(detail["y"], other["y"])
        assert overlap_x <= 0 or overlap_y <= 0, f"the detail hides {picture}"
    products = [float(v) for v in page.eval_on_selector_all(
        "#hover-detail table.products td", "els => els.map(e => e.dataset.value)")]
    assert sum(products) == float(page.get_attribute("#hover-sum", "data-value"))
    page.locator("#conv").screenshot(path=os.path.join(shots, "explore_conv.png"))


@pytest.mark.parametrize("case", range(6))
def test_parameter_changes_redraw_the_library_map(browser_page, case):
    page, _, log = browser_page
    rng = np.random.default_rng(case)
    sample = ["seed", "camera", "coins", "astronaut", "seed", "blank"][case]
    _changed(page, "convVersion", lambda: page.select_option("#image-source", sample))
    if sample == "blank":                                      # a free size, rows != columns
        _changed(page, "convVersion", lambda: page.fill("#image-rows", "16"))
        _changed(page, "convVersion", lambda: page.fill("#image-cols", "11"))
    kernel = str(rng.choice(["sobel_x", "laplacian", "sharpen", "emboss", "custom", "box"]))
    _changed(page, "convVersion", lambda: page.select_option("#kernel-name", kernel))
    if kernel == "custom":
        _changed(page, "convVersion", lambda: page.fill("#kernel-rows", "2"))
        _changed(page, "convVersion", lambda: page.fill("#kernel-cols", "5"))
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
    shown = float(page.get_attribute("#hover-sum", "data-value"))
    assert shown == pytest.approx(ref[i][j], abs=1e-9)
    # the printed sum is the same number, rounded as every other number in the detail
    assert float(page.inner_text("#hover-sum")) == pytest.approx(shown, rel=5e-3, abs=5e-4)
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
    page.locator("#steps").screenshot(path=os.path.join(shots, "explore_steps.png"))
    # scores typed by hand replace the dense layer's
    page.fill("#scores", "1, 1, 4, 2")
    page.wait_for_function("() => document.querySelectorAll('#softmax-table tr').length === 5")
    probs = [float(t) for t in page.locator("#softmax-table td:nth-child(4)").all_inner_texts()]
    z = np.array([1.0, 1.0, 4.0, 2.0])
    np.testing.assert_allclose(probs, np.exp(z) / np.exp(z).sum(), atol=5e-5)
    page.check("#scores-dense")
    page.wait_for_function("() => document.querySelectorAll('#softmax-table tr').length === 4")


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
    assert page.locator("#layers .layer").count() == 7        # the drawing, the input + 5 layers
    assert page.inner_text("#model-message") == ("input 1×8×8 → 0 Conv2D 4×8×8 → 1 ReLU 4×8×8 → "
                                                 "2 MaxPool2D 4×4×4 → 3 Flatten 64 → 4 Dense 10 → softmax")
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
    page.wait_for_function("() => (document.getElementById('error-conv') || {}).textContent?.includes('not an image')")
    _near(page, "#error-conv", "#upload")
    _changed(page, "convVersion", lambda: page.select_option("#image-source", "coins"))
    assert not page.is_visible("#error-conv")


def _reset_conv(page):
    """The seed image and detector, stride 1, no padding, constant boundary, no flip, no bias."""
    _changed(page, "convVersion", lambda: page.select_option("#image-source", "seed"))
    for sel, val in {"#stride": "1", "#padding": "0", "#dilation": "1", "#bias": "0", "#cval": "0"}.items():
        if page.input_value(sel) != val:
            _changed(page, "convVersion", lambda: page.fill(sel, val))
    if page.input_value("#boundary") != "constant":
        _changed(page, "convVersion", lambda: page.select_option("#boundary", "constant"))
    if page.is_checked("#flip"):
        _changed(page, "convVersion", lambda: page.uncheck("#flip"))


@pytest.mark.parametrize("field, value, control", [
    ("#stride", "", "#stride"),              # the case: stride empty ...
    ("#padding", "99", "#padding"),          # ... and padding 99 left the old map with no word
    ("#dilation", "5", "#dilation"),         # refused by the server: the kernel spans 11 cells of 7
    ("#pool-size", "", "#pool-size"),
])
def test_an_error_shows_beside_its_control_and_marks_the_map_stale(browser_page, field, value, control):
    page, _, _ = browser_page
    _reset_conv(page)
    page.locator("#conv").scroll_into_view_if_needed()
    before = page.evaluate("state.conv.output")
    page.fill(field, value)
    kind = "steps" if field == "#pool-size" else "conv"
    page.wait_for_function(f"() => !document.getElementById('error-{kind}').hidden")
    message = page.inner_text(f"#error-{kind}")
    assert field.lstrip("#").replace("-", " ").split()[-1] in message or "kernel spans" in message, message
    _near(page, f"#error-{kind}", control)
    stale = "#relu-canvas" if kind == "steps" else "#output-canvas"
    assert page.evaluate(f"document.querySelector('{stale}').closest('figure').dataset.stale") == "1"
    assert page.evaluate("state.conv.output") == before
    # a good request of another kind does not hide it; fixing the field does
    page.select_option("#pair", "gaussian")
    page.wait_for_timeout(300)
    assert page.is_visible(f"#error-{kind}")
    good = {"#stride": "1", "#padding": "0", "#dilation": "1", "#pool-size": "2"}[field]
    _changed(page, "convVersion" if kind == "conv" else "convVersion", lambda: page.fill(field, good)) \
        if kind == "conv" else page.fill(field, good)
    page.wait_for_function(f"() => document.getElementById('error-{kind}').hidden")
    assert page.evaluate(f"document.querySelector('{stale}').closest('figure').dataset.stale") is None


def test_output_size_formula_holds_for_each_side_of_a_1x9_kernel(browser_page):
    import re

    page, _, _ = browser_page
    _reset_conv(page)
    _changed(page, "convVersion", lambda: page.select_option("#image-source", "camera"))
    page.select_option("#kernel-name", "custom")
    page.fill("#kernel-rows", "1")
    _changed(page, "convVersion", lambda: page.fill("#kernel-cols", "9"))
    _changed(page, "convVersion", lambda: page.fill("#padding", "2"))
    _changed(page, "convVersion", lambda: page.fill("#stride", "2"))
    # an answer to an earlier setting may move the version first: wait for the map of this one
    # (a page that kept a stale map would never get there)
    page.wait_for_function("state.conv && state.conv.output.length === 18 && state.conv.output[0].length === 14",
                           timeout=15_000)
    conv = _conv(page)
    ho, wo = len(conv["output"]), len(conv["output"][0])
    formula = page.inner_text("#shape-formula")
    rows, cols = (int(v) for v in re.findall(r"= (\d+)(?:;|$)", formula))
    assert (rows, cols) == (ho, wo) == ((32 + 4 - 1) // 2 + 1, (32 + 4 - 9) // 2 + 1)
    ref = reference_conv(page.evaluate("state.image"), page.evaluate("state.kernel"), stride=2, padding=2)
    np.testing.assert_allclose(conv["output"], ref, atol=1e-10)
    _reset_conv(page)
    _changed(page, "convVersion", lambda: page.select_option("#kernel-name", "seed detector"))


def test_dense_layer_turns_the_flattened_map_into_class_scores(browser_page):
    from convkit.cnn import Dense

    page, _, _ = browser_page
    _reset_conv(page)
    _changed(page, "stepsVersion", lambda: page.fill("#classes", "4"))
    steps = page.evaluate("state.steps")
    flat = np.array(steps["flat"])
    assert flat.tolist() == [1, 1, 4, 2]                   # 4 numbers: not 4 "classes"
    dense = Dense(4, 4, dtype=np.float64, seed=0)
    ref = dense.forward(flat[None], training=False)[0]
    shown = [float(v) for v in page.eval_on_selector_all("#dense-scores .score", "els => els.map(e => e.dataset.value)")]
    np.testing.assert_allclose(shown, ref, rtol=1e-12)
    np.testing.assert_allclose(steps["dense"]["weight"], dense.params["weight"].T)
    probs = [float(t) for t in page.locator("#softmax-table td:nth-child(4)").all_inner_texts()]
    np.testing.assert_allclose(probs, np.exp(ref) / np.exp(ref).sum(), atol=5e-5)
    _changed(page, "stepsVersion", lambda: page.fill("#classes", "3"))


def _network_reference(server, log):
    """The model's layer outputs for the image the page sent last (python, not the page)."""
    from convkit.cnn import Sequential
    from convkit.viz import prepare_input

    model = Sequential.load(server.view.path)
    image = np.array(json.loads(log["network_bodies"][-1])["image"])[0]
    outs = [prepare_input(model, image)]
    for layer in model.layers:
        outs.append(layer.forward(outs[-1], training=False))
    return model, outs


def test_network_layers_have_a_legend_of_their_range_and_the_logits(browser_page):
    page, server, log = browser_page
    page.locator("#draw").scroll_into_view_if_needed()
    model, outs = _network_reference(server, log)
    for p, out in enumerate(outs):
        legend = page.locator(f"#layers .layer[data-layer='{p}'] .legend")
        lo, hi = float(legend.get_attribute("data-min")), float(legend.get_attribute("data-max"))
        assert (lo, hi) == pytest.approx((float(out.min()), float(out.max())), abs=1e-6), p
    # the last Dense layer's cells are the scores (logits), labelled with the class names
    cells = page.locator(f"#layers .layer[data-layer='{len(outs) - 1}'] td.cell")
    shown = [float(v) for v in cells.evaluate_all("els => els.map(e => e.dataset.value)")]
    np.testing.assert_allclose(shown, outs[-1][0], atol=1e-5)
    assert cells.evaluate_all("els => els.map(e => e.dataset.class)") == model.class_names
    # an all-zero map is drawn black (0 on the layer's scale), not mid-grey
    relu = outs[2][0]
    for f in range(relu.shape[0]):
        canvas = page.locator(f"#layers .layer[data-layer='2'] canvas.map[data-map='{f}']")
        pixel = canvas.evaluate("c => Array.from(c.getContext('2d').getImageData(1, 1, 1, 1).data)")
        if relu[f, 0, 0] == 0:
            assert pixel[:3] == [0, 0, 0], (f, pixel)


@pytest.mark.parametrize("layer, cell", [(1, (2, 3, 5)), (1, (0, 0, 0)), (3, (1, 2, 1)), (5, (7,))])
def test_clicking_a_network_cell_shows_products_that_sum_to_it(browser_page, shots, layer, cell):
    page, server, log = browser_page
    model, outs = _network_reference(server, log)
    before = page.evaluate("document.getElementById('net-detail').dataset.index || ''")
    if len(cell) == 3:
        f, i, j = cell
        canvas = page.locator(f"#layers .layer[data-layer='{layer}'] canvas.map[data-map='{f}']")
        canvas.scroll_into_view_if_needed()
        size = float(canvas.get_attribute("data-cell"))
        canvas.click(position={"x": j * size + size / 2, "y": i * size + size / 2})
    else:
        target = page.locator(f"#layers .layer[data-layer='{layer}'] td.cell[data-index='{cell[0]}']")
        target.scroll_into_view_if_needed()
        target.click()
        canvas = target
    key = ",".join(map(str, cell))
    page.wait_for_function("([k, b]) => document.getElementById('net-detail').dataset.index === k && k !== b",
                           arg=[key, before] if before != key else [key, ""])
    _in_viewport(page, "#net-detail")
    value = float(page.get_attribute("#net-value", "data-value"))
    expected = float(outs[layer][(0, *cell)])
    assert value == pytest.approx(expected, abs=1e-5)
    total = float(page.get_attribute("#net-sum", "data-value"))
    assert total == pytest.approx(expected, abs=1e-5)
    if model.layers[layer - 1].__class__.__name__ == "Conv2D":
        products = [float(v) for v in page.eval_on_selector_all(
            "#net-detail table.products td", "els => els.map(e => e.dataset.value)")]
        bias = float(model.layers[0].params["bias"][cell[0]])
        assert len(products) == 9 and sum(products) + bias == pytest.approx(expected, abs=1e-5)
        page.locator("#network").screenshot(path=os.path.join(shots, "explore_network_detail.png"))


def test_url_keeps_the_setting_and_python_computes_the_shown_map(browser_page, tmp_path):
    import subprocess
    import sys

    page, server, _ = browser_page
    _reset_conv(page)
    _changed(page, "convVersion", lambda: page.select_option("#image-source", "coins"))
    _changed(page, "convVersion", lambda: page.select_option("#kernel-name", "sobel_x"))
    for sel, val in {"#padding": "2", "#stride": "2", "#bias": "0.5"}.items():
        _changed(page, "convVersion", lambda: page.fill(sel, val))
    _changed(page, "convVersion", lambda: page.select_option("#boundary", "reflect"))
    _changed(page, "convVersion", lambda: page.check("#flip"))
    shown = _conv(page)["output"]
    url = page.url
    assert "padding=2" in url and "boundary=reflect" in url and "kernel=sobel_x" in url
    page.click("#copy-python")
    code = page.inner_text("#python-code")
    script = tmp_path / "shown.py"
    script.write_text(code.replace("print(feature_map)", f"np.save({str(tmp_path / 'map.npy')!r}, feature_map)"))
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    np.testing.assert_allclose(np.load(tmp_path / "map.npy"), shown, atol=1e-9)
    # a second tab opened at the shared address shows the same map
    other = page.context.new_page()
    other.goto(url)
    other.wait_for_selector("body[data-ready='1']", timeout=30_000)
    np.testing.assert_allclose(other.evaluate("state.conv.output"), shown, atol=1e-12)
    assert other.input_value("#boundary") == "reflect" and other.is_checked("#flip")
    other.close()
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)


HOSTILE = ['<meta http-equiv="refresh" content="0;url=about:blank">',
           '<img src=x onerror="document.body.dataset.pwned=1">', "<b>bold</b>", "3", "4"]


def test_class_names_from_a_model_are_text_never_html(browser_page, tmp_path_factory):
    # regression (issue 25.1): a class name was inserted as HTML; a <meta refresh> navigated the page
    from convkit.cnn import Dense, Flatten, Sequential

    path = tmp_path_factory.mktemp("hostile") / "model.npz"
    Sequential([Flatten(), Dense(16, 5)], input_shape=(1, 4, 4), seed=0, class_names=HOSTILE).save(path)
    with running(str(path)) as server:
        page = browser_page[0].context.new_page()
        navigations = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.wait_for_timeout(1500)                       # a refresh of 0 s would have fired by now
        assert page.url.startswith(server.url) and all(u.startswith(server.url) for u in navigations)
        names = page.locator("#probabilities .cls").all_inner_texts()
        assert names == HOSTILE
        assert page.locator("#network meta, #network img, #network b").count() == 0
        assert page.evaluate("document.body.dataset.pwned") is None
        assert page.inner_text("#model-path").endswith(" ".join(HOSTILE))
        last = page.locator("#layers .layer").last.locator("td.cell")
        assert last.evaluate_all("els => els.map(e => e.dataset.class)") == HOSTILE
        # the page's policy refuses HTML written from script (Trusted Types), and form submissions
        refused = page.evaluate("""() => { try { document.body.insertAdjacentHTML('beforeend', '<i>x</i>');
                                              return false; } catch (e) { return e instanceof TypeError; } }""")
        assert refused
        csp = page.evaluate("document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
        assert "form-action 'none'" in csp and "require-trusted-types-for 'script'" in csp
        page.close()


def test_page_script_writes_no_html():
    # every text is set as text: the script never assigns or inserts markup
    from importlib import resources

    scripts = [p for p in (resources.files("convkit.web") / "static").iterdir() if p.name.endswith(".js")]
    assert len(scripts) >= 2
    for script in scripts:
        source = script.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "srcdoc", "eval(",
                     "Function("):
            assert sink not in source, (script.name, sink)


def test_no_console_error_in_the_whole_session(browser_page):
    _, _, log = browser_page
    # a refused parameter combination is a 400 that the page shows as a message: not an error here
    refused = "the server responded with a status of 400"
    assert [m for m in log["console"] if refused not in m] == []


def test_the_network_section_reads_an_onnx_model(browser_page, tmp_path_factory):
    """`convkit explore MODEL.onnx` (issue 23): the network section draws the imported model; the
    scores it shows, through a softmax, are onnxruntime's probabilities for the same drawing."""
    import onnxruntime

    from convkit.cnn import Sequential
    from convkit.cnn.onnx import save_onnx
    from convkit.viz import prepare_input

    folder = tmp_path_factory.mktemp("onnx")
    tiny_model(folder / "model.npz")
    save_onnx(Sequential.load(folder / "model.npz"), folder / "model.onnx")
    with running(str(folder / "model.onnx")) as server:
        page = browser_page[0].context.new_page()
        bodies: list = []
        page.on("request", lambda r: r.url.endswith("/api/network") and bodies.append(r.post_data))
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.wait_for_function("document.querySelectorAll('#layers .layer td.cell').length >= 10")
        model = Sequential.load(folder / "model.onnx")
        assert page.locator(f"#layers .layer[data-layer='{len(model.layers)}']").count() == 1
        image = np.array(json.loads(bodies[-1])["image"])[0]
        x = prepare_input(model, image)                       # normalised as the graph's Sub/Div undo
        mean, std = (np.array(model.normalization[k], np.float32).reshape(1, -1, 1, 1) for k in ("mean", "std"))
        session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        want = session.run(None, {"input": (x * std + mean).astype(np.float32)})[0][0]
        cells = page.locator(f"#layers .layer[data-layer='{len(model.layers)}'] td.cell")
        shown = np.array([float(v) for v in cells.evaluate_all("els => els.map(e => e.dataset.value)")])
        probabilities = np.exp(shown - shown.max()) / np.exp(shown - shown.max()).sum()
        np.testing.assert_allclose(probabilities, want, atol=1e-5)
        page.close()
