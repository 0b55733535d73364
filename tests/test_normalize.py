"""The one normalisation: people type without accents, with abbreviations, Telex leftovers and typos."""

import pytest


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("Lãi suất bao nhiêu?", "lai suat bao nhieu"),
        ("lãi xuất bao nhiêu", "lai suat bao nhieu"),
        ("ls bn", "lai suat bao nhieu"),
        ("laix suaats vay voons", "lai suat vay von"),
        ("vay dc ko", "vay duoc khong"),
        ("vay tối đa bn", "vay toida bao nhieu"),
        ("vay toi da bao nhieu", "vay toida bao nhieu"),
        ("nhiều nhất được vay bao nhiêu", "toida duoc vay bao nhieu"),
        ("ĐĂNG KÝ ở đâu", "dang ky o dau"),
        # One-word dialect words typed with accents, and numbers said in words.
        ("lãi răng", "lai sao"),
        ("rứa thì vay được không", "the vay duoc khong"),
        ("hạn mười năm", "han 10 so nam"),
    ],
)
def test_typed_variants_normalise_to_one_form(brain, typed, expected):
    assert brain.normalizer(typed).text == expected


def test_decomposed_and_precomposed_unicode_are_the_same(brain):
    import unicodedata

    text = "Người sau cai nghiện được vay bao nhiêu"
    assert brain.normalizer(unicodedata.normalize("NFD", text)) == brain.normalizer(text)


def test_zero_width_and_lookalike_d_are_ignored(brain):
    assert brain.normalizer("đăng\u200b ký").text == brain.normalizer("ðăng ký").text == "dang ky"


def test_trailing_vay_after_a_question_word_is_the_particle_vay(brain):
    # "bao nhiêu vậy" typed without accents is "bao nhieu vay": the last word is not "to borrow".
    assert brain.normalizer("lai suat bao nhieu vay").text == "lai suat bao nhieu"
    assert brain.normalizer("ai duoc vay").text.endswith("vay")


def test_accented_pronoun_is_dropped_but_the_same_letters_in_toi_da_are_kept(brain):
    assert brain.normalizer("tôi được vay tối đa bao nhiêu").text == "duoc vay toida bao nhieu"


def test_amounts_durations_and_years_match_whatever_the_figure(brain):
    # "vay 300 triệu" must find a phrasing written with "200 triệu"; "cai năm 2012" one with 2015.
    assert brain.normalizer("50tr").text == "50 so trieu"
    assert brain.normalizer("500k").text == "500 so nghin"
    assert brain.normalizer("200.000.000 đồng").text == "200000000 so dong"
    assert set(brain.normalizer("cai nghiện 8 năm").tokens) & set(brain.normalizer("cai nghien 3 nam").tokens) >= {"so", "nam"}
    assert brain.normalizer("năm 2012").text == brain.normalizer("nam 2019").text == "nam namso"
    assert brain.normalizer("ngày 05").text == "ngay 5"


def test_vni_leftovers_are_decoded(brain):
    assert brain.normalizer("d9u7o75c vay bao nhie6u tie62n").text == "duoc vay bao nhieu tien"


def test_typo_of_a_faq_word_is_corrected(brain):
    assert "nghien" in brain.normalizer("cai ngien xong").tokens


def test_long_message_is_bounded(brain):
    tokens = brain.normalizer("vay " * 10_000).tokens
    assert 0 < len(tokens) < 1000


@pytest.mark.parametrize(
    "typed, kept",
    [("vay mua nhà", "nha"), ("công an xã", "cong an xa"), ("nơi cư trú", "cu tru"), ("vay tí vốn", "von")],
)
def test_lexicon_never_garbles_real_words(brain, typed, kept):
    assert kept in brain.normalizer(typed).text


def test_programme_named_by_a_long_phrase_is_recognised(brain):
    factors = brain.matcher._programme_factors(brain.normalizer("người đang thi hành án phạt tù").tokens)
    assert factors.get("qd08", 1.0) < 1.0
