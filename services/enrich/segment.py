"""Chinese word segmentation shared by the enrichers (entities, keywords, topics).

The words are cut by jieba-rs (the ``rjieba`` package: jieba's algorithm, dictionary and HMM for
words the dictionary lacks, in Rust), about fifteen times faster than jieba's Python code with the same
words, except that it keeps hyphenated ASCII runs whole (``SK-II``, ``2022-02-13``). jieba itself
(Python) still gives its dictionary: the part of speech of each word and the IDF table of its keyword
extractor. Both load once per process.
"""

from __future__ import annotations

import logging
from functools import lru_cache


@lru_cache(maxsize=1)
def tokenizer():  # noqa: ANN201
    """jieba's default tokenizer (Python), its dictionary loaded once per process."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt


@lru_cache(maxsize=1)
def word_tags() -> dict[str, str]:
    """jieba's dictionary part of speech per word (nr person, ns place, nt organisation ...)."""
    import jieba.posseg

    tokenizer()
    return jieba.posseg.dt.word_tag_tab


def load() -> None:
    tokenizer()
    word_tags()
    cut("加载分词词典")  # jieba-rs loads its dictionary on first use


def cut(text: str) -> list[str]:
    """The words of ``text`` (HMM on for words the dictionary lacks); joined they give ``text`` back."""
    import rjieba

    return rjieba.cut(text, True)
