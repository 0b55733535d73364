"""Small talk understood in every state: greeting, thanks, help, menu (phrasings in content/matching.yaml)."""

from __future__ import annotations

from bot.nlu.normalize import Normalizer
from content.models import MatchingConfig


class IntentDetector:
    def __init__(self, config: MatchingConfig, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self.lookup = {
            normalizer.light(phrasing): name for name, intent in config.intents.items() for phrasing in intent.phrasings
        }
        self.address = frozenset(normalizer.light(w) for w in config.address_words)

    def detect(self, text: str) -> str | None:
        """The intent when the whole message is small talk ("chào bạn ạ"); None for anything more."""
        words = self.normalizer.light(text)
        if len(words) > 40:
            return None
        if words in self.lookup:
            return self.lookup[words]
        trimmed = " ".join(w for w in words.split() if w not in self.normalizer.stopwords)
        if trimmed in self.lookup:
            return self.lookup[trimmed]
        # "dạ cảm ơn o nhiều", "chào cô ạ": the small talk between the words that address the bot.
        kept = [w for w in words.split() if w not in self.address and w not in self.normalizer.stopwords]
        return self.lookup.get(" ".join(kept)) if kept else None
