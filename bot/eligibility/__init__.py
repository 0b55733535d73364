"""Eligibility under QĐ 08/2026 and QĐ 22/2023: a small generic engine over rules kept as data."""
