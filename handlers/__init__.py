"""Conversations: each module registers what it handles on the router (see bot/app.py)."""
