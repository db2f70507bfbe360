"""Prompt/answer formatting, tokenisation and label masking."""

import numpy as np
import pytest

from alignment.engine.critic.questions import (
    QUESTIONS, CriticDataError, answer_text, caption_of_question, dimension_of_question, parse_answer, prompt_text,
)
from alignment.engine.critic.spec import IGNORE_INDEX, Query, VisionGeometry, collate, load_tokenizer, rating_token_ids
from alignment.engine.critic.loss import answer_loss, answer_start, class_weights, lr_factor


def test_answer_text_with_and_without_reason():
    assert answer_text("Bad", "Heavy  noise.") == "Bad. Heavy noise."
    assert answer_text("Bad", "Heavy noise.", with_reason=False) == "Bad."
    assert answer_text("Good", "") == "Good."
    with pytest.raises(CriticDataError):
        answer_text("Great", "x")


def test_parse_answer_and_questions_roundtrip():
    assert parse_answer("Normal. The cat is grey.") == ("Normal", "The cat is grey.")
    with pytest.raises(CriticDataError):
        parse_answer("Fine, mostly.")
    for dim, question in QUESTIONS.items():
        human = f"<video>\n two red circles on grass. {question}"
        assert dimension_of_question(human) == dim
        assert caption_of_question(human, dim) == "two red circles on grass."


def test_prompt_has_one_pad_per_video_token():
    text = prompt_text("one red circle", "motion", 5)
    assert text.count("<|video_pad|>") == 5
    assert text.endswith("<|im_start|>assistant\n")
    assert QUESTIONS["motion"] in text


def test_rating_words_are_single_distinct_tokens(tiny_critic_dir):
    tokenizer = load_tokenizer(tiny_critic_dir)
    ids = rating_token_ids(tokenizer)
    assert len(set(ids)) == 3
    for word in ("Good", "Normal", "Bad"):
        assert len(tokenizer(word, add_special_tokens=False)["input_ids"]) == 1
    text = "Bad. The frames are badly blurred; the shapes' edges are lost."
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == text


def test_labels_mask_everything_but_the_answer(tiny_critic_dir):
    tokenizer = load_tokenizer(tiny_critic_dir)
    geometry = VisionGeometry(7, 2, 2)
    frames = np.zeros((8, 56, 56, 3), np.uint8)
    queries = [Query(frames, "two red circles moving left on grass", "fidelity", "Bad", "Light grain covers the frames."),
               Query(frames, "one blue square", "semantic", "Good", "")]
    batch = collate(tokenizer, queries, geometry, with_reason=True, with_answer=True)
    for row, expected in enumerate(["Bad. Light grain covers the frames.<|im_end|>", "Good.<|im_end|>"]):
        answer = batch["labels"][row][batch["labels"][row] != IGNORE_INDEX]
        assert tokenizer.decode(answer) == expected
    # answer_start points at the last prompt token, whose logits predict the rating word
    start = answer_start(batch["labels"])
    assert tokenizer.convert_ids_to_tokens(int(batch["input_ids"][0, start[0] + 1])) == "▁Bad"
    assert int((batch["input_ids"][0] == tokenizer.convert_tokens_to_ids("<|video_pad|>")).sum()) == 64
    assert batch["video_grid_thw"].tolist() == [[4, 8, 8]] * 2
    assert batch["pixel_values_videos"].shape == (2 * 256, 3 * 2 * 7 * 7)
    without = collate(tokenizer, queries[:1], geometry, with_reason=False, with_answer=True)
    assert tokenizer.decode(without["labels"][0][without["labels"][0] != IGNORE_INDEX]) == "Bad.<|im_end|>"


def test_answer_loss_ignores_prompt_and_weights_examples():
    import torch

    logits = torch.zeros(2, 4, 5)
    labels = torch.tensor([[IGNORE_INDEX, IGNORE_INDEX, 1, 2], [IGNORE_INDEX, 3, IGNORE_INDEX, IGNORE_INDEX]])
    uniform = answer_loss(logits, labels)
    assert uniform.item() == pytest.approx(np.log(5))
    logits[1, 0, 3] = 10.0  # row 1 predicts its one answer token perfectly
    weighted = answer_loss(logits, labels, torch.tensor([0.0, 1.0]))
    assert weighted.item() < 1e-3
    logits[0, 0] = 100.0  # prompt positions do not matter
    assert answer_loss(logits, labels, torch.tensor([1.0, 0.0])).item() == pytest.approx(np.log(5))


def test_rating_weight_counts_the_first_answer_token_as_that_many_tokens():
    import torch

    # One row, answer = rating token (label 1 at index 2) then two reason tokens.
    labels = torch.tensor([[IGNORE_INDEX, IGNORE_INDEX, 1, 2, 3]])
    logits = torch.zeros(1, 5, 5)
    logits[0, 2, 2] = logits[0, 3, 3] = 100.0  # the reason tokens are predicted perfectly, the rating is not
    rating_nll = np.log(5)
    assert answer_loss(logits, labels).item() == pytest.approx(rating_nll / 3)
    assert answer_loss(logits, labels, rating_weight=4.0).item() == pytest.approx(4 * rating_nll / 6)


def test_class_weights_and_schedule():
    weights = class_weights({"Good": 10, "Normal": 0, "Bad": 30}, ("Good", "Normal", "Bad"))
    assert weights["Normal"] == 0.0
    assert weights["Good"] == pytest.approx(3 * weights["Bad"])
    assert (weights["Good"] + weights["Bad"]) / 2 == pytest.approx(1.0)
    assert lr_factor(0, 100, 10) == pytest.approx(0.1)
    assert lr_factor(10, 100, 10) == pytest.approx(1.0)
    assert lr_factor(100, 100, 10) == pytest.approx(0.0)
