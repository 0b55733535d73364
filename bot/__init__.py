"""Vay vốn sau cai nghiện / sau án phạt tù: a public-service chatbot (Telegram, Zalo, console)."""
