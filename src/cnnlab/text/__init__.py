"""Text for 1-D convolution: tokenisers (syllable, word, morpheme) and vocabularies saved as JSON."""
