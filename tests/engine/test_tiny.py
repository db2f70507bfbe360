import json


def test_tiny_cogvideox_is_saved_as_a_diffusers_pipeline(tiny_cogvideox_dir):
    index = json.loads((tiny_cogvideox_dir / "model_index.json").read_text())
    assert index["_class_name"] == "CogVideoXPipeline"
    assert index["scheduler"][1] == "CogVideoXDDIMScheduler"


def test_tiny_tokenizer_keeps_grammar_words_whole():
    from alignment.engine.tiny import build_t5_tokenizer

    tokenizer = build_t5_tokenizer()
    ids = tokenizer("three purple triangles spinning in a dark room").input_ids
    assert len(ids) == 8 + 1  # eight words and the end-of-sequence token
    assert tokenizer.unk_token_id not in ids


def test_engine_never_imports_django():
    import subprocess
    import sys

    code = (
        "import sys, alignment.engine.generation, alignment.engine.video_io, alignment.engine.expand, "
        "alignment.engine.tiny, alignment.engine.synthetic; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
