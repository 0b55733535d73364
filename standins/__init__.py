"""Stand-ins for the platforms the bot talks to, and synthetic traffic, shared by the tests and the
benchmarks (so a benchmark needs only the product installed, never the test suite or pytest).

- `telegram_api`, `zalo_bot_api`, `zalo_oa_api`: the Telegram Bot API, the Zalo Bot Platform and
  the Zalo OA Open API on 127.0.0.1, speaking their wire formats and recording every call;
- `traffic`: Telegram updates as the Bot API posts them, a whole registration, a question mix;
- `processes`: a `python -m bot …` process with a clean environment, officers to remind;
- `web`: the officers' web pages served on a free port, an officer bound by invite, fictional people.

The bot never imports this package.
"""
