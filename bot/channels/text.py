"""Shared by channels: splitting long texts under a platform's limit at natural boundaries."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters, cut at a blank line, a line end or a space if possible."""
    chunks: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not chunks:
        chunks.append(text)
    return chunks
