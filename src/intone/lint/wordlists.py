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


# ---------------------------------------------------------------------------- voice features
# The lists `intone.lint.style` measures an answer's voice with. These words keep their
# apostrophes, as `intone.lint.text.letter_words` splits them (a contraction is a feature).

# Function words carry grammar rather than content; their mix is a classic authorship signal
# (Burrows' delta). Pronouns are left out: pronoun person is its own feature family.
_FUNCTION_TEXT = (
    "the a an and but or so of to in on at for with as by from about into over after before than "
    "is are was were be been being am have has had do does did will would can could should may "
    "might must it its this that these those there here not no very just really quite which who "
    "what when where why how if then because while all some any each every more most such only "
    "also too up out off now well still even"
)
FUNCTION_WORDS: tuple[str, ...] = tuple(_FUNCTION_TEXT.split())
FUNCTION_INDEX = {w: i for i, w in enumerate(FUNCTION_WORDS)}
FUNCTION_TOP = 40
"""Burrows' delta is taken over the dataset's most frequent function words, at most this many..."""
FUNCTION_MIN_RATE = 0.003
"""...each used at least this often (3 in 1,000 words): rarer ones are noise in a short answer."""
FUNCTION_Z_CAP = 4.0

FIRST_PERSON = frozenset(
    [
        "i",
        "me",
        "my",
        "mine",
        "myself",
        "we",
        "us",
        "our",
        "ours",
        "ourselves",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "we're",
        "we've",
        "we'd",
        "we'll",
    ]
)
SECOND_PERSON = frozenset(
    ["you", "your", "yours", "yourself", "yourselves", "you're", "you've", "you'd", "you'll", "y'all", "ya"]
)
THIRD_PERSON = frozenset(
    [
        "he",
        "him",
        "his",
        "himself",
        "she",
        "her",
        "hers",
        "herself",
        "they",
        "them",
        "their",
        "theirs",
        "themselves",
        "he's",
        "she's",
        "they're",
        "they've",
        "they'd",
        "they'll",
        "he'd",
        "she'd",
        "he'll",
        "she'll",
    ]
)
CONTRACTION_SUFFIXES = ("n't", "'re", "'ve", "'ll", "'d", "'m")
# "'s" is a contraction only after these ("it's"); after a noun it is usually a possessive.
S_CONTRACTIONS = frozenset(
    [
        "it",
        "that",
        "what",
        "there",
        "here",
        "he",
        "she",
        "who",
        "let",
        "where",
        "how",
        "everything",
        "nothing",
        "something",
        "someone",
        "everyone",
        "one",
    ]
)

# Generic-assistant tells: a persona that starts saying these has lost its voice.
STOCK_PHRASES = (
    "certainly",
    "as an ai",
    "i hope this helps",
    "great question",
    "i'd be happy to",
    "i would be happy to",
    "feel free to",
    "it's important to note",
    "it is important to note",
    "in conclusion",
    "delve",
    "here are some",
    "here's a breakdown",
    "let me know if",
    "additionally",
    "furthermore",
    "overall,",
    # Corporate register: a persona that talks like a service desk has lost its voice too.
    "in order to",
    "please note",
    "please be assured",
    "rest assured",
    "do not hesitate",
    "don't hesitate",
    "should you require",
    "we recommend",
    "it is recommended",
    "it is advisable",
    "it is essential",
    "we understand that",
    "we are pleased",
    "would be pleased to",
    "at your earliest convenience",
    "for further information",
    "for more information",
)
