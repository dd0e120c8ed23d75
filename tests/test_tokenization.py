"""Tokenisers: fitted on train only; Arrow word path identical to the saved `tokenizers` file."""

import numpy as np
import pytest

from lstmkit.data.tokenization import PAD_ID, UNK_ID, TextEncoder, TokenizerConfig

TEXTS = [
    "Hello, World! Café prices rose 3.5% — don't panic.",
    "ÉCOLE  élève\tnaïve\u00a0coöperation… (x_y) ++ 42",
    "The market fell; the bank's shares fell too!!",
    "",
    "Ünïcödé\u2028line sep and\x1cfile sep",
]


def ids_of(ragged, i):
    return ragged[i].tolist()


@pytest.mark.parametrize("model", ["word", "bpe", "wordpiece", "char"])
def test_fitted_on_train_rows_only(model):
    texts = ["apple banana apple", "banana cherry", "zebra quagga"]
    cfg = TokenizerConfig(model=model, min_frequency=1, vocab_size=200)
    enc, encoded = TextEncoder.fit_encode(cfg, texts, np.array([0, 1]))
    vocab = enc.tokenizer.get_vocab()
    assert vocab["[PAD]"] == PAD_ID and vocab["[UNK]"] == UNK_ID
    if model == "word":
        assert "zebra" not in vocab and "apple" in vocab
        assert ids_of(encoded, 2) == [UNK_ID, UNK_ID]
    else:  # subword and character vocabularies never saw the test-only letters z, q
        assert "z" not in vocab and "q" not in vocab
    assert len(encoded) == 3 and encoded.lengths[0] > 0


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("strip_accents", [True, False])
@pytest.mark.parametrize("form", ["nfkc", "nfd", "none"])
def test_arrow_word_path_matches_saved_tokenizer(lowercase, strip_accents, form, tmp_path):
    cfg = TokenizerConfig(
        model="word",
        lowercase=lowercase,
        strip_accents=strip_accents,
        unicode_normalization=form,
        min_frequency=1,
        max_length=12,
    )
    enc, encoded = TextEncoder.fit_encode(cfg, TEXTS, np.arange(3))
    enc.save(tmp_path)
    reloaded = TextEncoder.load(cfg, tmp_path)
    for i, text in enumerate(TEXTS):
        hf = reloaded.tokenizer.encode(text, add_special_tokens=False).ids
        assert ids_of(encoded, i) == hf, text
    assert ids_of(reloaded.encode(TEXTS), 1) == ids_of(encoded, 1)


def test_normalisation_options():
    cfg = TokenizerConfig(model="word", lowercase=True, strip_accents=True, min_frequency=1)
    enc = TextEncoder.fit(cfg, ["Café ÉCOLE naïve"])
    assert enc.decode(enc.encode(["CAFE ecole naive"])[0]) == ["cafe", "ecole", "naive"]
    cased = TextEncoder.fit(
        TokenizerConfig(model="word", lowercase=False, min_frequency=1), ["Apple"]
    )
    assert cased.encode(["apple"])[0].tolist() == [UNK_ID]


@pytest.mark.parametrize("model", ["word", "bpe", "wordpiece", "char"])
def test_max_length_truncates_and_round_trip(model):
    text = "one two three four five six seven eight"
    enc = TextEncoder.fit(TokenizerConfig(model=model, max_length=5, min_frequency=1), [text])
    ids = enc.encode([text, "two one"])
    assert ids.lengths[0] == 5
    if model == "word":
        assert enc.decode(ids[0]) == ["one", "two", "three", "four", "five"]
        assert enc.decode(ids[1]) == ["two", "one"]


def test_vocab_cap_and_min_frequency_keep_the_most_frequent():
    texts = ["a a a a b b b c c d"]
    enc = TextEncoder.fit(TokenizerConfig(model="word", vocab_size=4, min_frequency=1), texts)
    assert enc.vocabulary == ["[PAD]", "[UNK]", "a", "b"]
    enc = TextEncoder.fit(TokenizerConfig(model="word", min_frequency=2), texts)
    assert enc.vocabulary == ["[PAD]", "[UNK]", "a", "b", "c"]


def test_ascii_fast_path_matches_saved_tokenizer(tmp_path):
    """ASCII-only input takes Arrow's ASCII splitter; separators \\x1c-\\x1f still split."""
    texts = ["a\x1cb c,d", "   ", "", "x\x1fy!!z", "plain words here"]
    cfg = TokenizerConfig(model="word", min_frequency=1)
    enc, encoded = TextEncoder.fit_encode(cfg, texts, np.arange(len(texts)))
    for i, text in enumerate(texts):
        assert ids_of(encoded, i) == enc.tokenizer.encode(text, add_special_tokens=False).ids
    assert encoded.lengths.tolist() == [5, 0, 0, 4, 3]
