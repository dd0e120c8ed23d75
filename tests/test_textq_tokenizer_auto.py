"""data.tokenizer.vocab_size / min_frequency = auto: sized to the training split, logged."""

from __future__ import annotations

import json
import logging

import pytest
from helpers import make_text_frame

from lstmkit.data.text import TextDataModule
from lstmkit.data.tokenization import TokenizerConfig
from lstmkit.errors import ConfigError


def test_a_small_corpus_keeps_rare_words_and_a_large_one_drops_them():
    auto = TokenizerConfig()
    small, why = auto.sized(5_000)
    assert (small.vocab_size, small.min_frequency) == (2_000, 1)
    assert "min_frequency=auto -> 1" in why and "5000 training words" in why
    large, _ = auto.sized(600_000)
    assert (large.vocab_size, large.min_frequency) == (30_000, 2)
    huge, _ = auto.sized(40_000_000)
    assert huge.vocab_size == 50_000
    fixed, why = TokenizerConfig(vocab_size=100, min_frequency=3).sized(600_000)
    assert (fixed.vocab_size, fixed.min_frequency, why) == (100, 3, "")


@pytest.mark.parametrize("value", ["big", 0, 2.5])
def test_anything_but_a_whole_number_or_auto_is_refused(value):
    with pytest.raises(ConfigError, match="data.tokenizer.min_frequency must be >= 1.*or auto"):
        TokenizerConfig(min_frequency=value)


@pytest.mark.parametrize("model", ["word", "bpe"])
def test_a_tiny_csv_keeps_its_singletons_and_the_run_records_the_decision(tmp_path, caplog, model):
    csv = tmp_path / "tiny.csv"
    make_text_frame(n_per_class=20).to_csv(csv, index=False)  # each text ends in a unique id
    data = TextDataModule(str(csv), cache_dir=str(tmp_path / "cache"), tokenizer={"model": model})
    with caplog.at_level(logging.INFO, logger="lstmkit.data.tokenization"):
        data.setup("fit")
    assert "min_frequency=auto -> 1 (under 100000 training words)" in caplog.text
    data.save_preprocessor(tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "preprocessor.json").read_text())["tokenizer"]
    assert (saved["vocab_size"], saved["min_frequency"]) == (2_000, 1)  # decided, not "auto"
    vocabulary = data.encoder.vocabulary
    if model == "word":  # singletons kept: every training text's own id is in the vocabulary
        ids = [w for w in vocabulary if w.startswith("id")]
        assert len(ids) == data.meta["counts"]["train"]

    again = TextDataModule(str(csv), cache_dir=str(tmp_path / "cache"), tokenizer={"model": model})
    again.setup("fit")  # a cache hit reads the decided sizes back
    assert again.cache_hit and again.encoder.cfg.min_frequency == 1
