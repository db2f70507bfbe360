"""The admin console end to end: real Chromium, the built SPA, the live Django server, a real worker."""
import io
import zipfile

import pytest
from playwright.sync_api import expect

from alignment.models import Job, ModelVersion
from tests.conftest import submit, token_client
from tests.factories import UserFactory
from tests.generation.conftest import world_prompts  # noqa: F401 (a fixture)
from tests.loop.conftest import active_generator, wait_for  # noqa: F401 (a fixture)

from .conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _patient_page(page):
    """The console loads its chunk (and uPlot) on first use; on a busy shared machine that can take a while."""
    page.set_default_timeout(20_000)


def test_non_admin_cannot_see_the_console(page, seed):
    seed()
    chunks = []
    page.on("request", lambda r: chunks.append(r.url) if "ConsoleApp" in r.url else None)
    sign_in(page)
    expect(page.get_by_test_id("campaign-card")).to_have_count(1)
    expect(page.get_by_test_id("console-link")).to_have_count(0)
    page.goto("/console/jobs")
    expect(page.get_by_test_id("console-forbidden")).to_be_visible()
    expect(page.get_by_test_id("console")).to_have_count(0)
    assert chunks == []  # the console's code is never even downloaded
    assert page.console_errors == []


def test_models_page_shows_why_a_promotion_is_refused(page, transactional_db):
    UserFactory(username="boss", roles=["admin"])
    active = ModelVersion.objects.create(kind="critic", name="critic-a", base="tiny", is_active=True,
                                         metrics={"mean_accuracy": 0.8}, lineage={"snapshot": 1})
    worse = ModelVersion.objects.create(kind="critic", name="critic-b", base="tiny", parent=active,
                                        metrics={"mean_accuracy": 0.6}, lineage={"snapshot": 2})
    sign_in(page, "boss")
    page.get_by_test_id("console-link").click()
    page.get_by_test_id("console-tab-models").click()
    row = page.locator(f'[data-testid="version"][data-version-id="{worse.pk}"]')
    expect(row.get_by_test_id("version-lineage")).to_contain_text("snapshot: #2")
    expect(row.get_by_test_id("version-lineage")).to_contain_text(f"parent version: #{active.pk}")

    row.get_by_test_id("version-promote").click()
    refusal = row.get_by_test_id("promote-refusal")
    expect(refusal).to_contain_text("Mean accuracy 0.600 is below the active critic's 0.800.")
    active.refresh_from_db()
    assert active.is_active

    # Side by side, then a forced promotion with its reason.
    page.locator(f'[data-version-id="{active.pk}"] [data-testid="version-compare"]').check()
    row.get_by_test_id("version-compare").check()
    expect(page.get_by_test_id("comparison")).to_contain_text("mean_accuracy")
    expect(page.get_by_test_id("comparison")).to_contain_text("-0.2")
    row.get_by_test_id("force-reason").fill("The old test split leaked.")
    row.get_by_test_id("force-promote").click()
    expect(row.locator(".badge", has_text="active")).to_be_visible()
    worse.refresh_from_db()
    assert worse.is_active
    assert worse.promotions.get().reason == "The old test split leaked."


def test_a_generator_awaiting_peoples_ratings_is_marked_until_promoted(page, transactional_db):
    UserFactory(username="boss", roles=["admin"])
    active = ModelVersion.objects.create(kind="generator", name="base", base="synthetic://world", is_active=True)
    waiting = ModelVersion.objects.create(kind="generator", name="aligned", base="synthetic://world", parent=active,
                                          awaiting_review=True)
    reason = "people's ratings on 9 prompt-and-seed pairs: lead in mean reward -0.0100 ± 0.0200"
    retired = ModelVersion.objects.create(kind="generator", name="retired", base="synthetic://world", parent=active,
                                          metrics={"people_review": {"verdict": "retire", "reason": reason}})
    sign_in(page, "boss")
    page.get_by_test_id("console-link").click()
    page.get_by_test_id("console-tab-models").click()
    row = page.locator(f'[data-testid="version"][data-version-id="{waiting.pk}"]')
    expect(row.get_by_test_id("awaiting-review")).to_have_text("awaiting people's ratings")
    expect(page.locator(f'[data-version-id="{active.pk}"] [data-testid="awaiting-review"]')).to_have_count(0)
    expect(page.locator(f'[data-version-id="{retired.pk}"] [data-testid="people-review"]')).to_have_text(
        f"retired by people: {reason}")
    expect(row.get_by_test_id("people-review")).to_have_count(0)

    row.get_by_test_id("version-promote").click()  # refused: it has no held-out figures, so force it
    row.get_by_test_id("force-reason").fill("Watched its videos.")
    row.get_by_test_id("force-promote").click()
    expect(row.locator(".badge", has_text="active")).to_be_visible()
    expect(row.get_by_test_id("awaiting-review")).to_have_count(0)
    waiting.refresh_from_db()
    assert waiting.is_active and not waiting.awaiting_review


def test_admin_launches_a_snapshot_watches_it_finish_and_downloads_it(page, seed, celery_worker_process):
    data = seed()
    campaign = data["campaign"]
    annotator = token_client(data["annotator"])
    for _ in range(3):
        lease = annotator.post(f"/api/campaigns/{campaign.pk}/next-task/").json()
        assert submit(annotator, lease["id"]).status_code == 201
    UserFactory(username="boss", roles=["admin"])

    sign_in(page, "boss", path="/console/jobs")
    page.get_by_test_id("launch-kind").select_option("snapshot")
    # Checked in the browser before anything is sent.
    page.get_by_test_id("launch-campaign_ids").fill("one")
    page.get_by_test_id("launch-submit").click()
    expect(page.get_by_test_id("launch-campaign_ids-error")).to_contain_text("Whole numbers")
    assert Job.objects.count() == 0
    # Refused by the server: its detail is shown, nothing is queued.
    page.get_by_test_id("launch-campaign_ids").fill("999999")
    page.get_by_test_id("launch-submit").click()
    expect(page.get_by_test_id("launch-error")).to_contain_text("Unknown campaign ids: [999999]")
    assert Job.objects.count() == 0

    page.get_by_test_id("launch-campaign_ids").fill(str(campaign.pk))
    page.get_by_test_id("launch-submit").click()
    detail = page.get_by_test_id("job-detail")
    expect(detail).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(page.get_by_test_id("job-progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("job-log")).to_contain_text("3 annotations")
    job = Job.objects.get()
    assert (job.kind, job.status, job.params["filters"]["campaign_ids"]) == ("snapshot", "succeeded", [campaign.pk])

    with page.expect_download() as download_info:
        page.get_by_test_id("job-download").click()
    download = download_info.value
    assert download.suggested_filename == f"lift-hra-snapshot-{job.result['number']}.zip"
    with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as archive:
        assert any(name.endswith("manifest.json") for name in archive.namelist())

    page.get_by_test_id("console-tab-snapshots").click()
    card = page.locator(f'[data-testid="snapshot"][data-snapshot-id="{job.result["snapshot_id"]}"]')
    expect(card).to_have_attribute("data-status", "ready")
    expect(card.get_by_test_id("snapshot-counts")).to_contain_text("annotations")
    expect(card.get_by_test_id("snapshot-distributions")).to_contain_text("semantic")
    assert page.console_errors == []


def test_admin_launches_a_retrain_loop_and_watches_every_stage_to_the_end(page, celery_worker_process,
                                                                         active_generator, world_prompts):
    """The loop's mechanics stages (snapshot, candidates, next round) on the synthetic world; the stages
    that train models need the tiny models and are covered by the loop's own tests."""
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(name="next round")
    UserFactory(username="boss", roles=["admin"])
    sign_in(page, "boss", path="/console/jobs?launch=retrain_loop")
    form = page.get_by_test_id("launch-form")
    expect(form).to_have_attribute("data-kind", "retrain_loop")
    page.get_by_test_id("launch-stages").fill("snapshot, generate_candidates, dance")
    page.get_by_test_id("launch-submit").click()
    expect(page.get_by_test_id("launch-stages-error")).to_contain_text("Unknown stage: dance.")

    page.get_by_test_id("launch-stages").fill("snapshot, generate_candidates, generate_next_round")
    page.get_by_test_id("launch-candidate_prompt_ids").fill(", ".join(str(p.pk) for p in world_prompts[:2]))
    page.get_by_test_id("launch-candidate_seeds").fill("0, 1")
    page.get_by_test_id("launch-next_round_prompt_ids").fill(", ".join(str(p.pk) for p in world_prompts[2:4]))
    page.get_by_test_id("launch-next_round_campaign").select_option(str(campaign.pk))
    page.get_by_test_id("launch-submit").click()

    detail = page.get_by_test_id("job-detail")
    expect(detail).to_have_attribute("data-status", "succeeded", timeout=120_000)
    stages = page.get_by_test_id("job-stage")
    expect(stages).to_have_count(3)
    for name in ("snapshot", "generate_candidates", "generate_next_round"):
        expect(page.locator(f'[data-testid="job-stage"][data-name="{name}"]')).to_have_attribute("data-status", "succeeded")
    loop = Job.objects.get(kind="retrain_loop")
    assert loop.stages.count() == 3
    assert campaign.items.filter(video_id__in=loop.result["next_round_video_ids"]).count() == 2

    # A stage's own page, from the loop's.
    page.locator('[data-testid="job-stage"][data-name="generate_next_round"] a').click()
    expect(page.get_by_test_id("job-detail")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("job-detail")).not_to_have_attribute("data-job-id", str(loop.pk))
    assert page.console_errors == []


def test_every_console_page_renders_with_data(page, seed, active_generator):
    """Overview, jobs, a job with curves, loop, models, snapshots and a campaign: each renders its data
    without a script error (screenshots in test-artifacts/console-*.png)."""
    from django.utils import timezone

    data = seed(guidelines="# Rules\n\nRate **each** one.\n\n<script>alert(1)</script>")
    campaign = data["campaign"]
    annotator = token_client(data["annotator"])
    for _ in range(2):
        lease = annotator.post(f"/api/campaigns/{campaign.pk}/next-task/").json()
        assert submit(annotator, lease["id"]).status_code == 201
    UserFactory(username="boss", roles=["admin"])
    training = Job.objects.create(
        kind="train_critic", dedupe_key="t", queue="gpu", status="running", worker="gpu-0", phase="train step 30",
        progress=0.3, heartbeat_at=timezone.now(), log_tail="step 30 loss 0.9\n",
        metrics={"loss_curve": [[10, 1.2], [20, 1.0], [30, 0.9]], "loss": 0.9},
    )
    ModelVersion.objects.create(kind="critic", name="critic-a", base="tiny", metrics={"mean_accuracy": 0.7}, is_active=True)

    sign_in(page, "boss", path="/console")
    ARTIFACTS.mkdir(exist_ok=True)
    expect(page.get_by_test_id("throughput")).to_contain_text("2 in the last 14 days")
    expect(page.get_by_test_id("worker")).to_contain_text(f"#{training.pk} train_critic")
    expect(page.get_by_test_id("active-critic")).to_contain_text("critic-a")
    expect(page.get_by_test_id("active-generator")).to_contain_text("synthetic world")
    expect(page.get_by_test_id("overview-campaigns")).to_contain_text("2 / 5")
    page.screenshot(path=str(ARTIFACTS / "console-overview.png"), full_page=True)

    page.goto(f"/console/jobs/{training.pk}")
    expect(page.get_by_test_id("job-phase")).to_contain_text("train step 30")
    expect(page.get_by_test_id("chart-loss_curve").locator("canvas")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "console-job.png"), full_page=True)

    for tab, testid in (("jobs", "job-list"), ("retrain", "policy-form"), ("models", "models-page"),
                        ("snapshots", "snapshots-page"), ("campaigns", "campaign-table")):
        page.get_by_test_id(f"console-tab-{tab}").click()
        expect(page.get_by_test_id(testid)).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"console-{tab}.png"), full_page=True)

    # The retrain policy: checked in the browser, saved through the API.
    page.get_by_test_id("console-tab-retrain").click()
    page.locator("#policy-min_new_annotations").fill("0")
    page.get_by_test_id("policy-form").get_by_role("button", name="Save policy").click()
    expect(page.get_by_test_id("policy-form")).to_contain_text("A whole number, at least 1.")
    page.locator("#policy-min_new_annotations").fill("5")
    page.locator("#policy-generator_gate").select_option("critic_first")
    page.get_by_test_id("policy-form").get_by_role("button", name="Save policy").click()
    # Refused by the server: with people in the gate, the next round's videos need a campaign to be rated in.
    expect(page.get_by_test_id("policy-form")).to_contain_text("needs a next_round_campaign")
    page.locator("#policy-next_round_campaign").fill(str(campaign.pk))
    page.get_by_test_id("policy-form").get_by_role("button", name="Save policy").click()
    expect(page.get_by_test_id("policy-form")).not_to_contain_text("A whole number")
    from alignment.loop.policy import policy_get

    wait_for(lambda: policy_get().min_new_annotations == 5, timeout=20, what="the policy to be saved")
    assert (policy_get().generator_gate, policy_get().next_round_campaign_id) == ("critic_first", campaign.pk)

    page.goto(f"/console/campaigns/{campaign.pk}")
    preview = page.get_by_test_id("guidelines-preview")
    expect(preview.locator("strong")).to_have_text("each")
    expect(preview).to_contain_text("<script>alert(1)</script>")  # markup shown as text, never run
    expect(page.get_by_test_id("members")).to_contain_text("ana")
    expect(page.get_by_test_id("annotator-figures")).to_contain_text("ana")
    page.screenshot(path=str(ARTIFACTS / "console-campaign.png"), full_page=True)
    page.locator("#campaign-gold_rate").fill("1.5")
    page.get_by_test_id("campaign-save").click()
    expect(page.get_by_test_id("campaign-settings")).to_contain_text("A share from 0 up to (not including) 1")
    page.locator("#campaign-gold_rate").fill("0.1")
    page.locator("#campaign-task_order").select_option("uncertainty")
    page.get_by_test_id("campaign-save").click()
    expect(page.get_by_test_id("campaign-saved")).to_be_visible()
    campaign.refresh_from_db()
    assert (campaign.gold_rate, campaign.task_order) == (0.1, "uncertainty")
    assert page.dialogs == [] and page.console_errors == []


def test_admin_cancels_a_queued_job_and_retries_it_under_the_same_id(page, active_generator, world_prompts):
    from alignment.services.jobs import job_create

    UserFactory(username="boss", roles=["admin"])
    job, _ = job_create(kind="generate", dispatch=False, params={
        "generator_version": active_generator.pk, "prompt_ids": [world_prompts[0].pk], "seeds": [0]})
    sign_in(page, "boss", path="/console/jobs?status=queued")
    expect(page.get_by_test_id("job-row")).to_have_count(1)
    page.get_by_test_id("filter-kind").select_option("snapshot")
    expect(page.get_by_test_id("jobs-empty")).to_be_visible()
    page.get_by_test_id("filter-kind").select_option("generate")
    page.locator(f'[data-job-id="{job.pk}"] a').click()

    page.get_by_test_id("job-cancel").click()
    expect(page.get_by_test_id("job-detail")).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_test_id("job-error")).to_contain_text("Cancelled before it started.")
    page.get_by_test_id("job-retry").click()
    expect(page.get_by_test_id("job-detail")).to_have_attribute("data-status", "queued")
    expect(page.get_by_test_id("job-log")).to_contain_text("retried by request")
    job.refresh_from_db()
    assert (job.status, Job.objects.count()) == ("queued", 1)
    assert page.url.endswith(f"/console/jobs/{job.pk}")


def test_a_pairwise_campaign_shows_who_leans_to_the_left(page, transactional_db):
    """An annotator who picked the left video every time is flagged beside one who did not."""
    from annotation.models import CampaignItem
    from tests.factories import add_member
    from tests.pairs.util import annotate_pair, pair_campaign

    UserFactory(username="boss", roles=["admin"])
    campaign, items = pair_campaign(pairs=6, overlap=2)
    leaning, fair = (add_member(campaign, UserFactory(username=name, roles=["annotator"])) for name in ("lefty", "fair"))
    for index, item in enumerate(CampaignItem.objects.filter(pk__in=[i.pk for i in items]).order_by("pk")):
        # lefty always chose the left video: A when A was on the left (AB), B when B was (BA).
        order = "AB" if index % 2 else "BA"
        annotate_pair(item, leaning, {d: "A" if order == "AB" else "B" for d in ("semantic", "motion", "fidelity")},
                      shown_order=order)
        annotate_pair(item, fair, {d: "A" for d in ("semantic", "motion", "fidelity")}, shown_order=order)
    sign_in(page, "boss", path=f"/console/campaigns/{campaign.pk}")
    figures = page.get_by_test_id("annotator-figures")
    expect(figures.locator("tr", has_text="lefty").get_by_test_id("position-bias")).to_contain_text("100% left of 18")
    expect(figures.locator("tr", has_text="lefty").get_by_test_id("position-bias")).to_contain_text("flagged")
    expect(figures.locator("tr", has_text="fair").get_by_test_id("position-bias")).to_contain_text("50% left of 18")
    expect(figures.locator("tr", has_text="fair").get_by_test_id("position-bias")).not_to_contain_text("flagged")
