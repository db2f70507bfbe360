"""The annotator workspace end to end: real Chromium, the built SPA, the live Django server."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotation.models import Annotation, Assignment

from .conftest import ARTIFACTS, open_task, sign_in

pytestmark = pytest.mark.browser

RECORD_STATES = """() => {
  window.__states = [];
  const el = document.querySelector('[data-testid="submit-status"]');
  window.__states.push(el.dataset.state);
  new MutationObserver(() => {
    const s = document.querySelector('[data-testid="submit-status"]')?.dataset.state;
    if (s && window.__states[window.__states.length - 1] !== s) window.__states.push(s);
  }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ['data-state'], childList: true});
}"""


def focused_testid(page):
    return page.evaluate("document.activeElement && document.activeElement.dataset.testid")


def assignment_id(page):
    return int(page.get_by_test_id("task-view").get_attribute("data-assignment-id"))


def wait_for_next_task(page, previous_id):
    try:
        _wait_for_next_task(page, previous_id)
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "failure.png"))
        raise AssertionError(page.get_by_test_id("submit-status").text_content() + " | " + str(page.evaluate(
            "[...document.querySelectorAll('[role=radio][aria-checked=true], textarea')].map(e => e.dataset.testid + '=' + (e.value ?? ''))")))


def _wait_for_next_task(page, previous_id):
    page.wait_for_function(
        "prev => { const el = document.querySelector('[data-testid=\"task-view\"]');"
        " return el && Number(el.dataset.assignmentId) !== prev"
        " && !document.querySelector('[data-testid=\"submit\"]').disabled; }",
        arg=previous_id,
    )


def test_keyboard_only_rating_of_three_videos(page, seed):
    data = seed()
    sign_in(page)
    expect(page.get_by_test_id("campaign-card")).to_have_count(1)
    page.goto(f"/campaigns/{data['campaign'].pk}/work")
    page.get_by_test_id("task-view").wait_for()
    kb = page.keyboard
    expected = {}

    # Video 1: digits, Tab into the reason box, Tab on to the next dimension.
    a1 = assignment_id(page)
    kb.press("ArrowUp")  # from nowhere to the first dimension
    assert focused_testid(page) == "rate-semantic-Good"
    kb.press("1")
    kb.press("Tab")
    assert focused_testid(page) == "rationale-semantic"
    kb.type("Matches the prompt: three red circles.")
    kb.press("Tab")
    assert focused_testid(page) == "rate-motion-Good"
    kb.press("2")
    kb.press("Tab")
    kb.type("Slight jitter at 0:01.")
    kb.press("Tab")
    kb.press("3")
    kb.press("Tab")
    kb.type("Heavy blur & <block> artifacts.")
    expect(page.get_by_test_id("rate-fidelity-Bad")).to_have_attribute("aria-checked", "true")
    kb.press("Control+Enter")
    expected[a1] = {"semantic": ("Good", "Matches the prompt: three red circles."),
                    "motion": ("Normal", "Slight jitter at 0:01."),
                    "fidelity": ("Bad", "Heavy blur & <block> artifacts.")}
    wait_for_next_task(page, a1)

    # Video 2: arrows between levels and dimensions, Esc out of the reason box.
    a2 = assignment_id(page)
    assert a2 != a1
    kb.press("Escape")
    kb.press("ArrowUp")
    assert focused_testid(page) == "rate-semantic-Good"
    kb.press("ArrowRight")  # nothing chosen yet: the first level
    kb.press("ArrowRight")  # then the next one
    expect(page.get_by_test_id("rate-semantic-Normal")).to_have_attribute("aria-checked", "true")
    kb.press("Tab")
    kb.type("The colour is a bit off.")
    kb.press("Escape")
    kb.press("ArrowDown")
    assert focused_testid(page) == "rate-motion-Good"
    kb.press("ArrowLeft")  # from nothing, backwards: the last level
    expect(page.get_by_test_id("rate-motion-Bad")).to_have_attribute("aria-checked", "true")
    kb.press("Tab")
    kb.type("Frames drop.")
    kb.press("Escape")
    kb.press("ArrowDown")
    kb.press("1")
    kb.press("Tab")
    kb.type("Crisp.")
    kb.press("Control+Enter")
    expected[a2] = {"semantic": ("Normal", "The colour is a bit off."), "motion": ("Bad", "Frames drop."),
                    "fidelity": ("Good", "Crisp.")}
    wait_for_next_task(page, a2)

    # Video 3: Tab all the way, digits.
    a3 = assignment_id(page)
    kb.press("Escape")
    kb.press("ArrowUp")
    for key, digit, text in (("semantic", "3", "Wrong shape: squares."), ("motion", "1", "Smooth."),
                             ("fidelity", "2", "Some ringing.")):
        assert focused_testid(page).startswith(f"rate-{key}-")
        kb.press(digit)
        kb.press("Tab")
        assert focused_testid(page) == f"rationale-{key}"
        kb.type(text)
        if key != "fidelity":
            kb.press("Tab")
    kb.press("Control+Enter")
    expected[a3] = {"semantic": ("Bad", "Wrong shape: squares."), "motion": ("Good", "Smooth."),
                    "fidelity": ("Normal", "Some ringing.")}
    wait_for_next_task(page, a3)
    expect(page.get_by_test_id("submit-status")).to_have_attribute("data-state", "saved")

    annotations = Annotation.objects.filter(annotator=data["annotator"]).order_by("id")
    assert annotations.count() == 3
    for annotation in annotations:
        want = expected[annotation.assignment_id]
        got = {k: (v["rating"], v["rationale"]) for k, v in annotation.ratings.items()}
        assert got == want
        assert annotation.time_spent_ms >= 0
    assert page.console_errors == []
    assert [d for d in page.dialogs if d[0] != "beforeunload"] == []


def test_reload_while_typing_restores_the_draft(page, seed):
    data = seed()
    sign_in(page)
    a1 = open_task(page, data["campaign"])
    page.keyboard.press("ArrowUp")
    page.keyboard.press("2")
    page.keyboard.press("Tab")
    page.keyboard.type("The circle stops for a moment and then ju")

    page.reload()
    page.get_by_test_id("task-view").wait_for()
    assert assignment_id(page) == a1  # the same lease comes back
    expect(page.get_by_test_id("rate-semantic-Normal")).to_have_attribute("aria-checked", "true")
    box = page.get_by_test_id("rationale-semantic")
    expect(box).to_have_value("The circle stops for a moment and then ju")
    expect(page.get_by_test_id("rationale-count-semantic")).to_contain_text("41/")
    # And the work goes on from there.
    box.focus()
    box.press("End")
    page.keyboard.type("mps.")
    expect(box).to_have_value("The circle stops for a moment and then jumps.")
    assert page.evaluate(f"JSON.parse(localStorage.getItem('lift.draft.{a1}')).ratings.semantic.rationale") == (
        "The circle stops for a moment and then jumps.")


def rate_all_by_keyboard(page, texts=("Fine.", "Fine too.", "Also fine.")):
    kb = page.keyboard
    kb.press("Escape")
    kb.press("ArrowUp")
    for digit, text in zip(("1", "2", "3"), texts):
        kb.press(digit)
        kb.press("Tab")
        kb.type(text)
        kb.press("Tab")


def test_submit_survives_a_network_cut(page, seed):
    attempts, cut_on = [], []

    def cut(route):
        if not cut_on:
            route.continue_()
            return
        attempts.append(route.request.headers.get("idempotency-key"))
        if len(attempts) == 1:
            # The worst case: the server gets and saves it, the answer is lost on the way back.
            route.fetch()
        route.abort("internetdisconnected")

    # Routed before the page loads, so interception is long in place when the submit goes out
    # (CI once saw a submit answered "saved" with the cut set up just before it).
    page.route("**/submit/", cut)
    data = seed()
    sign_in(page)
    a1 = open_task(page, data["campaign"])
    rate_all_by_keyboard(page)
    page.evaluate(RECORD_STATES)
    cut_on.append(True)
    page.keyboard.press("Control+Enter")
    # Every state change is recorded by the observer, so a short "retrying" cannot slip between polls.
    page.wait_for_function("() => window.__states.filter(s => s === 'retrying').length >= 2")  # two lost attempts
    states = page.evaluate("window.__states")
    assert "saved" not in states, (states, attempts)
    expect(page.get_by_test_id("submit-status")).to_contain_text("Retrying in")
    assert Annotation.objects.count() == 1  # the first one did arrive
    cut_on.clear()  # the network is back

    expect(page.get_by_test_id("submit-status")).to_have_attribute("data-state", "saved", timeout=15_000)
    wait_for_next_task(page, a1)
    states = page.evaluate("window.__states")
    assert states[0] == "idle" and states[-1] == "saved", states
    assert "failed" not in states
    assert states.index("retrying") < states.index("saved")
    assert len(attempts) >= 2 and len(set(attempts)) == 1, attempts  # every attempt carried the same key
    annotations = list(Annotation.objects.all())
    assert len(annotations) == 1
    assert annotations[0].assignment_id == a1 and annotations[0].idempotency_key == attempts[0]
    assert {k: v["rating"] for k, v in annotations[0].ratings.items()} == {
        "semantic": "Good", "motion": "Normal", "fidelity": "Bad"}
    assert page.evaluate(f"localStorage.getItem('lift.draft.{a1}')") is None


def test_lease_expiry_is_explained(page, seed):
    data = seed()
    sign_in(page)
    a1 = open_task(page, data["campaign"])
    rate_all_by_keyboard(page, texts=("Keep this note.", "Second.", "Third."))

    # The server lets the lease run out while the page still counts down: the submit is refused.
    Assignment.objects.filter(pk=a1).update(expires_at=timezone.now() - timedelta(seconds=1))
    page.keyboard.press("Control+Enter")
    lost = page.get_by_test_id("lease-lost")
    expect(lost).to_be_visible()
    expect(lost).to_contain_text("This task is no longer yours")
    expect(lost).to_contain_text("expired")
    lost.locator("summary").click()
    expect(lost).to_contain_text("Keep this note.")  # the notes are there to copy
    assert Annotation.objects.count() == 0

    # The page's own countdown: a lease about to end shows "time is up" and locks the form.
    page.get_by_test_id("lease-lost-next").click()
    page.get_by_test_id("task-view").wait_for()
    a2 = assignment_id(page)

    def nearly_over(route):
        """The lease is cut to 3 s as next-task hands it back: cut before the reload, a slow reload let it run
        out and next-task leased it afresh for the full time (the test's old flake)."""
        response = route.fetch()
        soon = timezone.now() + timedelta(seconds=3)
        Assignment.objects.filter(pk=a2).update(expires_at=soon)
        route.fulfill(response=response, json={**response.json(), "expires_at": soon.isoformat()})

    page.route("**/next-task/", nearly_over, times=1)
    page.reload()  # next-task hands back the same lease, now nearly finished
    page.get_by_test_id("task-view").wait_for()
    assert assignment_id(page) == a2
    expired = page.get_by_test_id("lease-expired")
    expect(expired).to_be_visible(timeout=10_000)
    expect(expired).to_contain_text("Time is up")
    expect(page.get_by_test_id("lease-timer")).to_have_attribute("data-seconds-left", "0")
    expect(page.get_by_test_id("submit")).to_be_disabled()
    page.keyboard.press("Control+Enter")
    assert Annotation.objects.count() == 0
    # And from there, a fresh task.
    expired.get_by_role("button", name="Get a task").click()
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"lease-expired\"]')"
        " && document.querySelector('[data-testid=\"task-view\"]')")
    expect(page.get_by_test_id("submit")).to_be_enabled()


def test_task_view_fits_1366x768(page, seed):
    data = seed()
    sign_in(page)
    open_task(page, data["campaign"])
    page.wait_for_function("() => document.querySelector('[data-testid=\"task-video\"]').readyState >= 2")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("2")  # a rated dimension with its reason box open: the usual sight
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "task-view-1366x768.png"))
    assert page.evaluate("window.scrollY") == 0
    viewport = page.viewport_size
    for key in ("semantic", "motion", "fidelity"):
        for level in ("Good", "Normal", "Bad"):
            box = page.get_by_test_id(f"rate-{key}-{level}").bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (key, level, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (key, level, box)
    for testid in ("submit", "task-video", "prompt-text"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box["y"] + box["height"] <= viewport["height"], (testid, box)


def test_markup_is_shown_as_text(page, seed):
    evil = '<img src=x onerror="window.__pwned=1;alert(1)">'
    data = seed(
        prompt_texts=[evil] * 5,
        guidelines=f"# Rules\n\n{evil}\n\n<script>window.__pwned=2;alert(2)</script>\n\n"
                   "[click me](javascript:window.__pwned=3)\n\n![pic](x \"t\")",
        name='<b onmouseover="alert(9)">Bold</b> campaign',
    )
    sign_in(page)
    expect(page.get_by_test_id("campaign-card")).to_contain_text('<b onmouseover="alert(9)">Bold</b> campaign')
    a1 = open_task(page, data["campaign"])
    expect(page.get_by_test_id("prompt-text")).to_have_text(evil)
    expect(page.get_by_test_id("prompt-caption")).to_have_text(f"A detailed scene: {evil}.")
    assert page.locator("img").count() == 0

    page.keyboard.press("g")
    content = page.get_by_test_id("guidelines-content")
    expect(content).to_be_visible()
    expect(content).to_contain_text(evil)
    expect(content).to_contain_text("<script>")
    assert content.locator("img, script, a[href^='javascript']").count() == 0
    page.keyboard.press("Escape")

    rate_all_by_keyboard(page, texts=(evil, "<i>fine</i>", "ok"))
    page.reload()
    page.get_by_test_id("task-view").wait_for()
    expect(page.get_by_test_id("rationale-semantic")).to_have_value(evil)
    page.keyboard.press("Control+Enter")
    wait_for_next_task(page, a1)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert [d for d in page.dialogs if d[0] != "beforeunload"] == []
    annotation = Annotation.objects.get()
    assert annotation.ratings["semantic"]["rationale"] == evil
    assert annotation.ratings["motion"]["rationale"] == "<i>fine</i>"


def test_session_end_keeps_the_work_and_resumes_after_sign_in(page, seed):
    data = seed()
    sign_in(page)
    a1 = open_task(page, data["campaign"])
    rate_all_by_keyboard(page, texts=("Before the session ended.", "Two.", "Three."))
    page.context.clear_cookies(name="sessionid")  # the session ends (expiry, sign-out elsewhere)

    page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("login-notice")).to_be_visible()
    assert "/login?next=" in page.url
    assert Annotation.objects.count() == 0
    page.get_by_test_id("login-username").fill("ana")
    page.get_by_test_id("login-password").fill("pw-for-tests-123")
    page.get_by_test_id("login-submit").click()
    # Back on the task, the pending submit goes out with its key and the next task follows.
    wait_for_next_task(page, a1)
    expect(page.get_by_test_id("submit-status")).to_have_attribute("data-state", "saved")
    annotation = Annotation.objects.get()
    assert annotation.assignment_id == a1
    assert annotation.ratings["semantic"]["rationale"] == "Before the session ended."
