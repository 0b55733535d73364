"""Obviously fictional registrations for trying the officer side: every status, some verified this month."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.registration.record import Details
from storage import registrations
from storage.crypto import Cipher

# "Mẫu" (sample) and "Thử" (test) in every name, numbers 0900 000 xxx: nobody real.
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng")
GIVEN = ("Văn Mẫu", "Thị Thử", "Văn Thử", "Thị Mẫu")
STATUSES = (registrations.PENDING, registrations.VERIFIED, registrations.PENDING, registrations.NEEDS_INFO,
            registrations.VERIFIED, registrations.REJECTED)


def fictional(index: int, commune_code: int, province_code: int, rng: random.Random) -> Details:
    return Details(
        registrant=rng.choice(("self", "relative")),
        relationship=rng.choice(("spouse", "parent", "sibling")),
        name=f"{FAMILY[index % len(FAMILY)]} {GIVEN[index % len(GIVEN)]} {index + 1:02d}",
        birth_year=rng.randint(1975, 2004),
        phone=f"0900000{index + 1:03d}",
        province=province_code,
        commune=commune_code,
        village=f"Thôn Mẫu {index % 5 + 1}",
        programme=rng.choice(("qd08_2026", "qd08_2026", "qd22_2023")),
        event_year=rng.randint(2018, 2026),
        purpose=rng.choice(("business", "vocational_training")),
        description="Dữ liệu thử (không có thật)",
        amount=rng.choice((30, 50, 80, 100, 150, 200)) * 1_000_000,
    )


def fill(*, session: Session, cipher: Cipher, commune_code: int, province_code: int, count: int, now: datetime,
         seed: int = 8) -> dict[str, int]:
    """Adds `count` fictional registrations in the commune; how many in each status."""
    rng = random.Random(seed)
    made: dict[str, int] = {}
    for index in range(count):
        details = fictional(index, commune_code, province_code, rng)
        created = now - timedelta(days=rng.randint(0, min(20, now.day - 1) if index % 2 == 0 else 40), hours=rng.randint(0, 8))
        row = registrations.create(
            session=session, channel="demo", chat_id=f"demo-{commune_code}-{index + 1}", province_code=province_code,
            commune_code=commune_code, details=cipher.seal(details.sealed_fields()),
            phone_index=cipher.blind_index(details.phone or ""), consent_id=None, now=created,  # fictional() gives one
        )
        status = STATUSES[index % len(STATUSES)]
        if status != registrations.PENDING:
            # Decisions fall in the current month, so this month's list has verified people.
            decided = max(created, now - timedelta(days=rng.randint(0, max(now.day - 1, 0))))
            note = cipher.encrypt("Dữ liệu thử") if status != registrations.VERIFIED else None
            registrations.decide(session=session, registration=row, status=status, actor="system", now=decided, note=note)
        made[status] = made.get(status, 0) + 1
    return made
