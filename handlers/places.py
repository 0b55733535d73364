"""Choosing a province, then a commune in it, by typing part of the name (accents optional).

Shared by registration and "Gặp cán bộ": each passes its own payload prefix, so a press comes
back to the feature that asked.
"""

from __future__ import annotations

from bot.context import Context
from bot.registration.fields import exact_commune, exact_province, place_key
from bot.types import Button, Reply


def province_choices(ctx: Context, text: str, prefix: str) -> Reply:
    """Up to three provinces close to what was typed, as buttons; or a kind 'not found'."""
    found = ctx.places.search_provinces(text)
    if not found:
        return Reply(ctx.t("places.province_not_found"), (ctx.button("places.stop", f"{prefix}:stop"),))
    buttons = tuple(Button(place.name, f"{prefix}:prov:{place.code}") for place in found)
    return Reply(ctx.t("places.province_pick"), buttons + (ctx.button("places.retype", f"{prefix}:retype"),))


def commune_choices(ctx: Context, province_code: int, text: str, prefix: str) -> Reply:
    """Up to three communes or wards of the province close to what was typed, as buttons."""
    province = ctx.places.province_label(province_code)
    found = ctx.places.search_communes(province_code, text)
    if not found:
        return Reply(
            ctx.t("places.commune_not_found", province=province),
            (ctx.button("places.other_province", f"{prefix}:reprovince"), ctx.button("places.stop", f"{prefix}:stop")),
        )
    buttons = tuple(Button(place.name, f"{prefix}:comm:{place.code}") for place in found)
    return Reply(ctx.t("places.commune_pick", province=province), buttons + (ctx.button("places.retype", f"{prefix}:retype"),))


def ask_province(ctx: Context, prefix: str) -> Reply:
    return Reply(ctx.t("places.ask_province"), (ctx.button("places.stop", f"{prefix}:stop"),))


def ask_commune(ctx: Context, province_code: int, prefix: str) -> Reply:
    province = ctx.places.province_label(province_code)
    return Reply(
        ctx.t("places.ask_commune", province=province),
        (ctx.button("places.other_province", f"{prefix}:reprovince"), ctx.button("places.stop", f"{prefix}:stop")),
    )


def province_label(ctx: Context, text: str, name: str) -> str:
    """The chosen province's name; typed by a name merged away in 2025, both ("Thành phố Cần Thơ
    (gồm Sóc Trăng cũ)"), so the person sees their province was understood."""
    former = ctx.places.former.get(place_key(text))
    return ctx.t("places.former_province", province=name, former=former) if former else name


def typed_place(ctx: Context, province_code: int | None, text: str, prefix: str):
    """What was typed at the province step (no `province_code`) or the commune step: (the place,
    its label) when the name is exact and unique — it is chosen — or (None, the choices reply)."""
    if province_code is None:
        exact = exact_province(ctx.places, text)
        if exact is not None:
            return exact, province_label(ctx, text, exact.name)
        return None, province_choices(ctx, text, prefix)
    exact = exact_commune(ctx.places, province_code, text)
    if exact is not None:
        return exact, ctx.places.label(exact.code)
    return None, commune_choices(ctx, province_code, text, prefix)


def offered_places(reply: Reply, prefix: str, step: str | None) -> list[tuple[str, str]] | None:
    """The reply's buttons, kept in the draft so they are shown again after a detour, when it
    offers places at all (a 'not found' reply is not kept)."""
    kind = "prov" if step == "province" else "comm"
    if any(b.payload.startswith(f"{prefix}:{kind}:") for b in reply.buttons):
        return [(b.label, b.payload) for b in reply.buttons]
    return None
