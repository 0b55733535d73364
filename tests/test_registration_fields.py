"""Reading registration fields as people type them, and the official list of places."""

from datetime import date

import pytest

from bot.places import Places
from bot.registration.fields import (
    Invalid, read_birth_year, read_event_year, read_name, read_national_id, read_phone,
)

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize("typed", ["0912345678", "0912 345 678", "0912.345.678", "+84 912 345 678", "84912345678", "(091) 234-5678"])
def test_phone_numbers_are_accepted_in_every_common_form_and_stored_normalised(typed):
    assert read_phone(typed) == "0912345678"


@pytest.mark.parametrize("typed", ["12345", "091234567", "09123456789", "0112345678", "abc", ""])
def test_wrong_phone_numbers_are_refused_with_a_reason(typed):
    with pytest.raises(Invalid) as caught:
        read_phone(typed)
    assert caught.value.key == "registration.invalid_phone"


def test_names_are_capitalised_and_a_number_where_a_name_was_asked_gets_its_own_message():
    assert read_name("tran van  binh") == "Tran Van Binh"
    assert read_name("NGUYỄN THỊ HOA") == "Nguyễn Thị Hoa"
    with pytest.raises(Invalid) as caught:
        read_name("1990")
    assert caught.value.key == "registration.invalid_name_digits"
    for bad in ("Binh", "😀 😀", "a b c d e f g h"):
        with pytest.raises(Invalid):
            read_name(bad)


def test_birth_years_are_read_from_four_or_two_digits_and_must_be_plausible():
    assert read_birth_year("1988", TODAY) == 1988
    assert read_birth_year("sinh năm 1988", TODAY) == 1988
    assert read_birth_year("88", TODAY) == 1988
    assert read_birth_year("05", TODAY) == 2005
    with pytest.raises(Invalid) as caught:
        read_birth_year("2015", TODAY)
    assert caught.value.key == "registration.invalid_birth_year_range"
    with pytest.raises(Invalid):
        read_birth_year("không nhớ", TODAY)


def test_national_id_is_exactly_twelve_digits():
    assert read_national_id("001 088 012 345") == "001088012345"
    for bad in ("12345", "0010880123456", "CCCD"):
        with pytest.raises(Invalid):
            read_national_id(bad)


def test_event_year_cannot_be_in_the_future():
    assert read_event_year("năm 2023", TODAY) == 2023
    with pytest.raises(Invalid):
        read_event_year("2027", TODAY)


def test_the_official_list_has_34_provinces_and_3321_communes():
    places = Places()
    assert places.province_count == 34
    assert places.commune_count == 3321


def test_repeated_commune_names_are_told_apart_by_province():
    places = Places()
    chau_thanh = [p for p in places._data[1].values() if p.name == "Xã Châu Thành"]
    assert len(chau_thanh) == 5 and len({p.province_code for p in chau_thanh}) >= 4
    for commune in chau_thanh:
        found = places.search_communes(commune.province_code, "chau thanh")
        assert found[0].province_code == commune.province_code


@pytest.mark.parametrize("province, typed, expected", [
    ("nghe an", "qui hop", 17035),
    ("Nghệ An", "xa quy hop", 17035),
    ("son la", "p to hieu", 3646),
    ("ha noi", "hoan kiem", 70),
])
def test_search_without_accents_and_with_typos_finds_the_commune(province, typed, expected):
    places = Places({"hcm": 79})
    province_code = places.search_provinces(province)[0].code
    assert expected in [p.code for p in places.search_communes(province_code, typed)]


def test_search_offers_at_most_three_and_nothing_for_nonsense():
    places = Places()
    assert len(places.search_communes(40, "chau")) <= 3
    assert places.search_provinces("xyzxyz") == []


def test_an_age_gives_the_year_of_birth():
    assert read_birth_year("36 tuổi", TODAY) == 1990
