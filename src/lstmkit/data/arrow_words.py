"""Word-level tokenisation in Arrow compute kernels: vectorised C++, no Python per token.

`tokenizers`' `encode_batch` builds a Python object per text and was measured slower and
larger than plain Python on a million short texts. For the word-level model the same rules
(normalise, split into word runs and punctuation runs, look up, truncate) run here as a few
whole-array Arrow kernels on a thread pool. `hf_pre_tokenizer()` states the identical rule for
`tokenizers`, so the saved `tokenizer.json` encodes exactly like this path (tested).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tokenizers import Regex, pre_tokenizers

# Unicode word characters and whitespace, spelled the same for RE2 (Arrow) and Oniguruma
# (tokenizers), since each engine's own \w and \s differ. SPACE is exactly the set that
# Arrow's utf8_split_whitespace (and Python's str.isspace) splits on.
WORD = r"\p{L}\p{M}\p{N}\p{Pc}"
SPACE = r"\t\n\x{0B}\f\r\x{1C}-\x{1F} \x{85}\p{Z}"
PUNCT_RUN = f"([^{WORD}{SPACE}]+)"


def hf_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """The same split for `tokenizers`: word runs and punctuation runs, whitespace dropped."""
    return pre_tokenizers.Split(
        Regex(f"[{WORD}]+|[^{WORD}{SPACE}]+"), behavior="removed", invert=True
    )


def normalise(texts: pa.Array, lowercase: bool, form: str, strip_accents: bool) -> pa.Array:
    """Mirror of the `tokenizers` normaliser sequence built in `tokenization._normalizer`."""
    if strip_accents:
        texts = pc.replace_substring_regex(pc.utf8_normalize(texts, "NFD"), r"\p{Mn}+", "")
    if form != "none":
        texts = pc.utf8_normalize(texts, form.upper())
    if lowercase:
        texts = pc.utf8_lower(texts)
    return texts


def split_words(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Word runs and punctuation runs: pad punctuation runs with spaces, split on whitespace.

    Returns the flat tokens and each text's token count. ASCII-only chunks (most English
    text) take Arrow's faster ASCII splitter, after mapping the four ASCII separator controls
    it ignores (which the Unicode rule counts as whitespace) to spaces.
    """
    spaced = pc.utf8_trim_whitespace(pc.replace_substring_regex(texts, PUNCT_RUN, r" \1 "))
    if pc.all(pc.string_is_ascii(spaced)).as_py() is not False:
        spaced = pc.replace_substring_regex(spaced, "[\x1c-\x1f]", " ")
        pieces = pc.ascii_split_whitespace(spaced)
    else:
        pieces = pc.utf8_split_whitespace(spaced)
    flat = pc.list_flatten(pieces)
    counts = pc.list_value_length(pieces).to_numpy(zero_copy_only=False).astype(np.int64)
    empty = counts == 1
    empty[empty] = pc.equal(spaced.filter(pa.array(empty)), "").to_numpy(zero_copy_only=False)
    if empty.any():  # an empty (or all-space) text splits into one empty piece: drop it
        keep = pc.not_equal(flat, "")
        flat, counts = flat.filter(keep), np.where(empty, 0, counts)
    return flat, counts


@dataclass
class Tokens:
    """Every text's tokens, dictionary-encoded: token j of the corpus is `words[codes[j]]`."""

    codes: np.ndarray  # int32, one per token, all texts concatenated
    words: pa.Array  # the distinct tokens
    counts: np.ndarray  # tokens per text


def tokenize(
    texts: pa.Array | pa.ChunkedArray,
    lowercase: bool = True,
    form: str = "nfkc",
    strip_accents: bool = False,
    chunk_rows: int = 32768,
    threads: int = 2,
) -> Tokens:
    """Normalise, split and dictionary-encode in row chunks on a thread pool.

    Arrow kernels release the GIL, so chunks run in parallel; one hash pass (dictionary
    encoding) serves both vocabulary counting and id lookup.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts.cast(pa.large_string()), "")  # 64-bit offsets: no 2 GB limit

    def work(start: int) -> tuple[pa.Array, np.ndarray]:
        part = normalise(texts.slice(start, chunk_rows), lowercase, form, strip_accents)
        flat, counts = split_words(part)
        return pc.dictionary_encode(flat), counts

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        parts = list(pool.map(work, range(0, len(texts), chunk_rows)))
    if not parts or sum(len(t) for t, _ in parts) == 0:
        empty = pa.array([], pa.large_string())
        return Tokens(np.zeros(0, np.int32), empty, np.zeros(len(texts), np.int64))
    # per-chunk dictionaries -> one shared dictionary, indices remapped
    encoded = pa.chunked_array([t for t, _ in parts]).unify_dictionaries()
    words = encoded.chunk(0).dictionary
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in encoded.chunks])
    return Tokens(codes.astype(np.int32, copy=False), words, np.concatenate([c for _, c in parts]))


def train_counts(tokens: Tokens, rows: np.ndarray) -> pa.Table:
    """How often each token occurs in the texts at `rows`: a (token, count) table."""
    in_rows = np.zeros(len(tokens.counts), dtype=bool)
    in_rows[rows] = True
    freq = np.bincount(tokens.codes[np.repeat(in_rows, tokens.counts)], minlength=len(tokens.words))
    seen = np.flatnonzero(freq)
    return pa.table({"token": tokens.words.take(pa.array(seen)), "count": freq[seen]})


def add_counts(total: pa.Table | None, more: pa.Table) -> pa.Table:
    """Token counts of two chunks summed: the vocabulary of a file read chunk by chunk."""
    if total is None:
        return more
    summed = pa.concat_tables([total, more]).group_by("token").aggregate([("count", "sum")])
    return summed.rename_columns({"count_sum": "count"}).select(["token", "count"])


def choose_vocabulary(
    counts: pa.Table, vocab_size: int, min_frequency: int, specials: list[str]
) -> list[str]:
    """Tokens counted at least `min_frequency` times; most frequent first, ties alphabetical."""
    table = counts.filter(pc.greater_equal(counts.column("count"), min_frequency))
    table = table.sort_by([("count", "descending"), ("token", "ascending")])
    chosen = [w for w in table.column("token").to_pylist() if w not in specials]
    return specials + chosen[: max(0, vocab_size - len(specials))]


def fit_vocabulary(
    tokens: Tokens, rows: np.ndarray, vocab_size: int, min_frequency: int, specials: list[str]
) -> list[str]:
    """Count tokens of the texts in `rows` only; most frequent first, ties alphabetical."""
    return choose_vocabulary(train_counts(tokens, rows), vocab_size, min_frequency, specials)


def lookup(tokens: Tokens, vocabulary: list[str], unk_id: int) -> np.ndarray:
    """Token ids via the (small) distinct-token table; unknown tokens map to `unk_id`."""
    value_set = pa.array(vocabulary, type=tokens.words.type)
    table = pc.fill_null(pc.index_in(tokens.words, value_set=value_set), unk_id)
    return table.to_numpy(zero_copy_only=False).astype(np.int32)[tokens.codes]


def truncate(ids: np.ndarray, counts: np.ndarray, max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each text's first `max_length` ids, vectorised over the flat array."""
    if counts.size == 0 or counts.max() <= max_length:
        return ids, counts
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    keep = (np.arange(len(ids)) - starts) < max_length
    return ids[keep], np.minimum(counts, max_length)
