"""The officers' web pages (issue 15): server-rendered on the bot's own aiohttp server."""
