"""Text for 1-D convolution: tokenisers (syllable, word, morpheme) and vocabularies saved as JSON.

>>> from cnnlab.text import get_tokenizer, Vocab
>>> tok = get_tokenizer("syllable")
>>> lists = tok.tokenize_many(["영화 정말 재밌다", "지루한 영화"])
>>> vocab = Vocab.build(lists, min_count=1)
>>> ids, truncated = vocab.encode_batch(lists, length=8)   # (2, 8) int64, share cut
"""

from cnnlab.text.encoding import TextEncoding
from cnnlab.text.tokenizers import (
    SPACE,
    TOKENIZERS,
    MorphemeTokenizer,
    SyllableTokenizer,
    Tokenizer,
    WordTokenizer,
    get_tokenizer,
    normalize,
)
from cnnlab.text.vocab import PAD, PAD_ID, UNK, UNK_ID, Vocab

__all__ = [
    "SPACE",
    "TOKENIZERS",
    "Tokenizer",
    "SyllableTokenizer",
    "WordTokenizer",
    "MorphemeTokenizer",
    "get_tokenizer",
    "normalize",
    "Vocab",
    "PAD",
    "UNK",
    "PAD_ID",
    "UNK_ID",
    "TextEncoding",
]
