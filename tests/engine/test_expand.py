import pytest

from alignment.engine.expand import CausalLMExpander, TemplateExpander
from alignment.engine.synthetic import parse_prompt, sample_prompt


def test_template_expansion_is_deterministic_and_keeps_the_prompt():
    import numpy as np

    expander = TemplateExpander()
    rng = np.random.default_rng(0)
    for _ in range(50):
        text = sample_prompt(rng).to_text()
        caption = expander.expand(text)
        assert caption.startswith(text) and len(caption) > 2 * len(text)
        assert caption == expander.expand(text)
        assert parse_prompt(caption) == parse_prompt(text)  # the synthetic world still reads it


def test_template_expansion_of_free_text():
    caption = TemplateExpander().expand("  a cat playing piano ")
    assert caption.startswith("a cat playing piano.")
    with pytest.raises(ValueError):
        TemplateExpander().expand("   ")


def test_causal_lm_expander_runs_greedy_and_deterministic(tiny_causal_lm_dir):
    expander = CausalLMExpander(str(tiny_causal_lm_dir), max_new_tokens=12)
    first = expander.expand("two red circles moving left")
    second = CausalLMExpander(str(tiny_causal_lm_dir), max_new_tokens=12).expand("two red circles moving left")
    assert isinstance(first, str) and first
    assert first == second


def test_causal_lm_expander_validates():
    with pytest.raises(ValueError):
        CausalLMExpander("unused", max_new_tokens=0).validate()
