"""Numbers as people type them in answers."""

from datetime import date

import pytest

from bot.nlu.numbers import UNKNOWN, parse_age, parse_amount, parse_count, parse_years_ago

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    "typed, vnd",
    [("50tr", 50_000_000), ("50 triệu", 50_000_000), ("50.000.000", 50_000_000), ("1,5 tỷ", 1_500_000_000),
     ("500k", 500_000), ("2 tỷ 500 triệu", 2_500_000_000), ("1.500 triệu", 1_500_000_000), ("vay 50", 50_000_000),
     ("200.000.000 đ", 200_000_000), ("không biết", None), ("nhiều", None)],
)
def test_amounts(typed, vnd):
    assert parse_amount(typed) == vnd


@pytest.mark.parametrize(
    "typed, years",
    [("3 năm", 3.0), ("3 nam", 3.0), ("10 năm", 10.0), ("6 tháng", 0.5), ("khoảng 2 năm trước", (1.5, 2.5)),
     ("hơn 10 năm", (10.01, 80.0)), ("dưới 5 năm", (0.0, 4.99)), ("không nhớ", UNKNOWN), ("ko nho", UNKNOWN),
     ("năm 2030", None), ("abc", None)],
)
def test_years_ago(typed, years):
    assert parse_years_ago(typed, TODAY) == years


def test_a_bare_year_is_any_day_of_that_year():
    low, high = parse_years_ago("năm 2016", TODAY)
    assert low < 10 < high  # 2016 may be within 10 years or not: an officer must check


@pytest.mark.parametrize("typed, age", [("16", 16), ("16 tuổi", 16), ("sinh năm 2010", (15, 16)), ("k biet", UNKNOWN), ("abc", None)])
def test_ages(typed, age):
    assert parse_age(typed, TODAY) == age


def test_counts():
    assert parse_count("20 người") == 20 and parse_count("không rõ") == UNKNOWN and parse_count("nhiều") is None
