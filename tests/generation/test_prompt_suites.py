"""Prompt suites in (VBench's plain lists and its JSON, fixtures/README.md): a list becomes a category, the
JSON's dimension lists become categories, prompts already in the bank gain them, and LiFT's categories
stay the bank's default for combinations."""
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Prompt, PromptCategory
from annotation.services.prompts import (
    LIFT_CATEGORIES, prompt_create, prompt_categories_list, prompts_combine, prompts_filter, prompts_import_suite,
)
from lift.api_errors import ApplicationError

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.django_db


def _texts(queryset):
    return sorted(queryset.values_list("text", flat=True))


def test_a_plain_list_becomes_a_category_named_after_its_file(tmp_path):
    call_command("import_prompts", str(FIXTURES / "vbench_color.txt"))
    assert _texts(prompts_filter(category="vbench_color")) == ["a blue teapot", "a green umbrella", "a red bicycle"]
    assert Prompt.objects.count() == 3 and set(Prompt.objects.values_list("source", flat=True)) == {"import"}
    # Another list over some of the same prompts: they gain the second category, the new one is added.
    other = tmp_path / "object_class.txt"
    other.write_text("a red bicycle\na wooden chair\n")
    call_command("import_prompts", str(other))
    assert _texts(prompts_filter(category="object_class")) == ["a red bicycle", "a wooden chair"]
    assert Prompt.objects.get(text="a red bicycle").categories == {"suite": ["vbench_color", "object_class"]}
    assert prompts_import_suite(content=other.read_text(), fmt="txt", category="object_class") == \
        {"added": 0, "tagged": 0, "unchanged": 2}


def test_vbenchs_json_imports_each_dimension_list_as_categories():
    content = (FIXTURES / "vbench_full_info_layout.json").read_text()
    assert prompts_import_suite(content=content, fmt="vbench") == {"added": 6, "tagged": 0, "unchanged": 0}
    fox = Prompt.objects.get(text="a fox running through a snowy field")
    assert fox.categories == {"suite": ["subject_consistency", "dynamic_degree", "motion_smoothness"]}
    assert fox.source == "vbench"
    assert _texts(prompts_filter(category="motion_smoothness")) == ["a fox running through a snowy field",
                                                                    "a tram turning a corner"]
    assert _texts(prompts_filter(category="color")) == ["a yellow umbrella"]
    for entry in json.loads(content):
        assert Prompt.objects.get(text=entry["prompt_en"]).categories["suite"] == entry["dimension"]


def test_lifts_categories_stay_the_default_bank():
    prompt_create(text="a yellow umbrella", categories={"subject": ["other animal"]})
    prompts_import_suite(content=(FIXTURES / "vbench_full_info_layout.json").read_text(), fmt="vbench")
    assert {c.name for c in prompt_categories_list()} == {name for name, _ in LIFT_CATEGORIES}
    assert PromptCategory.objects.count() == len(LIFT_CATEGORIES)
    drawn = prompts_combine(count=3, seed=1)
    assert all(set(p.categories) == {"subject", "action", "place"} for p in drawn)
    # A prompt the bank had keeps its own categories beside the suite's.
    assert Prompt.objects.get(text="a yellow umbrella").categories == {"subject": ["other animal"], "suite": ["color"]}


def test_bad_suites_are_refused_whole_with_every_entry_named(tmp_path):
    rows = json.loads((FIXTURES / "vbench_full_info_layout.json").read_text())
    rows[1]["dimension"] = []
    rows[4].pop("prompt_en")
    with pytest.raises(ApplicationError) as err:
        prompts_import_suite(content=json.dumps(rows), fmt="vbench")
    assert err.value.fields["errors"] == ["entry 1: dimension must be a non-empty list of names",
                                          "entry 4: no prompt_en text"]
    with pytest.raises(ApplicationError, match="category name"):
        prompts_import_suite(content="a cat\n", fmt="txt", category="  ")
    (tmp_path / "long.txt").write_text("a fine prompt\n" + "x" * 1200 + "\n")
    with pytest.raises(CommandError, match="line 2: longer than 1000"):
        call_command("import_prompts", str(tmp_path / "long.txt"), "--category", "long")
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_prompts", str(tmp_path / "broken.json"))
    assert not Prompt.objects.exists()
