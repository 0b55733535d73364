"""Numbers as people type them in answers."""

from datetime import date

import pytest

from bot.nlu.numbers import UNKNOWN, parse_age, parse_amount, parse_count, parse_years_ago, read_amount
from bot.nlu.spoken import spelled_numbers

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
    "typed, vnd",
    [("hai trăm triệu", 200_000_000), ("trăm rưỡi", 150_000_000), ("1 tỷ 2", 1_200_000_000),
     ("một trăm năm chục triệu", 150_000_000), ("năm chục triệu", 50_000_000), ("tầm 80 triệu", 80_000_000),
     ("khoảng 100tr", 100_000_000), ("hai tram trieu", 200_000_000), ("mười lăm triệu", 15_000_000),
     ("hai mươi lăm triệu", 25_000_000), ("một tỷ hai", 1_200_000_000), ("1 tỷ rưỡi", 1_500_000_000),
     ("hai trăm rưỡi", 250_000_000), ("một trăm linh năm triệu", 105_000_000), ("1 tỷ hai trăm", 1_200_000_000),
     ("1 tỷ 25", 1_250_000_000), ("chục triệu", 10_000_000), ("tám trăm triệu", 800_000_000), ("dạ tầm hai trăm", 200_000_000)],
)
def test_amounts_in_words_and_shorthand(typed, vnd):
    assert parse_amount(typed) == vnd


@pytest.mark.parametrize(
    "typed, vnd",
    [("năm nay vay 50tr", 50_000_000), ("vay 50 triệu để nuôi 20 con lợn", 50_000_000), ("cho ba tôi 30 triệu", 30_000_000),
     ("tam 80 trieu", 80_000_000), ("k biết", None), ("vài chục triệu", None)],
)
def test_words_that_only_look_like_numbers_are_not_added(typed, vnd):
    """'năm nay' is this year, 'tầm' about, 'ba tôi' my father: none of them adds to the amount."""
    assert parse_amount(typed) == vnd


@pytest.mark.parametrize(
    "typed, low, high",
    [("30-50 triệu", 30_000_000, 50_000_000), ("30 đến 50 triệu", 30_000_000, 50_000_000), ("từ 30 tới 50tr", 30_000_000, 50_000_000),
     ("1-1,5 tỷ", 1_000_000_000, 1_500_000_000), ("30 hoặc 50 triệu", 30_000_000, 50_000_000),
     ("500 triệu - 1 tỷ", 500_000_000, 1_000_000_000), ("tu 30 toi 50 trieu", 30_000_000, 50_000_000)],
)
def test_a_range_is_two_ends_to_ask_about_never_their_sum(typed, low, high):
    reading = read_amount(typed)
    assert reading.is_range and (reading.low, reading.high) == (low, high)
    assert parse_amount(typed) is None


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


@pytest.mark.parametrize("typed, age", [("16", 16), ("16 tuổi", 16), ("sinh năm 2010", (15, 16)), ("k biet", UNKNOWN), ("abc", None),
                                        ("e 22t", 22), ("nó 17t", 17), ("22tuổi", 22), ("nó sinh năm 98", (27, 28))])
def test_ages(typed, age):
    assert parse_age(typed, TODAY) == age


def test_counts():
    assert parse_count("20 người") == 20 and parse_count("không rõ") == UNKNOWN and parse_count("nhiều") is None


@pytest.mark.parametrize("typed", ["tháng 5 năm ngoái", "thang 5 nam ngoai", "tháng 11 năm 2025", "hồi tháng 6 năm ngoái"])
def test_a_month_of_a_year_is_never_read_as_that_many_years(typed):
    # "tháng 5 năm ngoái" once read "5 năm": someone out since last May was told the window was past.
    low, high = parse_years_ago(typed, TODAY)
    assert 0 < low < high < 2.5


@pytest.mark.parametrize("typed", ["12/2016", "05/12/2016", "tháng 12/2016"])
def test_a_month_and_year_written_with_a_slash_is_that_month(typed):
    # At the window's edge the month decides: "12/2016" in December 2026 is 9.9–10.0 years, not up to 10.9.
    low, high = parse_years_ago(typed, date(2026, 12, 6))
    assert 9.9 < low < high < 10.1


def test_years_ago_said_as_people_say_it():
    assert parse_years_ago("năm ni", TODAY) == (0.0, 1.0)  # Nghệ Tĩnh: this year
    assert parse_years_ago("tháng trước", TODAY) == (0.0, 0.17)
    low, high = parse_years_ago("hồi tháng 3", TODAY)
    assert 0 <= low < high <= 1


@pytest.mark.parametrize("said, figures", [
    ("một trăm triệu đúng không", "100 triệu đúng không"), ("cái vụ mười năm đó", "cái vụ 10 năm đó"),
    ("năm năm với người ra tù", "5 năm với người ra tù"), ("ba mươi lăm tuổi", "35 tuổi"),
    ("vay năm chục triệu", "vay 50 triệu"), ("tram ruoi trieu", "150 trieu"), ("hai muoi trieu", "20 trieu"),
    # Not a counted number: kept as typed.
    ("mấy chục triệu", "mấy chục triệu"), ("năm nay", "năm nay"), ("sau thang 5", "sau thang 5"),
    ("tháng năm 2020", "tháng năm 2020"), ("một tháng", "một tháng"), ("ba tui", "ba tui"), ("hai ba người", "hai ba người"),
])
def test_numbers_said_in_words_become_figures_only_where_they_count_something(said, figures):
    assert spelled_numbers(said) == figures
