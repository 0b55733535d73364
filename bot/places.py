"""The official list of provinces and communes after the 2025 reform (34 provinces, 3,321 communes,
from the vietnam-provinces package), searched accent-insensitively and forgivingly.

Commune names repeat across provinces (five "Xã Châu Thành"), so a commune is always searched
within a province that was chosen first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from rapidfuzz import fuzz

from bot.nlu.normalize import fold

# Words that name the kind of unit, typed or not ("xã Quỳ Hợp", "p. Tô Hiệu", "tp Huế").
UNIT_WORDS = re.compile(r"^(?:thanh pho|tinh|tp|t|xa|phuong|dac khu|p|x)\b\.?\s*")
MIN_SCORE = 72


@dataclass(frozen=True)
class Place:
    code: int
    name: str  # the official name, with its unit: "Xã Quỳ Hợp", "Thành phố Hà Nội", "Sơn La"
    province_code: int | None = None
    key: str = field(default="", compare=False)  # the name folded for search, computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", name_key(self.name))


_PUNCTUATION = re.compile(r"[.,\-–]")


def name_key(text: str) -> str:
    """A place name as the list's search key: folded, punctuation and the unit word dropped
    ("Tỉnh Bà Rịa - Vũng Tàu" → "ba ria vung tau"); names and what people type share it."""
    folded = _PUNCTUATION.sub(" ", fold(text)).strip()
    return " ".join(UNIT_WORDS.sub("", folded).split())


class Places:
    """Look-ups by code and fuzzy search by name; loaded on first use (3,321 communes)."""

    def __init__(self, aliases: dict[str, int] | None = None, former: dict[str, int] | None = None) -> None:
        # A province merged away in 2025 is found under its old name too; `former` keeps that name.
        self.former = {name_key(name): name for name in (former or {})}
        self.aliases = {**{name_key(k): v for k, v in (former or {}).items()}, **{name_key(k): v for k, v in (aliases or {}).items()}}

    @cached_property
    def _data(self) -> tuple[dict[int, Place], dict[int, Place], dict[int, list[Place]]]:
        from vietnam_provinces import Province
        from vietnam_provinces.lookup import WARD_MAPPING

        provinces = {int(p.code): Place(int(p.code), p.name) for p in Province.iter_all()}
        communes: dict[int, Place] = {}
        by_province: dict[int, list[Place]] = {code: [] for code in provinces}
        for ward in WARD_MAPPING.values():
            province_code = int(ward.province_code)
            place = Place(int(ward.code), ward.name, province_code)
            communes[place.code] = place
            by_province[province_code].append(place)
        return provinces, communes, by_province

    def province(self, code: int) -> Place | None:
        return self._data[0].get(code)

    def commune(self, code: int) -> Place | None:
        return self._data[1].get(code)

    def communes_of(self, province_code: int) -> list[Place]:
        """Every commune of a province, by code."""
        return sorted(self._data[2].get(province_code, []), key=lambda p: p.code)

    @property
    def province_count(self) -> int:
        return len(self._data[0])

    @property
    def commune_count(self) -> int:
        return len(self._data[1])

    def search_provinces(self, text: str, limit: int = 3) -> list[Place]:
        key = name_key(text)
        if key in self.aliases:
            return [self._data[0][self.aliases[key]]]
        return _best(key, self._data[0].values(), limit)

    def search_communes(self, province_code: int, text: str, limit: int = 3) -> list[Place]:
        return _best(name_key(text), self._data[2].get(province_code, []), limit)

    def province_label(self, code: int) -> str:
        """The province's name; the bare code when the list no longer has it."""
        province = self.province(code)
        return province.name if province is not None else str(code)

    def label(self, commune_code: int) -> str:
        """'Xã Quỳ Hợp, Nghệ An'; the bare code when the list no longer has it."""
        commune = self.commune(commune_code)
        if commune is None:
            return str(commune_code)
        return f"{commune.name}, {self.province_label(commune.province_code)}" if commune.province_code else commune.name


def _score(query: str, key: str) -> float:
    if query == key:
        return 100.0
    if key.startswith(query + " ") or (len(query) >= 4 and key.startswith(query)):
        return 92.0
    return fuzz.ratio(query, key)


def _best(query: str, places, limit: int) -> list[Place]:
    """Up to `limit` places whose name is close to the query; an exact name alone when there is one."""
    if not query:
        return []
    scored = sorted(((_score(query, p.key), p.name, p) for p in places), key=lambda s: (-s[0], s[1]))
    if scored and scored[0][0] == 100.0 and (len(scored) == 1 or scored[1][0] < 100.0):
        return [scored[0][2]]
    return [p for score, _, p in scored[:limit] if score >= MIN_SCORE]
