"""The officers' web pages with 2,000 registrations in one commune: each page fetched over real
HTTP from the aiohttp server on 127.0.0.1 (SQLite, or DATABASE_URL), logged in by a one-time link.
Prints `name: value unit` lines, the p50 and p95 of each page's time (request to last byte).

    python benchmarks/web_pages.py [--registrations 2000] [--requests 60]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    import httpx

    from bot.app import build_app
    from bot.settings import Settings
    from standins.web import QUY_HOP, Server, bind, log_in, people

    folder = tempfile.mkdtemp(prefix="web-bench-")
    settings = Settings(_env_file=None, data_dir=Path(folder), database_url=os.environ.get("DATABASE_URL", ""),
                        limit_messages_per_minute=0)
    app = build_app(settings)
    started = time.perf_counter()
    rows = people(app, commune=QUY_HOP, n=args.registrations)
    print(f"setup: {len(rows)} registrations in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    officer = bind(app)
    waiting = next(r for r in rows if r.status == "pending")
    pages = {
        "home": "/web/",
        "list": "/web/registrations",
        "list_last_page": "/web/registrations?sort=new&page=80",
        "search_name": "/web/registrations?q=van+mau+05",
        "search_reference": f"/web/registrations?q={waiting.reference}",
        "filter_status_village": "/web/registrations?status=pending&village=Th%C3%B4n+M%E1%BA%ABu+2",
        "detail": f"/web/registrations/{waiting.id}",
        "lists": "/web/lists",
        "questions": "/web/questions",
        "reports": "/web/reports",
    }
    with Server(app) as server, httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as client:
        assert "Việc hôm nay" in log_in(client, server.link(officer)).text
        for name, path in pages.items():
            client.get(path)  # warm
            times = []
            for _ in range(args.requests):
                begin = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - begin) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            times.sort()
            p95 = times[max(int(len(times) * 0.95) - 1, 0)]
            print(f"web {name} p50: {statistics.median(times):.1f} ms")
            print(f"web {name} p95: {p95:.1f} ms")
        # After each decision the list and the reports are read again (only the changed registration decrypted).
        pending = [r for r in rows if r.status == "pending"][1:2 * args.requests + 1]
        for page, path in (("list", "/web/registrations"), ("reports", "/web/reports")):
            times = []
            for row in pending[:args.requests] if page == "list" else pending[args.requests:]:
                form = client.get(f"/web/registrations/{row.id}")
                csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text).group(1)
                client.post(f"/web/registrations/{row.id}/decide", data={"decision": "verified", "csrf": csrf})
                begin = time.perf_counter()
                assert client.get(path).status_code == 200
                times.append((time.perf_counter() - begin) * 1000)
            times.sort()
            print(f"web {page}_after_a_decision p50: {statistics.median(times):.1f} ms")
            print(f"web {page}_after_a_decision p95: {times[max(int(len(times) * 0.95) - 1, 0)]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
