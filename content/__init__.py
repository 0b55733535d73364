"""Curated content (FAQ, policy parameters, lexicon, catalogs) and its typed, validated loader."""

from content.loader import CONTENT_DIR, Content, ContentError, load_content

__all__ = ["CONTENT_DIR", "Content", "ContentError", "load_content"]
