"""Critic export: merged transformers and peft adapter directories with a model card, loaded with
from_pretrained in a plain Python process that knows nothing of the platform; the admin download."""
import io
import json
import subprocess
import sys
import zipfile

import pytest
from django.core.management import CommandError, call_command

from alignment.services.registry import version_register
from tests.conftest import token_client
from tests.factories import UserFactory

OUTSIDE = r"""
import json, sys
import torch
from transformers import AutoModelForImageTextToText, AutoTokenizer
merged_dir, adapter_dir, base_dir = sys.argv[1:4]
merged = AutoModelForImageTextToText.from_pretrained(merged_dir)
from peft import PeftModel
adapted = PeftModel.from_pretrained(AutoModelForImageTextToText.from_pretrained(base_dir), adapter_dir).merge_and_unload()
tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
ids = torch.tensor([tokenizer("Good. The motion is smooth.")["input_ids"]])
with torch.no_grad():
    a, b = merged(input_ids=ids).logits, adapted(input_ids=ids).logits
print(json.dumps({"same": bool(torch.allclose(a, b, atol=1e-5)), "shape": list(a.shape),
                  "platform": [m for m in sys.modules if m.split(".")[0] in ("django", "alignment", "annotation", "lift")]}))
"""


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory, tiny_critic_dir):
    """Two LoRA steps of the engine on synthetic examples: weights to export, not a good critic."""
    from alignment.engine.critic.synthetic_data import annotated_examples, synthetic_videos
    from alignment.engine.critic.train import CriticTrainConfig, train_critic

    examples = annotated_examples(synthetic_videos(4, seed=1))
    out = tmp_path_factory.mktemp("export-train")
    config = CriticTrainConfig(base=str(tiny_critic_dir), max_steps=2, batch_size=4, eval_every=0, lora_rank=4,
                               learning_rate=1e-2)
    return train_critic(config, examples, examples[:6], out).critic_dir


def test_exported_critic_loads_outside_the_platform_and_downloads_with_its_card(db, trained_dir, tiny_critic_dir,
                                                                               tmp_path, settings):
    settings.LIFT = {**settings.LIFT, "MODELS_DIR": tmp_path / "models"}
    version = version_register(
        kind="critic", name="exported", base=str(tiny_critic_dir), config={"critic_dir": str(trained_dir)},
        lineage={"backbone": str(tiny_critic_dir)},
        metrics={"mean_accuracy": 0.61, "test_split": {"number": 3, "sha256": "c" * 64},
                 "dimensions": {"motion": {"accuracy": 0.61, "majority_accuracy": 0.5, "macro_f1": 0.4, "ece": 0.1,
                                           "agreement": {"model_vs_annotator": 0.6, "annotator_vs_annotator": 0.7}}}})
    merged, adapter = tmp_path / "merged", tmp_path / "adapter"
    call_command("export_critic", str(version.pk), "--out", str(merged))
    call_command("export_critic", str(version.pk), "--out", str(adapter), "--layout", "adapter")
    assert (merged / "config.json").exists() and (adapter / "adapter_config.json").exists()
    card = (merged / "README.md").read_text()
    assert "Intended use" in card and "| motion | 0.610 | 0.500 |" in card and "Mean accuracy: 0.61" in card

    outside = subprocess.run([sys.executable, "-c", OUTSIDE, str(merged), str(adapter), str(tiny_critic_dir)],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert outside.returncode == 0, outside.stderr[-2000:]
    loaded = json.loads(outside.stdout.strip().splitlines()[-1])
    assert loaded["same"] and loaded["platform"] == [] and loaded["shape"][0] == 1

    admin = token_client(UserFactory(roles=["admin"]))
    response = admin.get(f"/api/models/{version.pk}/export/?layout=adapter")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert {"README.md", "adapter_config.json", "lift_critic.json"} <= set(names)
    assert admin.get(f"/api/models/{version.pk}/export/?layout=onnx").status_code == 400


def test_a_critic_not_trained_here_is_not_exported(db, tiny_critic_dir, tmp_path):
    version = version_register(kind="critic", name="hub critic", base=str(tiny_critic_dir))
    response = token_client(UserFactory(roles=["admin"])).get(f"/api/models/{version.pk}/export/")
    assert response.status_code == 409 and "only trained critics" in response.json()["detail"]
    with pytest.raises(CommandError, match="only trained critics"):
        call_command("export_critic", str(version.pk), "--out", str(tmp_path / "x"))
