"""The pair workspace end to end: two real videos of one prompt side by side in Chromium, played, paused,
sought and stepped together (measured on the video elements themselves), compared by keyboard, submitted, and
stored as A / B of the pair through the lease's recorded left/right order."""
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation, Assignment, CampaignItem
from annotation.schema import pair_choice_from_shown

from .conftest import ARTIFACTS, open_task, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media_with_ranges")]

FPS = 8
FRAMES = 32  # 4 s: long enough to watch a few seconds of playback between loops
FRAME = 1 / FPS
DIMS = ("semantic", "motion", "fidelity")

TIMES = """() => {
  const l = document.querySelector('[data-testid="pair-video-left"]');
  const r = document.querySelector('[data-testid="pair-video-right"]');
  return {left: l.currentTime, right: r.currentTime, leftPaused: l.paused, rightPaused: r.paused,
          seeking: l.seeking || r.seeking, leftRate: l.playbackRate, rightRate: r.playbackRate};
}"""


@pytest.fixture(scope="session")
def pair_videos(tmp_path_factory):
    """Two prompts of the synthetic world, each rendered with two seeds: real H.264 MP4s and posters."""
    import numpy as np

    from alignment.engine.synthetic import render, sample_prompt
    from alignment.engine.video_io import encode_video, write_poster

    out = tmp_path_factory.mktemp("pair-videos")
    rng = np.random.default_rng(11)
    prompts = []
    for p in range(2):
        spec = sample_prompt(rng)
        seeds = []
        for seed in (0, 1):
            frames = render(spec, frames=FRAMES, size=(144, 256), seed=seed)
            name = f"pair{p}s{seed}"
            info = encode_video(frames, out / f"{name}.mp4", fps=FPS)
            write_poster(frames, out / f"{name}.jpg")
            seeds.append({"name": name, "info": info})
        prompts.append({"text": spec.to_text(), "videos": seeds})
    return out, prompts


@pytest.fixture
def pair_seed(transactional_db, settings, pair_videos):
    """A pairwise campaign of two pairs (two seeds of one prompt each) and an annotator member."""
    from annotation.models import Prompt, Video
    from annotation.services.campaigns import campaign_add_pairs, campaign_create
    from tests.factories import UserFactory, add_member

    src, prompts = pair_videos
    for sub in ("videos", "posters"):
        (Path(settings.MEDIA_ROOT) / sub).mkdir(parents=True, exist_ok=True)
    campaign = campaign_create(name="Pairs in the browser", kind="pairwise", overlap=1, rationale_policy="unless_good",
                               guidelines="# Compare\n\nWhich of the two is **better**?")
    pairs = []
    for p in prompts:
        prompt = Prompt.objects.create(text=p["text"], normalized=p["text"].lower())
        ids = []
        for v in p["videos"]:
            shutil.copy(src / f"{v['name']}.mp4", Path(settings.MEDIA_ROOT) / "videos" / f"{v['name']}.mp4")
            shutil.copy(src / f"{v['name']}.jpg", Path(settings.MEDIA_ROOT) / "posters" / f"{v['name']}.jpg")
            info = v["info"]
            ids.append(Video.objects.create(
                file=f"videos/{v['name']}.mp4", poster=f"posters/{v['name']}.jpg", prompt=prompt, frames=info.frames,
                fps=info.fps, width=info.width, height=info.height, duration=info.duration).pk)
        pairs.append(tuple(ids))
    items = campaign_add_pairs(campaign=campaign, pairs=pairs)
    annotator = add_member(campaign, UserFactory(username="ana", roles=["annotator"]))
    return {"campaign": campaign, "items": items, "annotator": annotator}


def times(page):
    return page.evaluate(TIMES)


def wait_both_ready(page):
    page.wait_for_function(
        "() => ['left', 'right'].every(s => document.querySelector(`[data-testid=\"pair-video-${s}\"]`).readyState >= 3)")


def wait_settled(page):
    """Both paused and neither still seeking."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid^=\"pair-video-\"]')].every(v => v.paused && !v.seeking)")


def assert_in_step_while_playing(page, samples=12, every_ms=150):
    """Several samples during playback: both play, and each time the two are within one frame."""
    seen = []
    for _ in range(samples):
        page.wait_for_timeout(every_ms)
        t = times(page)
        seen.append(t)
        assert not t["leftPaused"] and not t["rightPaused"], t
        assert abs(t["left"] - t["right"]) <= FRAME, (t, seen)
    assert len({round(t["left"], 2) for t in seen}) > samples // 2, seen  # the time did move
    return seen


def test_two_videos_play_pause_seek_and_step_together(page, pair_seed):
    sign_in(page)
    open_task(page, pair_seed["campaign"])
    left, right = page.get_by_test_id("pair-video-left"), page.get_by_test_id("pair-video-right")
    expect(left).to_be_visible()
    expect(right).to_be_visible()
    assert left.get_attribute("src") != right.get_attribute("src")
    wait_both_ready(page)

    # Both start on their own (muted autoplay) and play in step, across the loop back to the start.
    page.wait_for_function("() => !document.querySelector('[data-testid=\"pair-video-left\"]').paused")
    assert_in_step_while_playing(page, samples=30, every_ms=150)  # 4.5 s: through one loop of the 4 s clips

    # Space pauses both, on the same frame.
    page.keyboard.press("Space")
    wait_settled(page)
    t = times(page)
    assert abs(t["left"] - t["right"]) <= FRAME / 2, t

    # A seek on the one scrubber moves both.
    scrubber = page.get_by_test_id("pair-scrubber")
    box = scrubber.bounding_box()
    scrubber.click(position={"x": box["width"] * 0.6, "y": box["height"] / 2})
    wait_settled(page)
    t = times(page)
    assert abs(t["left"] - t["right"]) <= FRAME / 2, t
    assert 1.5 < t["left"] < 3.5, t  # about 60 % into 4 s

    # Frame steps, from the keyboard, step both.
    page.keyboard.press("Escape")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    start = times(page)["left"]
    for _ in range(3):
        page.keyboard.press(".")
    wait_settled(page)
    t = times(page)
    assert abs(t["left"] - t["right"]) <= FRAME / 2, t
    assert round((t["left"] - start) * FPS) in (3, 4), (start, t)  # three frames on (a seek may land mid-frame)
    page.keyboard.press(",")
    wait_settled(page)
    t2 = times(page)
    assert abs(t2["left"] - t2["right"]) <= FRAME / 2, t2
    assert round((t["left"] - t2["left"]) * FPS) == 1, (t, t2)

    # Played again from there, at double speed (] steps 1 → 1.25 → 1.5 → 2 and holds there): still in step.
    for _ in range(4):
        page.keyboard.press("]")
    assert page.get_by_test_id("pair-speed").input_value() == "2"
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.querySelector('[data-testid=\"pair-video-left\"]').paused")
    seen = assert_in_step_while_playing(page, samples=12, every_ms=150)
    assert seen[-1]["leftRate"] == 2
    assert 1.5 <= seen[-1]["rightRate"] <= 2.5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pair-view-1366x768.png"))
    assert page.console_errors == []


def test_unlinked_videos_diverge_and_link_again(page, pair_seed):
    sign_in(page)
    open_task(page, pair_seed["campaign"])
    wait_both_ready(page)
    page.get_by_test_id("pair-play").click()  # pause both (they autoplay)
    wait_settled(page)
    page.evaluate("document.activeElement && document.activeElement.blur()")

    page.keyboard.press("l")
    expect(page.get_by_test_id("pair-players")).to_have_attribute("data-linked", "false")
    expect(page.get_by_test_id("pair-link")).to_have_attribute("aria-pressed", "false")
    for _ in range(12):
        page.get_by_test_id("pair-left-next").click()  # the left one alone steps on
    wait_settled(page)
    page.wait_for_timeout(400)  # nothing pulls them together while unlinked
    t = times(page)
    assert t["left"] - t["right"] > 10 * FRAME, t
    page.get_by_test_id("pair-right-play").click()  # the right one alone plays
    page.wait_for_timeout(500)
    t = times(page)
    assert t["leftPaused"] and not t["rightPaused"], t
    assert t["left"] - t["right"] > 4 * FRAME, t
    page.get_by_test_id("pair-right-play").click()
    wait_settled(page)

    page.get_by_test_id("pair-link").click()
    expect(page.get_by_test_id("pair-players")).to_have_attribute("data-linked", "true")
    wait_settled(page)
    t = times(page)
    assert abs(t["left"] - t["right"]) <= FRAME / 2, t


def choose_all_by_keyboard(page, plan):
    """plan: [(dimension, key, reason or None)], from the first dimension down."""
    kb = page.keyboard
    kb.press("Escape")
    kb.press("ArrowUp")
    for i, (dim, key, reason) in enumerate(plan):
        assert page.evaluate("document.activeElement.dataset.testid").startswith(f"choose-{dim}-")
        kb.press(key)
        if reason is not None:
            kb.press("Tab")
            if key == "2":  # a tie's reason is optional (unless_good): Enter on "Add a reason" opens the box
                assert page.evaluate("document.activeElement.dataset.testid") == f"rationale-add-{dim}"
                kb.press("Enter")
                page.wait_for_function(f"() => document.activeElement.dataset.testid === 'rationale-{dim}'")
            assert page.evaluate("document.activeElement.dataset.testid") == f"rationale-{dim}"
            kb.type(reason)
            kb.press("Escape")
        if i < len(plan) - 1:
            kb.press("ArrowDown")


def test_choices_by_keyboard_are_stored_as_a_and_b(page, pair_seed):
    sign_in(page)
    expected = {}
    previous = None
    plans = [
        [("semantic", "1", "The left one has the right colour."), ("motion", "2", None),
         ("fidelity", "3", "Less blur on the right.")],
        [("semantic", "3", "Right: the count is right."), ("motion", "1", "Left moves smoothly."),
         ("fidelity", "2", "Both equally sharp.")],
    ]
    open_task(page, pair_seed["campaign"])
    # Both videos of the next pair are buffered in the background.
    expect(page.get_by_test_id("pair-prefetch")).to_have_count(2)
    for plan in plans:
        try:
            page.wait_for_function(
                "prev => { const el = document.querySelector('[data-testid=\"task-view\"]');"
                " return el && Number(el.dataset.assignmentId) !== prev"
                " && !document.querySelector('[data-testid=\"submit\"]').disabled; }", arg=previous or -1)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "pair-failure.png"))
            raise AssertionError(page.get_by_test_id("submit-status").text_content())
        aid = int(page.get_by_test_id("task-view").get_attribute("data-assignment-id"))
        assignment = Assignment.objects.select_related("item__video", "item__video_b").get(pk=aid)
        assert assignment.shown_order in ("AB", "BA")
        a_url, b_url = assignment.item.video.file.url, assignment.item.video_b.file.url
        want_left = a_url if assignment.shown_order == "AB" else b_url
        assert page.get_by_test_id("pair-video-left").get_attribute("src").endswith(want_left)
        choose_all_by_keyboard(page, plan)
        sides = {"1": "left", "2": "tie", "3": "right"}
        for dim, key, _ in plan:
            expect(page.get_by_test_id(f"choose-{dim}-{sides[key]}")).to_have_attribute("aria-checked", "true")
        page.keyboard.press("Control+Enter")
        expected[aid] = {dim: {"choice": pair_choice_from_shown(sides[key], assignment.shown_order),
                               "rationale": reason or ""} for dim, key, reason in plan}
        previous = aid
    page.get_by_test_id("empty-state").wait_for()

    stored = {a.assignment_id: a.ratings for a in Annotation.objects.filter(annotator=pair_seed["annotator"])}
    assert stored == expected
    assert CampaignItem.objects.filter(campaign=pair_seed["campaign"]).count() == 2
    assert page.console_errors == []


def test_a_pair_draft_survives_a_reload(page, pair_seed):
    sign_in(page)
    a1 = open_task(page, pair_seed["campaign"])
    # The whole pair view fits 1366×768: both videos, every choice and the submit button, without scrolling.
    viewport = page.viewport_size
    testids = ["pair-video-left", "pair-video-right", "pair-scrubber", "pair-link", "submit", "prompt-text"]
    testids += [f"choose-{dim}-{side}" for dim in DIMS for side in ("left", "tie", "right")]
    for testid in testids:
        box = page.get_by_test_id(testid).bounding_box()
        assert box and 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"], (testid, box)
        assert 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"], (testid, box)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("3")
    page.keyboard.press("Tab")
    page.keyboard.type("The right one keeps both circles in fra")
    page.reload()
    page.get_by_test_id("task-view").wait_for()
    assert int(page.get_by_test_id("task-view").get_attribute("data-assignment-id")) == a1
    expect(page.get_by_test_id("choose-semantic-right")).to_have_attribute("aria-checked", "true")
    box = page.get_by_test_id("rationale-semantic")
    expect(box).to_have_value("The right one keeps both circles in fra")
    box.focus()
    box.press("End")
    page.keyboard.type("me.")
    assert page.evaluate(f"JSON.parse(localStorage.getItem('lift.draft.{a1}')).ratings.semantic") == {
        "rating": "right", "rationale": "The right one keeps both circles in frame."}
