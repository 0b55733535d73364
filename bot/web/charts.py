"""Charts as SVG drawn on the server (no script, nothing loaded): horizontal bars for counts by a
category, vertical bars for counts by month. Every label is escaped; colours are attributes, so the
page's CSP (no inline style) holds."""

from __future__ import annotations

from markupsafe import Markup, escape

BAR, GAP, WIDTH = 20, 8, 360
COLOURS = ("#0b6b3a", "#0b5cad", "#b35c00", "#6b3fa0", "#a4262c", "#2f7d7d", "#56616d")


def bars(items: list[tuple[str, int, str]], *, title: str) -> Markup:
    """One bar per (label, value, value as shown), the label above it; the longest bar fills the width."""
    top = max((v for _, v, _ in items), default=0) or 1
    row = BAR + GAP + 16
    height = len(items) * row + GAP
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    span = WIDTH - 110
    for i, (label, value, shown) in enumerate(items):
        y = GAP + i * row
        length = round(span * value / top) if value else 0
        parts.append(f'<text x="0" y="{y + 11}" font-size="12" fill="#1b1f23">{escape(label[:60])}</text>'
                     f'<rect x="0" y="{y + 16}" width="{max(length, 1)}" height="{BAR}" rx="3" fill="{COLOURS[i % len(COLOURS)]}"/>'
                     f'<text x="{length + 6}" y="{y + 32}" font-size="12" fill="#1b1f23">{escape(shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(items: list[tuple[str, int]], *, title: str) -> Markup:
    """One column per (month label, count)."""
    top = max((v for _, v in items), default=0) or 1
    height, base = 170, 140
    step = WIDTH / max(len(items), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
             f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#8a98a8"/>']
    for i, (label, value) in enumerate(items):
        h = round(110 * value / top)
        x = i * step + step * 0.15
        w = step * 0.7
        parts.append(f'<rect x="{x:.1f}" y="{base - h}" width="{w:.1f}" height="{h}" rx="2" fill="#0b5cad"/>'
                     f'<text x="{x + w / 2:.1f}" y="{base - h - 4}" font-size="11" text-anchor="middle" fill="#1b1f23">{value}</text>'
                     f'<text x="{x + w / 2:.1f}" y="{base + 16}" font-size="10" text-anchor="middle" fill="#56616d">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
