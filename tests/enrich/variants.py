"""Reprint variants of an article, made the way outlets republish wire copy (for the tests)."""

from __future__ import annotations

import random
import textwrap

from services.enrich.dedupe.training import noise

BIO = (
    "I am an experienced writer, analyst and author. My exposure in English journalism spans more than "
    "twenty years. In the past I have worked with several dailies and bureaus in the region, and I have "
    "served as resident editor for a national newspaper. Since 2009 I have been working as a freelance "
    "writer and editor for international organisations, covering politics, business, sport and "
    "technology. My work has appeared in print and online publications across Asia, Europe and North "
    "America. Readers can reach me through the contact page of this website for comments and corrections."
)


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]


def with_header_footer(body: str) -> str:
    return (
        "By Staff Reporter\n\nISLAMABAD (Newswire) - "
        + body.strip()
        + "\n\nFollow us on Twitter and Facebook for the latest news. Subscribe to our newsletter "
        "to get the day's top stories in your inbox every morning."
    )


def curly_quotes(body: str) -> str:
    out, opening = [], True
    for ch in body:
        if ch == '"':
            out.append("\u201c" if opening else "\u201d")
            opening = not opening
        elif ch == "'":
            out.append("\u2019")
        elif ch == "-":
            out.append("\u2014")
        else:
            out.append(ch)
    return "".join(out).replace(" ", "\u00a0", 3)


def hard_wrapped_crlf(body: str) -> str:
    return "\r\n\r\n".join("\r\n".join(textwrap.wrap(p, 72)) for p in paragraphs(body)) + "\r\n"


def truncated(body: str, fraction: float = 0.7) -> str:
    words = body.split(" ")
    return " ".join(words[: int(len(words) * fraction)])


def edited(body: str, every: int = 90) -> str:
    """Replace one word in every ``every`` (a few edited words)."""
    words = body.split(" ")
    for i in range(every // 2, len(words), every):
        words[i] = "reportedly"
    return " ".join(words)


def excerpt(body: str, fraction: float = 0.45) -> str:
    """The wire story cut to its first ``fraction`` of paragraphs (of words, for a one-paragraph story)."""
    kept = paragraphs(body)
    if len(kept) < 3:
        return truncated(body, fraction)
    return "\n\n".join(kept[: max(1, round(len(kept) * fraction))])


def with_local_lede(body: str) -> str:
    """A local opening paragraph and closing line around the wire text."""
    return (
        "Local officials said they were studying the details, which came as a surprise to many.\n\n"
        + body.strip()
        + "\n\nCheck back for updates on this developing story."
    )


def scanned_copy(body: str, seed: int = 1, misread: float = 0.03) -> str:
    """A print copy read back by OCR (see ``dedupe.training.noise.scanned``)."""
    return noise.scanned(body, random.Random(seed), misread=misread)


def rewritten_copy(body: str, seed: int = 1, changed: float = 0.12) -> str:
    """A local rewrite: words dropped or swapped, sentences reordered (``dedupe.training.noise.rewritten``)."""
    return noise.rewritten(body, random.Random(seed), changed=changed)


def another_version(body: str, other: str, seed: int = 1) -> str:
    """Another outlet's version: 50 words of another article in the middle (a different article)."""
    return noise.another_version(body, other, random.Random(seed), inserted_words=50, replace=True)
