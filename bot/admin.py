"""Operator commands: officers (invite, list, revoke), the monthly export, demo data, key rotation,
retention purge. Registered on the command line by bot/__main__.py."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path


def _open(args: argparse.Namespace):
    """Settings, a migrated engine and the cipher (no content loaded unless a command needs it)."""
    from bot.__main__ import _settings
    from storage.crypto import cipher_from_settings
    from storage.db import make_engine, migrate

    settings = _settings(args)
    engine = make_engine(settings.effective_database_url)
    cipher = cipher_from_settings(settings)
    migrate(engine, cipher)
    return settings, engine, cipher


def _places():
    from bot.places import Places

    return Places()


def _commune(code: int):
    commune = _places().commune(code)
    if commune is None:
        print(f"Unknown commune code {code} (see the official list in the vietnam-provinces package).", file=sys.stderr)
    return commune


def cmd_officers(args: argparse.Namespace) -> int:
    from storage import officers
    from storage.db import transaction
    from storage.models import utcnow

    settings, engine, _ = _open(args)
    now = utcnow()
    if args.officers_command == "invite":
        communes = [_commune(code) for code in dict.fromkeys(args.commune)]
        if None in communes:
            return 2
        if len(communes) > 1 and args.role != "bank":
            print("Only a bank office (--role bank) serves several communes.", file=sys.stderr)
            return 2
        first, *more = [c.code for c in communes]
        with transaction(engine) as session:
            code = officers.create_invite(session=session, commune_code=first, role=args.role, now=now,
                                          expires_at=now + timedelta(hours=settings.officer_invite_hours), more_communes=more)
            for commune in communes:
                officers.audit(session=session, actor="cli", action="invite", now=now, commune_code=commune.code, detail=args.role)
        names = ", ".join(c.name for c in communes)
        print(f"Invite code for {names} ({args.role}), single use, valid {settings.officer_invite_hours} hours:")
        print(code)
        print(f"The officer sends:  /canbo {code}")
        if settings.telegram_bot_username:
            print(f"Telegram link:      https://t.me/{settings.telegram_bot_username.lstrip('@')}?start={code}")
        return 0
    if args.officers_command == "login-link":
        from bot.web.links import login_link
        from storage.models import Officer

        base = settings.public_base_url or f"http://{settings.http_host}:{settings.http_port}"
        with transaction(engine) as session:
            officer = session.get(Officer, args.id)
            if officer is None or officer.revoked_at is not None:
                print(f"No active officer {args.id} (see: python -m bot officers list).", file=sys.stderr)
                return 1
            link = login_link(session=session, officer=officer, base_url=base, now=now, actor="cli")
        print(f"Login link for officer {args.id} ({officer.role}), single use, valid 10 minutes:")
        print(link)
        return 0
    if args.officers_command == "revoke":
        from storage import web

        with transaction(engine) as session:
            done = officers.revoke(session=session, officer_id=args.id, now=now)
            if done:
                web.end_sessions_of(session=session, officer_id=args.id, now=now)  # its browser sessions end too
                officers.audit(session=session, actor="cli", action="revoke", now=now, detail=f"officer={args.id}")
        print(f"Officer {args.id} revoked." if done else f"No active officer {args.id}.")
        return 0 if done else 1
    places = _places()
    with transaction(engine) as session:
        rows = officers.all_officers(session=session, include_revoked=args.all)
        if not rows:
            print("No officers. Create one with: python -m bot officers invite --commune CODE")
        for row in rows:
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            print(f"{row.id:4}  {row.role:8}  {row.channel:9}  {places.label(row.commune_code)} ({row.commune_code})  "
                  f"since {row.created_at:%Y-%m-%d}  {state}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Writes the monthly list of a commune to FILE (.xlsx or .csv)."""
    from bot.i18n import texts
    from bot.registration.export import monthly_document, parse_month
    from bot.vntime import vietnam_date
    from content import load_content
    from storage import officers
    from storage.db import transaction
    from storage.models import utcnow

    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        print("--out must end in .xlsx or .csv", file=sys.stderr)
        return 2
    try:
        year, month = parse_month(args.month)
    except ValueError:
        print("--month must be YYYY-MM", file=sys.stderr)
        return 2
    if _commune(args.commune) is None:
        return 2
    settings, engine, cipher = _open(args)
    now = utcnow()
    with transaction(engine) as session:
        if args.onward:
            from bot.registration.export import onward_list_document, onward_rows
            from storage import lists

            row = lists.find(session=session, commune_code=args.commune, period=f"{year}-{month:02d}")
            if row is None:
                print(f"The list of {year}-{month:02d} has not been closed by the police yet.", file=sys.stderr)
                return 1
            kwargs = dict(session=session, cipher=cipher, texts=texts(settings.bot_locale), places=_places(),
                          form=load_content().registration, row=row, today=vietnam_date(now))
            document, count = onward_list_document(fmt=fmt, **kwargs), len(onward_rows(**kwargs)[1]) - 1
        else:
            document, count = monthly_document(session=session, cipher=cipher, texts=texts(settings.bot_locale), places=_places(),
                                               form=load_content().registration, commune_code=args.commune, year=year,
                                               month=month, today=vietnam_date(now), fmt=fmt)
        officers.audit(session=session, actor="cli", action="export_onward" if args.onward else "export", now=now,
                       commune_code=args.commune, detail=f"{year}-{month:02d} rows={count}")
    # Personal data: readable by its owner only.
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(document.content)
    os.chmod(out, 0o600)
    print(f"{count} people written to {out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """A commune's (or, for admins, a province's) report for a period: JSON, an XLSX file, or a summary."""
    import json
    from datetime import date

    from bot.i18n import texts
    from bot.registration import report
    from content import load_content
    from storage import officers
    from storage.db import transaction
    from storage.models import utcnow

    try:
        start, end = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    except ValueError:
        print("--from and --to must be YYYY-MM-DD", file=sys.stderr)
        return 2
    if end < start:
        print("--to must not be before --from", file=sys.stderr)
        return 2
    if (args.commune is None) == (args.province is None):
        print("give --commune CODE or --province CODE", file=sys.stderr)
        return 2
    places = _places()
    if args.commune is not None:
        if _commune(args.commune) is None:
            return 2
        communes = [args.commune]
    else:
        if places.province(args.province) is None:
            print(f"Unknown province code {args.province}.", file=sys.stderr)
            return 2
        communes = [c.code for c in places.communes_of(args.province)]
    if args.out and not args.out.lower().endswith(".xlsx"):
        print("--out must end in .xlsx", file=sys.stderr)
        return 2
    settings, engine, cipher = _open(args)
    form = load_content().registration
    now = utcnow()
    with transaction(engine) as session:
        result = report.build(session=session, cipher=cipher, form=form, communes=communes, start=start, end=end,
                              commune=args.commune,
                              province=args.province if args.commune is None else _commune(args.commune).province_code)
        officers.audit(session=session, actor="cli", action="report", now=now, commune_code=args.commune,
                       detail=f"{start}..{end}" + (f" province={args.province}" if args.province else ""))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    if args.out:
        document = report.document(result, texts=texts(settings.bot_locale), places=places, form=form)
        descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(document.content)
        print(f"Report for {start}..{end}: {result['registrations']} registrations, written to {args.out}")
        return 0
    print(f"{start}..{end}: {result['registrations']} registrations, {result['verified']} verified, "
          f"{result['confirmed']} confirmed, {result['granted']} granted; requested {result['requested_vnd']} VND, "
          f"granted {result['granted_vnd']} VND")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from bot.registration.demo import fill
    from storage.db import transaction
    from storage.models import utcnow

    commune = _commune(args.commune)
    if commune is None:
        return 2
    _, engine, cipher = _open(args)
    with transaction(engine) as session:
        made = fill(session=session, cipher=cipher, commune_code=args.commune, province_code=commune.province_code,
                    count=args.n, now=utcnow())
    summary = ", ".join(f"{count} {status}" for status, count in sorted(made.items()))
    print(f"Added {args.n} fictional registrations to {commune.name} ({args.commune}): {summary}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """Re-encrypts every encrypted value with the newest key (and re-indexes phone numbers)."""
    from storage.rotation import rotate_all

    _, engine, cipher = _open(args)
    counts = rotate_all(engine, cipher)
    for table, count in counts.items():
        print(f"{table}: {count} re-encrypted")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Erases the personal data of registrations older than the retention period."""
    from bot.registration.service import purge
    from storage.db import transaction
    from storage.models import utcnow

    settings, engine, _ = _open(args)
    now = utcnow()
    months = args.months if args.months is not None else settings.registration_retention_months
    with transaction(engine) as session:
        count = purge(session=session, before=now - timedelta(days=round(months * 30.44)), now=now)
    from storage.db import wipe_free_pages

    wipe_free_pages(engine)
    print(f"{count} registrations older than {months} months erased (stubs kept for the audit trail).")
    return 0


def cmd_reminders(args: argparse.Namespace) -> int:
    """preview: the reminders that would go out; run-once: one sweep, then send what it queued."""
    import asyncio
    import json
    from datetime import date, datetime

    if args.reminders_command == "preview":
        from bot.reminders.sweeper import preview
        from content import load_content

        try:
            start, end = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
        except ValueError:
            print("--from and --to must be YYYY-MM-DD", file=sys.stderr)
            return 2
        if args.commune is not None and _commune(args.commune) is None:
            return 2
        items = preview(load_content(), _places(), start, end, args.commune)
        if args.json:
            print(json.dumps(items, ensure_ascii=False, indent=1))
        else:
            for item in items:
                print(f"{item['date']}  hạn {item['deadline']}  ({item['lead_days']} ngày trước)  {item['title']}  [{item['scope']}]")
            if not items:
                print("No reminders in that period.")
        return 0

    from bot.__main__ import _settings
    from bot.app import build_app, configure_logging
    from bot.server import configured_channels
    from storage.models import utcnow

    settings = _settings(args)
    configure_logging(settings.log_level)
    try:
        now = datetime.fromisoformat(args.now) if args.now else utcnow()
    except ValueError:
        print("--now must be an ISO date-time, e.g. 2026-12-02T08:00+07:00", file=sys.stderr)
        return 2
    if now.tzinfo is None:
        from bot.vntime import VIETNAM

        now = now.replace(tzinfo=VIETNAM)  # a time without a zone is Vietnamese time
    app = build_app(settings)
    report = app.sweeper.sweep(now)
    if not report.swept:
        print("Another worker is sweeping right now; nothing done.")
        return 0

    async def send() -> int:
        total = 0
        for channel in configured_channels(settings, app):
            await channel.open_for_sending()
            try:
                total += await channel.deliver_notifications()
            finally:
                await channel.stop()
        return total

    sent = asyncio.run(send())
    print(f"queued {report.queued}, sent {sent}, missed {report.missed}, skipped {report.skipped}")
    return 0


def add_commands(sub) -> None:
    reminders = sub.add_parser("reminders", help="officers' deadline reminders")
    reminders_sub = reminders.add_subparsers(dest="reminders_command", required=True)
    preview = reminders_sub.add_parser("preview", help="list the reminders that would go out")
    preview.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
    preview.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD")
    preview.add_argument("--commune", type=int, help="one commune's reminders (default: every scope)")
    preview.add_argument("--json", action="store_true")
    run_once = reminders_sub.add_parser("run-once", help="sweep once and send what is due")
    run_once.add_argument("--now", help="ISO date-time to sweep at (default: now)")
    reminders.set_defaults(func=cmd_reminders)

    officers = sub.add_parser("officers", help="invite, list and revoke commune police officers")
    officers_sub = officers.add_subparsers(dest="officers_command", required=True)
    invite = officers_sub.add_parser("invite", help="print a single-use, expiring invite code")
    invite.add_argument("--commune", type=int, required=True, action="append",
                        help="commune/ward code (official list after 2025); repeat it for a bank office serving several")
    invite.add_argument("--role", choices=["officer", "committee", "bank", "admin"], default="officer",
                        help="officer: commune police; committee: commune People's Committee; bank: NHCSXH transaction office")
    listing = officers_sub.add_parser("list", help="list officers")
    listing.add_argument("--all", action="store_true", help="include revoked officers")
    link = officers_sub.add_parser("login-link", help="print a one-time login link to the web pages (10 minutes)")
    link.add_argument("id", type=int, help="the officer's id (first column of `officers list`)")
    revoke = officers_sub.add_parser("revoke", help="revoke an officer (by the id `list` shows)")
    revoke.add_argument("id", type=int)
    officers.set_defaults(func=cmd_officers)

    report = sub.add_parser("report", help="a commune's (or a province's) report for a period")
    report.add_argument("--commune", type=int)
    report.add_argument("--province", type=int, help="every commune of the province (admins)")
    report.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
    report.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD")
    output = report.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--out", help="FILE.xlsx")
    report.set_defaults(func=cmd_report)

    export = sub.add_parser("export", help="write a commune's monthly list (.xlsx or .csv)")
    export.add_argument("--commune", type=int, required=True)
    export.add_argument("--month", required=True, help="YYYY-MM")
    export.add_argument("--out", required=True, help="FILE.xlsx or FILE.csv")
    export.add_argument("--onward", action="store_true",
                        help="the month's closed list as it goes onward (only the people on it, the form's columns); "
                             "default: the police's internal working list")
    export.set_defaults(func=cmd_export)

    demo = sub.add_parser("demo-data", help="fill a commune with obviously fictional registrations")
    demo.add_argument("--commune", type=int, required=True)
    demo.add_argument("--n", type=int, default=20)
    demo.set_defaults(func=cmd_demo_data)

    keys = sub.add_parser("keys", help="encryption keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("rotate", help="re-encrypt everything with the newest key in DATA_ENCRYPTION_KEYS")
    keys.set_defaults(func=cmd_keys)

    purge = sub.add_parser("purge", help="erase personal data older than the retention period")
    purge.add_argument("--months", type=float, help="override REGISTRATION_RETENTION_MONTHS")
    purge.set_defaults(func=cmd_purge)
