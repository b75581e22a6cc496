"""Byte-level BPE tokenizers trained locally on a few sentences, for the tiny test models (no hub files)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def train_byte_level_bpe(corpus: Sequence[str], vocab_size: int, special_tokens: Sequence[str]) -> Any:
    """A `tokenizers.Tokenizer` (GPT-2-style byte-level BPE) trained on `corpus`; any text still encodes."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    return tokenizer
