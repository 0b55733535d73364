"""Command line: `python -m bot <command>`. Commands only pick what to run; bot/app.py wires it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

SHARED_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


def _settings(args: argparse.Namespace):
    """The settings; a setting that is wrong or missing stops the command with one clear line
    (production without DATA_ENCRYPTION_KEYS, among others), not a traceback."""
    from pydantic import ValidationError

    from bot.settings import load_settings

    overrides = {"bot_locale": args.locale} if getattr(args, "locale", None) else {}
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            print(f"configuration error: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_chat(args: argparse.Namespace) -> int:
    """Talks to the bot in the terminal (interactive, or a script of one message per line)."""
    from bot.app import build_app, configure_logging
    from bot.channels.console import ConsoleChannel
    from bot.i18n import texts

    settings = _settings(args)
    configure_logging("WARNING")
    app = build_app(settings)
    lang = texts(settings.bot_locale)
    if args.script:
        # A script is a fresh conversation every time (so its transcript is reproducible), unless
        # --user names one: then several scripts can play several people on one database.
        chat_id = args.user or f"script-{datetime.now().strftime('%Y%m%d%H%M%S%f')}"
        channel = ConsoleChannel(app.dispatcher, lang, sys.stdout, chat_id=chat_id)
        path = Path(args.script)
        lines = sys.stdin.read().splitlines() if args.script == "-" else path.read_text(encoding="utf-8").splitlines()
        asyncio.run(channel.script(lines))
    else:
        channel = ConsoleChannel(app.dispatcher, lang, sys.stdout, chat_id=args.user or "local")
        asyncio.run(channel.interactive())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Starts every configured channel; with none configured, the console. With --workers N,
    N worker processes on one PostgreSQL database sharing the port (bot/workers.py)."""
    import os

    settings = _settings(args)
    if args.workers > 1:
        from bot.workers import refusal, supervise, worker_command

        reason = refusal(settings)
        if reason is not None:
            print(f"--workers {args.workers}: {reason}", file=sys.stderr)
            return 2
        from bot.app import configure_logging

        configure_logging(settings.log_level)
        return supervise(lambda slot: worker_command(slot, args.workers, getattr(args, "locale", None)), args.workers)
    if settings.telegram_bot_token is None and settings.zalo_bot_token is None and not settings.zalo_oa_configured:
        print("No channel is configured (no Telegram, Zalo Bot or Zalo OA settings): starting the console.", file=sys.stderr)
        args.script, args.user = None, "local"
        return cmd_chat(args)
    from bot.app import configure_logging
    from bot.server import serve

    configure_logging(settings.log_level)
    parent = None
    if args.slot is not None:  # worker `slot` of `--workers N`: together they keep Telegram's overall rate
        rate = settings.telegram_max_messages_per_second
        settings = settings.model_copy(update={"telegram_max_messages_per_second": rate / max(args.of, 1)})
        parent = os.getppid()
    work = serve(settings, slot=args.slot, parent=parent)
    try:
        import uvloop  # a faster event loop for the web server, where it is available (not Windows)
    except ImportError:
        asyncio.run(work)
    else:
        uvloop.run(work)
    return 0


def _workers(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return number


def cmd_ask(args: argparse.Namespace) -> int:
    """Prints the reply to one question (or, with --json and no question, to each line of stdin)."""
    from bot.app import build_brain
    from bot.channels.console import render
    from bot.i18n import texts

    settings = _settings(args)
    brain = build_brain()
    questions: Iterable[str] | None = [" ".join(args.question)] if args.question else None
    if questions is None:
        if not args.json:
            print("Give a question, or use --json to read questions from standard input.", file=sys.stderr)
            return 2
        questions = (line.rstrip("\n") for line in sys.stdin)
    for question in questions:
        result = brain.ask(question, lang=settings.bot_locale)
        if args.json:
            outcome = result.outcome
            answer = {
                "status": outcome.status,
                "entry": outcome.entry,
                "score": round(outcome.score, 4),
                "text": "\n".join(r.text for r in result.replies),
                "suggestions": list(outcome.suggestions),
            }
            sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            print(render(result.replies, texts(settings.bot_locale)))
    return 0


def cmd_eligibility(args: argparse.Namespace) -> int:
    """Evaluates applicant profiles (JSON) against the eligibility rules on a date."""
    from pydantic import ValidationError

    from bot.app import build_brain
    from bot.eligibility.engine import Profile
    from bot.i18n import texts
    from bot.vntime import vietnam_date
    from storage.models import utcnow

    settings = _settings(args)
    brain = build_brain()
    lang = texts(settings.bot_locale)
    try:
        on = datetime.strptime(args.date, "%Y-%m-%d").date() if args.date else vietnam_date(utcnow())
    except ValueError:
        print("--date must be YYYY-MM-DD", file=sys.stderr)
        return 2
    lines = [Path(args.profile).read_text(encoding="utf-8")] if args.profile else [line for line in sys.stdin if line.strip()]
    for line in lines:
        try:
            profile = Profile.model_validate_json(line)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            print(json.dumps({"error": f"invalid profile: {fields}"}, ensure_ascii=False), flush=True)
            continue
        result = brain.eligibility.evaluate(profile, on=on, texts=lang, subject=lang.t("eligibility.subject_applicant"))
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
        else:
            from handlers.eligibility import result_text

            print(result_text(result, lang), flush=True)
    return 0


def cmd_content(args: argparse.Namespace) -> int:
    from content import ContentError, load_content

    if args.content_command == "unanswered":
        return _unanswered(args)
    try:
        content = load_content()
    except ContentError as exc:
        print(f"content error: {exc}", file=sys.stderr)
        return 1
    from bot.app import build_brain
    from bot.vntime import vietnam_date
    from storage.models import utcnow

    brain = build_brain(content)
    if args.content_command == "check":
        from bot.content_tools import check_content

        report = check_content(brain, today=vietnam_date(utcnow()))
        for warning in report.warnings:
            print(f"warning: {warning}")
        for error in report.errors:
            print(f"error: {error}")
        phrasings = sum(len(e.phrasings) for e in content.faq)
        print(f"{len(content.faq)} entries, {phrasings} phrasings, {len(content.parameters)} parameters: "
              f"{len(report.errors)} errors, {len(report.warnings)} warnings")
        return 1 if report.errors else 0
    return _eval(args, brain)


def _eval(args: argparse.Namespace, brain) -> int:
    from bot.content_tools import evaluate

    set_path = Path(args.set) if args.set else SHARED_EVAL / "faq-dev.jsonl"
    facts_path = Path(args.facts) if args.facts else set_path.parent / "facts.json"
    if not facts_path.exists():
        facts_path = SHARED_EVAL / "facts.json"
    if not set_path.exists() or not facts_path.exists():
        print(f"question set or facts not found: {set_path}, {facts_path}", file=sys.stderr)
        return 2

    def answer(question: str):
        result = brain.ask(question)
        return result.outcome.status, result.outcome.entry, "\n".join(r.text for r in result.replies)

    report = evaluate(answer, set_path, facts_path)
    if args.verbose:
        for verdict, status, entry, question in report.rows:
            print(f"{verdict:9} {status:8} {entry:34} {question}")
    print(f"in-scope {report.in_scope}: correct {report.correct}, wrong {report.wrong}, suggest {report.suggest}, "
          f"miss {report.miss}; out-of-scope {report.out_of_scope}: false {report.oos_false}")
    if args.metrics:
        print(f"faq correct ({set_path.name}): {report.correct_rate * 100:.1f} %")
        print(f"faq false answers ({set_path.name}): {report.false_rate * 100:.1f} %")
    print(f"correct {report.correct_rate:.1%}, false-answer {report.false_rate:.1%}")
    return 0


def _unanswered(args: argparse.Namespace) -> int:
    """Lists the record without loading content: just the database."""
    from storage import repo
    from storage.crypto import cipher_from_settings
    from storage.db import make_engine, migrate, transaction

    settings = _settings(args)
    engine = make_engine(settings.effective_database_url)
    cipher = cipher_from_settings(settings)
    migrate(engine, cipher)
    with transaction(engine) as session:
        rows = repo.list_unanswered(session=session, cipher=cipher, limit=args.limit)
        if not rows:
            print("No unanswered questions recorded.")
        for row in rows:
            print(f"{row.count:5}  {row.status:8}  {row.last_seen:%Y-%m-%d}  {row.text}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý vay vốn sau cai nghiện / sau án phạt tù")
    p.add_argument("--locale", choices=["vi", "en"], help="language of the replies (default: BOT_LOCALE or vi)")
    sub = p.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="talk to the bot in the terminal")
    chat.add_argument("--script", help="play one user message per line from FILE ('-' for stdin); '#2' presses button 2")
    chat.add_argument("--user", help="conversation id on the console (default: local; with --script, a fresh one)")
    chat.set_defaults(func=cmd_chat)

    run = sub.add_parser("run", help="start the configured channels (the console when none is configured)")
    run.add_argument("--workers", type=_workers, default=1, metavar="N",
                     help="N worker processes on one PostgreSQL database, sharing the port (README: Several workers)")
    run.add_argument("--slot", type=int, default=None, help=argparse.SUPPRESS)  # set by the parent of --workers
    run.add_argument("--of", type=int, default=1, help=argparse.SUPPRESS)
    run.set_defaults(func=cmd_run)

    ask = sub.add_parser("ask", help="print the reply to a question")
    ask.add_argument("--json", action="store_true", help="one JSON object per question; reads stdin when no question")
    ask.add_argument("question", nargs="*")
    ask.set_defaults(func=cmd_ask)

    eligibility = sub.add_parser("eligibility", help="evaluate applicant profiles against the rules")
    eligibility.add_argument("--json", action="store_true", help="print one JSON result per profile")
    eligibility.add_argument("--profile", help="read one profile from FILE (default: one JSON profile per line on stdin)")
    eligibility.add_argument("--date", help="evaluation date YYYY-MM-DD (default: today in Vietnam)")
    eligibility.set_defaults(func=cmd_eligibility)

    content = sub.add_parser("content", help="curator tools")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    content_sub.add_parser("check", help="validate all content; non-zero exit on any error")
    evaluation = content_sub.add_parser("eval", help="score the FAQ on a question set")
    evaluation.add_argument("set", nargs="?", help="JSONL question set (default: ../shared/eval/faq-dev.jsonl)")
    evaluation.add_argument("--facts", help="facts.json (default: next to the set)")
    evaluation.add_argument("-v", "--verbose", action="store_true", help="one line per question")
    evaluation.add_argument("--metrics", action="store_true", help="also print `name: value unit` lines (benchmarks)")
    unanswered = content_sub.add_parser("unanswered", help="questions the bot could not answer, with counts")
    unanswered.add_argument("--limit", type=int, default=100)
    content.set_defaults(func=cmd_content)

    from bot.admin import add_commands

    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
