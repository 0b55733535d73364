"""Reading registration fields as people type them, and the official list of places."""

from datetime import date

import pytest

from bot.places import Places
from bot.registration.fields import (
    Invalid,
    exact_commune,
    exact_province,
    name_looks_odd,
    read_birth_year,
    read_event_year,
    read_name,
    read_national_id,
    read_phone,
    read_relationship,
    read_summary,
    read_who,
    read_yes_no,
    says_back,
    says_skip,
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
    for bad in ("😀 😀", "a b c d e f g h"):
        with pytest.raises(Invalid):
            read_name(bad)


def test_birth_years_are_read_from_four_or_two_digits_and_must_be_plausible():
    assert read_birth_year("1988", TODAY) == 1988
    assert read_birth_year("sinh năm 1988", TODAY) == 1988
    assert read_birth_year("88", TODAY) == 1988
    assert read_birth_year("05", TODAY) == 2005
    with pytest.raises(Invalid) as caught:
        read_birth_year("2030", TODAY)
    assert caught.value.key == "registration.invalid_birth_year_range"
    with pytest.raises(Invalid):
        read_birth_year("không nhớ", TODAY)


def test_national_id_is_exactly_twelve_digits():
    assert read_national_id("001 088 012 345") == "001088012345"
    for bad in ("12345", "0010880123456", "CCCD"):
        with pytest.raises(Invalid):
            read_national_id(bad)


@pytest.mark.parametrize("typed, back", [("năm ngoái", 1), ("nam ngoai", 1), ("năm ni", 0), ("năm nay", 0), ("năm kia", 2),
                                         ("2 năm trước", 2), ("tết năm ngoái", 1)])
def test_event_year_said_as_people_say_it(typed, back):
    assert read_event_year(typed, TODAY) == TODAY.year - back


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


# -- replies in people's own words (at least ten phrasings each) ------------------------------------


@pytest.mark.parametrize("typed", ["dạ", "ừ", "ok", "được", "đồng ý", "tui đồng ý", "dạ tui đồng ý", "vâng em đồng ý ạ", "oke",
                                   "có", "uh", "đồng ý ạ", "ừ được", "chắc chắn rồi", "dong y", "vang", "yes",
                                   "tui đồng ý cung cấp thông tin"])
def test_yes_and_consent_in_many_words(typed):
    assert read_yes_no(typed) is True


@pytest.mark.parametrize("typed", ["không", "ko", "k", "không đồng ý", "tui không đồng ý", "từ chối", "dạ không", "hông",
                                   "không muốn", "chưa", "khong dong y", "thôi", "hong, tui hong muon dua thong tin",
                                   "tôi không muốn cung cấp thông tin"])
def test_no_and_decline_in_many_words(typed):
    assert read_yes_no(typed) is False


@pytest.mark.parametrize("typed", ["không biết", "lãi suất bao nhiêu", "có lãi suất bao nhiêu", "được không?", "tên tôi là An", ""])
def test_a_question_or_anything_more_than_yes_or_no_is_neither(typed):
    assert read_yes_no(typed) is None


@pytest.mark.parametrize("typed, name", [
    ("tên tôi là Lê Văn Ba", "Lê Văn Ba"), ("tên nó là Trần Văn Hùng", "Trần Văn Hùng"), ("em tên Nguyễn Thị Hoa", "Nguyễn Thị Hoa"),
    ("tôi là Nguyễn Văn An", "Nguyễn Văn An"), ("con tên Trần Văn Bình", "Trần Văn Bình"), ("họ tên: Phạm Văn Đức", "Phạm Văn Đức"),
    ("dạ tên cháu là Trần Văn Hùng ạ", "Trần Văn Hùng"), ("nó tên là Đặng Minh Bảo", "Đặng Minh Bảo"),
    ("Họ và tên: Võ Thị Sáu", "Võ Thị Sáu"), ("ten no la tran van hung", "Tran Van Hung"), ("tên Hồ Văn Nam", "Hồ Văn Nam"),
    ("Nguyễn Thị Hà", "Nguyễn Thị Hà"), ("Chu Văn An", "Chu Văn An"),
])
def test_a_name_after_a_lead_in_is_only_the_name(typed, name):
    assert read_name(typed) == name
    assert not name_looks_odd(read_name(typed))


@pytest.mark.parametrize("typed", ["Hùng", "tui là má nó", "không biết", "hỏi lãi suất", "Nguyễnnnnnn Văn A", "tên gì cũng được",
                                   "Cho Tôi Hỏi", "ok", "mình không nhớ", "Trần Văn Hùng Nguyễn Thị Lan"])
def test_a_name_that_looks_odd_is_to_be_confirmed(typed):
    assert name_looks_odd(read_name(typed))


@pytest.mark.parametrize("typed, year", [
    ("sinh năm 98", 1998), ("98", 1998), ("năm 1998", 1998), ("1998", 1998), ("26 tuổi", 2000), ("nó sinh năm 98", 1998),
    ("đẻ năm 2000", 2000), ("sn 95", 1995), ("05/03/1998", 1998), ("dạ 98 ạ", 1998), ("năm nay 26 tuổi", 2000), ("sinh 1988", 1988),
])
def test_years_of_birth_in_many_words(typed, year):
    assert read_birth_year(typed, TODAY) == year


def test_the_minimum_age_is_the_one_given_and_a_year_that_can_be_that_age_passes():
    assert read_birth_year("2014", TODAY, min_age=12) == 2014  # 11 or 12 this year: the officer checks
    assert read_birth_year("2012", TODAY, min_age=12) == 2012  # 14: the rules accept from 12
    with pytest.raises(Invalid) as caught:
        read_birth_year("2015", TODAY, min_age=12)
    assert caught.value.key == "registration.invalid_birth_year_young" and caught.value.values["min_age"] == 12
    with pytest.raises(Invalid) as caught:
        read_birth_year("1900", TODAY)
    assert caught.value.key == "registration.invalid_birth_year_range"


@pytest.mark.parametrize("typed", ["sdt của tui là 0987 654 321", "số em 0987.654.321", "0987-654-321", "+84 987 654 321",
                                   "đt: 0987654321", "0987654321", "zalo 0987654321 nha", "84987654321", "(+84) 987-654-321",
                                   "số điện thoại của con trai tôi: 0987 654 321 ạ", "dạ 0987 654 321"])
def test_phone_numbers_after_a_lead_in_and_with_any_separator(typed):
    assert read_phone(typed) == "0987654321"


def test_two_different_phone_numbers_ask_for_one():
    with pytest.raises(Invalid) as caught:
        read_phone("0987654321 hoặc 0912345678")
    assert caught.value.key == "registration.two_phones"


def test_an_id_number_after_a_lead_in():
    assert read_national_id("số CCCD là 001 088 012 345") == "001088012345"


@pytest.mark.parametrize("typed", ["thôi khỏi", "không có", "ko", "khỏi", "bỏ qua", "không cần", "chưa có", "không muốn ghi", "k",
                                   "không có thôn", "dạ không có", "thoi khoi"])
def test_an_optional_field_is_skipped_in_many_words(typed):
    assert says_skip(typed)


@pytest.mark.parametrize("typed", ["thôn 3", "Khối 5", "Bản Khoong", "nuôi heo", "001088012345", "không có tiền mua giống"])
def test_an_answer_to_an_optional_field_is_not_a_skip(typed):
    assert not says_skip(typed)


@pytest.mark.parametrize("typed", ["gửi đi", "ừ gửi", "ok gửi", "gửi", "đúng rồi gửi đi", "xác nhận", "ok", "đúng rồi", "ừ gửi đi",
                                   "dạ gửi giúp tôi", "gửi luôn", "đúng, gửi đi"])
def test_sending_at_the_summary_in_many_words(typed):
    assert read_summary(typed) == "confirm"


@pytest.mark.parametrize("typed, choice", [("sửa", "change"), ("sai rồi", "change"), ("không", "change"), ("sửa lại", "change"),
                                           ("hủy", "cancel"), ("không gửi", "cancel"), ("đừng gửi", "cancel"),
                                           ("hủy đăng ký", "cancel"), ("lãi suất bao nhiêu", None), ("gửi không?", None)])
def test_changing_or_cancelling_at_the_summary(typed, choice):
    assert read_summary(typed) == choice


@pytest.fixture(scope="module")
def relationships():
    from content import load_content

    return load_content().registration.relationships


@pytest.mark.parametrize("typed, expected", [
    ("cho thằng con trai tui", ("relative", "parent")), ("đăng ký cho con tôi", ("relative", "parent")),
    ("tui là má nó", ("relative", "parent")), ("tôi là mẹ nó", ("relative", "parent")), ("con tôi", ("relative", "parent")),
    ("cho vợ tôi", ("relative", "spouse")), ("cho bố tôi", ("relative", "child")), ("cho em trai tôi", ("relative", "sibling")),
    ("cho cháu tôi", ("relative", "other")), ("cho người nhà", ("relative", None)), ("tôi là vợ anh ấy", ("relative", "spouse")),
    ("cho thằng con trai tui, tui là má nó", ("relative", "parent")),
    ("cho tôi", ("self", None)), ("chính tôi", ("self", None)), ("tôi", ("self", None)), ("bản thân", ("self", None)),
    ("cho mình", ("self", None)), ("lãi suất bao nhiêu", None),
])
def test_who_registers_in_many_words(relationships, typed, expected):
    """The relationship is the registrant's to the person: a mother registering her son is 'parent'."""
    assert read_who(typed, relationships) == expected


@pytest.mark.parametrize("typed, expected", [
    ("tui là má nó", "parent"), ("tôi là mẹ nó", "parent"), ("mẹ", "parent"), ("má", "parent"), ("bố nó", "parent"),
    ("con trai tôi", "parent"), ("vợ tôi", "spouse"), ("vo toi", "spouse"), ("mẹ chồng tôi", "other"), ("con", "child"),
    ("tôi là con", "child"), ("anh trai", "sibling"), ("tôi là chị nó", "sibling"), ("khác", "other"), ("thời tiết", None),
])
def test_the_relationship_in_many_words(relationships, typed, expected):
    assert read_relationship(typed, relationships) == expected


@pytest.mark.parametrize("typed", ["quay lại", "sửa câu trước", "trở lại", "lùi lại", "cho tôi sửa câu trước", "quay lại câu trước",
                                   "câu trước", "dạ quay lại", "back", "sửa lại"])
def test_going_back_one_step_in_many_words(typed):
    assert says_back(typed)


def test_a_place_typed_exactly_is_found_without_a_choice_and_a_typo_is_not():
    places = Places({"hcm": 79})
    assert exact_province(places, "nghệ an").code == 40
    assert exact_province(places, "hcm").code == 79
    assert exact_commune(places, 40, "quỳ hợp").code == 17035
    assert exact_commune(places, 40, "xã Quỳ Hợp").code == 17035
    assert exact_commune(places, 40, "qui hop") is None  # a typo: choose among the close names
    assert exact_province(places, "nghe") is None


@pytest.mark.parametrize("typed", ["nuôi bò", "vay ba trăm triệu nuôi bò", "mua bò giống", "chi phí thức ăn", "ba trăm triệu"])
def test_cattle_and_amounts_in_words_name_no_kin(relationships, typed):
    """'bò' (cattle) is not 'bố', and 'ba trăm triệu' (three hundred million) is not 'bà'."""
    assert read_relationship(typed, relationships) is None


@pytest.mark.parametrize("typed, province, commune", [
    ("xã Quỳ Hợp Nghệ An", 40, 17035),  # no comma, as speech-to-text types it
    ("quy hop nghe an", 40, 17035),
    ("xã Quỳ Hợp, Nghệ An", 40, 17035),
    ("nghệ an", None, None),  # one name alone is the province question's own answer
])
def test_a_commune_and_its_province_typed_together_are_both_found(typed, province, commune):
    from bot.registration.fields import place_in_parts

    found_province, found_commune = place_in_parts(Places(), typed)
    assert (found_province.code if found_province else None, found_commune.code if found_commune else None) == (province, commune)


def test_a_verb_spelled_like_a_kin_word_is_not_a_relative():
    from bot.registration.fields import read_relationship
    from content.loader import load_content

    choices = load_content().registration.relationships
    # "mở tiệm" folds to "mo", as "mợ" (an aunt) does: the son is the only relative named.
    assert read_relationship("thằng con trai tui mới đi cai về, giờ nó muốn vay tiền mở tiệm sửa xe máy", choices, asked="who") == "parent"
