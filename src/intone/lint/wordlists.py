"""Word lists the voice rules share, in the words of `intone.lint.text` (no apostrophes)."""

from __future__ import annotations

# Openers/closers made only of these say nothing about a voice ("I ...", "... you.").
EDGE_STOPWORDS = frozenset(
    w.replace("'", "")  # words carry no apostrophes (intone.lint.text)
    for w in [
        "i",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "the",
        "a",
        "an",
        "it",
        "it's",
        "its",
        "that",
        "that's",
        "this",
        "there",
        "there's",
        "here",
        "you",
        "you're",
        "your",
        "we",
        "my",
        "me",
        "and",
        "but",
        "so",
        "or",
        "if",
        "in",
        "on",
        "at",
        "to",
        "of",
        "for",
        "with",
        "is",
        "was",
        "be",
        "not",
        "no",
        "yes",
        "what",
        "when",
        "how",
        "why",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "their",
        "our",
        "us",
        "too",
        "now",
        "then",
        "just",
        "all",
        "one",
    ]
)

# Catchphrase n-grams made only of these are ordinary grammar ("one of the", "i don't know").
NGRAM_STOPWORDS = EDGE_STOPWORDS | frozenset(
    w.replace("'", "")
    for w in [
        "do",
        "don't",
        "did",
        "didn't",
        "does",
        "doesn't",
        "can",
        "can't",
        "could",
        "would",
        "should",
        "will",
        "won't",
        "have",
        "has",
        "had",
        "been",
        "are",
        "were",
        "am",
        "as",
        "by",
        "from",
        "about",
        "up",
        "out",
        "into",
        "over",
        "than",
        "like",
        "very",
        "really",
        "much",
        "more",
        "some",
        "any",
        "know",
        "think",
        "want",
        "get",
        "got",
        "go",
        "going",
        "make",
        "made",
        "take",
        "say",
        "said",
        "see",
        "look",
        "well",
        "oh",
    ]
)

# A prompt frame made only of these is how questions are asked ("what is the", "how do i").
PROMPT_STOPWORDS = NGRAM_STOPWORDS | frozenset(
    w.replace("'", "")
    for w in ["what's", "how's", "where's", "who's", "why's", "which", "who", "where", "please", "i'm"]
)

# Contractions in the words of `intone.lint.text` (apostrophes dropped), spelled out, so that an
# answer opening "I am ..." is seen to mirror a prompt opening "I'm ...". Only forms that are
# not also ordinary words ("well", "were", "ill" and "its" are left alone).
CONTRACTIONS: dict[str, tuple[str, ...]] = {
    "im": ("i", "am"),
    "ive": ("i", "have"),
    "youre": ("you", "are"),
    "youve": ("you", "have"),
    "youll": ("you", "will"),
    "theyre": ("they", "are"),
    "theyve": ("they", "have"),
    "theyll": ("they", "will"),
    "hes": ("he", "is"),
    "shes": ("she", "is"),
    "itll": ("it", "will"),
    "thats": ("that", "is"),
    "theres": ("there", "is"),
    "whats": ("what", "is"),
    "lets": ("let", "us"),
    "dont": ("do", "not"),
    "doesnt": ("does", "not"),
    "didnt": ("did", "not"),
    "cant": ("can", "not"),
    "cannot": ("can", "not"),
    "wont": ("will", "not"),
    "isnt": ("is", "not"),
    "arent": ("are", "not"),
    "wasnt": ("was", "not"),
    "werent": ("were", "not"),
    "havent": ("have", "not"),
    "hasnt": ("has", "not"),
    "wouldnt": ("would", "not"),
    "couldnt": ("could", "not"),
    "shouldnt": ("should", "not"),
}


def expand_contractions(words: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """`words` with each contraction in CONTRACTIONS spelled out."""
    out: list[str] = []
    for w in words:
        out.extend(CONTRACTIONS.get(w, (w,)))
    return tuple(out)
