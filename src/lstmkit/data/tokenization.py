"""Text -> token ids with HuggingFace `tokenizers`, fitted on the training split only."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from lstmkit.data import arrow_words
from lstmkit.data.ragged import Ragged
from lstmkit.errors import ConfigError
from lstmkit.runtime import available_cpus

log = logging.getLogger(__name__)

Texts: TypeAlias = Sequence[str] | pd.Series | pa.Array | pa.ChunkedArray

PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1
MODELS = ("word", "bpe", "wordpiece", "char")
AUTO = "auto"
# vocab_size=auto: one embedding row per WORDS_PER_ROW training words, within these bounds
WORDS_PER_ROW, VOCAB_BOUNDS = 20, (2_000, 50_000)
# min_frequency=auto: singletons are kept below this many training words (a small corpus)
SMALL_CORPUS_WORDS = 100_000
UNICODE_FORMS = ("none", "nfc", "nfd", "nfkc", "nfkd")


@dataclass
class TokenizerConfig:
    """What `conf/data/*.yaml` says under `tokenizer:`."""

    model: str = "word"
    lowercase: bool = True
    unicode_normalization: str = "nfkc"
    strip_accents: bool = False
    vocab_size: int | str = AUTO
    min_frequency: int | str = AUTO
    max_length: int = 400

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"data.tokenizer.model={self.model!r}; choose one of {MODELS}.")
        if self.unicode_normalization not in UNICODE_FORMS:
            raise ConfigError(
                f"data.tokenizer.unicode_normalization={self.unicode_normalization!r}; "
                f"choose one of {UNICODE_FORMS}."
            )
        for key in ("vocab_size", "max_length", "min_frequency"):
            value = getattr(self, key)
            if key != "max_length" and value == AUTO:
                continue
            if type(value) is not int or value < 1:
                also = " (a whole number, or auto: sized to the training split)"
                raise ConfigError(
                    f"data.tokenizer.{key} must be >= 1, got {value!r}"
                    f"{also if key != 'max_length' else ''}."
                )

    def to_dict(self) -> dict:
        return asdict(self)

    def sized(self, train_words: int) -> tuple[TokenizerConfig, str]:
        """`auto` vocabulary cap and minimum frequency for a training split of `train_words`
        words, and why. A small corpus keeps its singletons (dropping them would leave few
        words to learn from); a larger one drops them (an embedding seen once is noise). The
        cap grows with the corpus, one row per 20 training words, so the embedding table
        does not outgrow what the data can train."""
        why = []
        vocab, min_freq = self.vocab_size, self.min_frequency
        if vocab == AUTO:
            low, high = VOCAB_BOUNDS
            vocab = min(high, max(low, train_words // WORDS_PER_ROW))
            why.append(
                f"vocab_size=auto -> {vocab} (1 per {WORDS_PER_ROW} of {train_words} training "
                f"words, within [{low}, {high}])"
            )
        if min_freq == AUTO:
            min_freq = 1 if train_words < SMALL_CORPUS_WORDS else 2
            size = "under" if min_freq == 1 else "at least"
            why.append(
                f"min_frequency=auto -> {min_freq} ({size} {SMALL_CORPUS_WORDS} training words)"
            )
        return replace(self, vocab_size=vocab, min_frequency=min_freq), "; ".join(why)


def sized(cfg: TokenizerConfig, train_words: int) -> TokenizerConfig:
    """`cfg` with its `auto` sizes decided (and logged with the reason)."""
    cfg, why = cfg.sized(train_words)
    if why:
        log.info("data.tokenizer: %s", why)
    return cfg


def whitespace_words(texts: pa.Array) -> int:
    """Words separated by whitespace: the corpus size a subword or character model sees."""
    return int(pc.sum(pc.list_value_length(pc.utf8_split_whitespace(texts))).as_py() or 0)


def _normalizer(cfg: TokenizerConfig) -> normalizers.Normalizer | None:
    steps: list[normalizers.Normalizer] = []
    if cfg.strip_accents:  # accents are stripped from the decomposed form
        steps += [normalizers.NFD(), normalizers.StripAccents()]
    if cfg.unicode_normalization != "none":
        steps.append(getattr(normalizers, cfg.unicode_normalization.upper())())
    if cfg.lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps) if steps else None


def build_tokenizer(cfg: TokenizerConfig) -> tuple[Tokenizer, trainers.Trainer]:
    """An untrained tokenizer and its trainer for the configured model."""
    special = [PAD, UNK]
    size, min_freq = cfg.vocab_size, cfg.min_frequency
    if isinstance(size, str) or isinstance(min_freq, str):
        raise ValueError("tokenizer vocab_size / min_frequency 'auto' must be decided first")
    trainer: trainers.Trainer
    if cfg.model in ("word", "char"):  # char: a word-level vocabulary over single characters
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        trainer = trainers.WordLevelTrainer(
            vocab_size=size, min_frequency=min_freq, special_tokens=special
        )
    elif cfg.model == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(
            vocab_size=size, min_frequency=min_freq, special_tokens=special
        )
        tok.decoder = decoders.BPEDecoder()
    else:
        tok = Tokenizer(models.WordPiece(unk_token=UNK))
        trainer = trainers.WordPieceTrainer(
            vocab_size=size, min_frequency=min_freq, special_tokens=special
        )
        tok.decoder = decoders.WordPiece()
    if cfg.model == "char":
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(r".|\n"), behavior="isolated")
    else:  # the rule the Arrow word path implements, so both encode identically
        tok.pre_tokenizer = arrow_words.hf_pre_tokenizer()
    norm = _normalizer(cfg)
    if norm is not None:
        tok.normalizer = norm
    tok.enable_truncation(cfg.max_length)
    return tok, trainer


def _as_arrow(texts: Texts) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        return texts.combine_chunks()
    return texts if isinstance(texts, pa.Array) else pa.array(texts, type=pa.string())


def _as_list(texts: Texts) -> list[str]:
    return texts.to_pylist() if isinstance(texts, (pa.Array, pa.ChunkedArray)) else list(texts)


class TextEncoder:
    """A fitted tokenizer plus the config it came from; saved with the run for predict.

    The word-level model (the default) fits and encodes with Arrow kernels
    (`arrow_words`); BPE, WordPiece and character models use `tokenizers` directly. Either
    way `tokenizer.json` is a complete `tokenizers` file that encodes the same ids.
    """

    def __init__(self, cfg: TokenizerConfig, tokenizer: Tokenizer) -> None:
        self.cfg = cfg
        self.tokenizer = tokenizer
        if tokenizer.token_to_id(PAD) != PAD_ID or tokenizer.token_to_id(UNK) != UNK_ID:
            raise ValueError("tokenizer must map [PAD]->0 and [UNK]->1")
        self._vocabulary: list[str] | None = None

    @classmethod
    def fit(cls, cfg: TokenizerConfig, texts: Texts) -> TextEncoder:
        """Learn the vocabulary from `texts` (the training split only, to avoid leakage)."""
        return cls.fit_encode(cfg, texts, np.arange(len(texts)))[0]

    @classmethod
    def fit_encode(
        cls, cfg: TokenizerConfig, texts: Texts, train_rows: np.ndarray
    ) -> tuple[TextEncoder, Ragged]:
        """Fit on the texts at `train_rows` only, then encode every text; tokenises once."""
        if cfg.model == "word":
            tokens = cls._arrow_tokens(cfg, _as_arrow(texts))
            cfg = sized(cfg, int(tokens.counts[train_rows].sum()))
            vocab = arrow_words.fit_vocabulary(
                tokens, train_rows, int(cfg.vocab_size), int(cfg.min_frequency), [PAD, UNK]
            )
            encoder = cls.from_vocabulary(cfg, vocab)
            return encoder, encoder._lookup(tokens, vocab)
        cfg = sized(cfg, whitespace_words(_as_arrow(texts).take(pa.array(train_rows))))
        tok, trainer = build_tokenizer(cfg)
        texts = _as_list(texts)
        tok.train_from_iterator([texts[i] for i in train_rows], trainer, length=len(train_rows))
        encoder = cls(cfg, tok)
        return encoder, encoder.encode(texts)

    @classmethod
    def from_vocabulary(cls, cfg: TokenizerConfig, vocab: list[str]) -> TextEncoder:
        """A word-level encoder for a vocabulary counted elsewhere (chunk by chunk)."""
        return cls(cfg, _word_tokenizer(cfg, vocab))

    @staticmethod
    def _arrow_tokens(cfg: TokenizerConfig, texts: pa.Array) -> arrow_words.Tokens:
        return arrow_words.tokenize(
            texts,
            cfg.lowercase,
            cfg.unicode_normalization,
            cfg.strip_accents,
            threads=available_cpus(),
        )

    def _lookup(self, tokens: arrow_words.Tokens, vocab: list[str]) -> Ragged:
        ids = arrow_words.lookup(tokens, vocab, UNK_ID)
        ids, counts = arrow_words.truncate(ids, tokens.counts, self.cfg.max_length)
        return Ragged.from_lengths(ids, counts)

    @property
    def vocabulary(self) -> list[str]:
        """Tokens by id."""
        if self._vocabulary is None:
            vocab = self.tokenizer.get_vocab()
            self._vocabulary = sorted(vocab, key=vocab.__getitem__)
        return self._vocabulary

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, texts: Texts, chunk_size: int = 8192) -> Ragged:
        """Encode into one flat int32 array plus offsets (no per-example tensors)."""
        if self.cfg.model == "word":
            return self._lookup(self._arrow_tokens(self.cfg, _as_arrow(texts)), self.vocabulary)
        texts = _as_list(texts)
        values: list[np.ndarray] = []
        lengths = np.empty(len(texts), dtype=np.int64)
        for start in range(0, len(texts), chunk_size):
            encodings = self.tokenizer.encode_batch_fast(
                texts[start : start + chunk_size], add_special_tokens=False
            )
            for j, enc in enumerate(encodings):
                ids = np.asarray(enc.ids, dtype=np.int32)
                lengths[start + j] = len(ids)
                values.append(ids)
        flat = np.concatenate(values) if values else np.zeros(0, dtype=np.int32)
        return Ragged.from_lengths(flat, lengths)

    def decode(self, ids: np.ndarray) -> list[str]:
        return [self.tokenizer.id_to_token(int(i)) or UNK for i in ids]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(folder / "tokenizer.json"))

    @classmethod
    def load(cls, cfg: TokenizerConfig, folder: Path) -> TextEncoder:
        return cls(cfg, Tokenizer.from_file(str(folder / "tokenizer.json")))


def _word_tokenizer(cfg: TokenizerConfig, vocab: list[str]) -> Tokenizer:
    """A `tokenizers` WordLevel tokenizer with the given vocabulary and our normaliser/splitter."""
    tok, _ = build_tokenizer(cfg)
    fitted = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token=UNK))
    fitted.normalizer, fitted.pre_tokenizer = tok.normalizer, tok.pre_tokenizer
    fitted.enable_truncation(cfg.max_length)
    return fitted
