"""User-facing text: gettext catalogs (compiled with Babel at load) and vi_VN number/date formats.

Message ids are stable keys ("menu.greeting"); the Vietnamese and English texts live in
`content/locale/<lang>/LC_MESSAGES/messages.po`. Python code never holds user-facing text.
"""

from __future__ import annotations

import gettext
import io
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALE_DIR = Path(__file__).resolve().parent.parent / "content" / "locale"
LOCALES = {"vi": "vi_VN", "en": "en_US"}
DEFAULT_LOCALE = "vi"


@lru_cache(maxsize=8)  # one per locale in use
def catalog(lang: str) -> gettext.NullTranslations:
    """Compiles the .po catalog of `lang` in memory (no stale .mo files) and falls back to Vietnamese."""
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as handle:
        po = read_po(handle, locale=LOCALES[lang])
    buffer = io.BytesIO()
    write_mo(buffer, po)
    buffer.seek(0)
    translations = gettext.GNUTranslations(buffer)
    if lang != DEFAULT_LOCALE:
        translations.add_fallback(catalog(DEFAULT_LOCALE))
    return translations


def catalog_ids(lang: str) -> set[str]:
    """All message ids with a non-empty text in a locale's catalog (for completeness checks)."""
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as handle:
        po = read_po(handle, locale=LOCALES[lang])
    return {m.id for m in po if isinstance(m.id, str) and m.id and m.string}  # the catalogs have no plural forms


class Texts:
    """Texts and formats for one locale: `t("key", name=value)`, money, numbers, dates."""

    def __init__(self, lang: str = DEFAULT_LOCALE) -> None:
        if lang not in LOCALES:
            lang = DEFAULT_LOCALE
        self.lang = lang
        self.locale = Locale.parse(LOCALES[lang])
        self._catalog = catalog(lang)

    def t(self, key: str, **values: object) -> str:
        text = self._catalog.gettext(key)
        return text.format(**values) if values else text

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def money(self, value: int | Decimal) -> str:
        """Exact amount: 200.000.000 đ."""
        return self.t("format.money_exact", amount=self.number(value))

    def money_words(self, value: int | Decimal) -> str:
        """Amount as people say it: 200 triệu đồng, 2 tỷ đồng, 1,5 tỷ đồng."""
        value = Decimal(value)
        for unit, key in ((Decimal(10**9), "format.money_billion"), (Decimal(10**6), "format.money_million")):
            if value >= unit:
                return self.t(key, amount=self.number((value / unit).normalize()))
        return self.t("format.money_plain", amount=self.number(value))

    def percent(self, value: int | float | Decimal) -> str:
        return self.t("format.percent", value=self.number(Decimal(str(value)).normalize()))

    def date(self, value: date) -> str:
        """05/12/2026 in Vietnamese; the locale's own short form elsewhere."""
        return format_date(value, self.t("format.date_pattern"), locale=self.locale)


@lru_cache(maxsize=8)
def texts(lang: str = DEFAULT_LOCALE) -> Texts:
    return Texts(lang)
