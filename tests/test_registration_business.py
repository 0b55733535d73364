"""A business that employs people after rehab or prison registers as a business: its name and
kind, its representative, its workforce and the share after rehab or prison (checked by the same
rule as the eligibility check), an amount up to the business cap — and a 14-year-old the rules
accept is accepted by the registration too."""

import pytest

from bot.i18n import texts
from bot.registration import service
from storage.db import transaction
from storage.models import utcnow
from tests.registration_helpers import Chat, registrations
from tests.test_registration import saved_state
from tests.test_registration_transcripts import play, re_asks

pytestmark = pytest.mark.db


def month_table(app, commune_code: int = 17035) -> list[dict]:
    from bot.registration.export import month_rows
    from bot.vntime import vietnam_date

    today = vietnam_date(utcnow())
    with transaction(app.engine) as session:
        _, table = month_rows(session=session, cipher=app.dispatcher.cipher, texts=texts("vi"), places=app.brain.places,
                              form=app.brain.content.registration, commune_code=commune_code, year=today.year,
                              month=today.month, today=today)
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def test_a_workshop_owner_registers_his_workshop_as_a_business_up_to_the_business_cap(app):
    lines, out = play(app, "business-owner.txt", "owner")
    assert re_asks(out) <= 1, out
    assert "Mức vay tối đa cho một cơ sở sản xuất, kinh doanh là 2 tỷ đồng" in out
    [row] = registrations(app)
    details = service.load_details(app.dispatcher.cipher, row)
    assert details.registrant == "business" and details.business_name == "Xưởng mộc Minh Phát"
    assert details.business_kind == "household_business" and details.name == "Lê Văn Tám"
    # "có 20 thợ, trong đó 4 đứa từng đi cai nghiện" was said before the registration: not asked again.
    assert (details.workforce_total, details.workforce_beneficiaries) == (20, 4)
    assert "Tổng số lao động?" not in out.replace("bao nhiêu lao động?", "")
    assert details.amount == 2_000_000_000 and details.amount_requested == 2_500_000_000
    assert details.programme == "qd08_2026" and details.purpose == "business" and details.birth_year is None
    [exported] = month_table(app)
    assert exported["Họ và tên"] == "Xưởng mộc Minh Phát (đại diện: Lê Văn Tám)"
    assert exported["Người đăng ký"].startswith("cơ sở sản xuất, kinh doanh — Hộ kinh doanh; 20 lao động")
    assert exported["Số tiền đề nghị"] == 2_000_000_000 and exported["Năm sinh"] == ""


def business_chat(app, chat_id: str) -> Chat:
    """A business owner who has agreed and typed the business's details up to its workforce."""
    chat = Chat(app, chat_id)
    chat.tap("reg:start")
    chat.press("Cơ sở sản xuất, kinh doanh")
    chat.press("Tôi đồng ý")
    chat.answer([("type", "HTX rau sạch Tân An"), ("type", "htx"), ("type", "Nguyễn Thị Lan"), ("type", "0912 345 678"),
                 ("type", "nghệ an"), ("type", "quỳ hợp"), ("press", "Bỏ qua"), ("press", "Người đã chấp hành xong án phạt tù")])
    return chat


def test_a_workforce_below_the_rules_share_is_refused_with_the_rules_own_reason_and_asked_again(app):
    chat = business_chat(app, "share")
    chat.say("40 người")
    chat.say("3")
    assert "7% lao động" in chat.text and "ít nhất 10% tổng số lao động" in chat.text and "QĐ 22/2023/QĐ-TTg" in chat.text
    assert "Gặp cán bộ" in [b.label for r in chat.last for b in r.buttons]
    state = saved_state(app, "share")
    assert state.step == "workforce_total"
    assert "workforce_beneficiaries" not in state.registration.fields
    chat.say("40")
    chat.say("4")  # exactly 10 %: the rule's "at least" includes it
    assert "Đã ghi: 4 trên 40 lao động thuộc diện này (10%)." in chat.text
    assert saved_state(app, "share").step == "description"


def test_more_workers_in_the_group_than_in_the_business_is_asked_again(app):
    chat = business_chat(app, "more")
    chat.say("10")
    chat.say("12")
    assert "lớn hơn tổng số lao động (10 người)" in chat.text
    assert saved_state(app, "more").step == "workforce_beneficiaries"
    chat.say("hai chục")
    assert "Xin gõ một con số" in chat.text


@pytest.mark.parametrize("typed, kind", [
    ("htx", "cooperative"), ("hợp tác xã", "cooperative"), ("cty tnhh", "sme"), ("công ty cổ phần", "sme"),
    ("hộ kinh doanh cá thể", "household_business"), ("ho kd", "household_business"), ("tổ hợp tác", "cooperative_group"),
    ("liên hiệp htx", "cooperative_union"), ("doanh nghiep nho", "sme"), ("2", "sme"),
])
def test_the_kind_of_business_is_read_from_words_or_a_number(app, typed, kind):
    chat = Chat(app, f"kind-{kind}-{len(typed)}")
    chat.tap("reg:start")
    chat.say("đăng ký cho cơ sở của tôi")
    chat.say("đồng ý")
    chat.say("Xưởng mộc Minh Phát")
    chat.say(typed)
    assert saved_state(app, chat.chat_id).registration.fields["business_kind"] == kind


@pytest.mark.parametrize("typed", ["cho cơ sở của tui", "công ty tui", "hợp tác xã", "cho xưởng của tôi", "dang ky cho cty"])
def test_a_business_is_recognised_at_who_registers(app, typed):
    chat = Chat(app, f"who-{len(typed)}-{typed[:3]}")
    chat.tap("reg:start")
    chat.say(typed)
    fields = saved_state(app, chat.chat_id).registration.fields
    assert fields["registrant"] == "business" and fields["purpose"] == "business"


def test_going_back_from_a_business_to_a_person_asks_the_purpose_again(app):
    chat = Chat(app, "back")
    chat.tap("reg:start")
    chat.press("Cơ sở sản xuất, kinh doanh")
    chat.say("quay lại")
    chat.press("Tôi đăng ký cho chính tôi")
    assert "purpose" not in saved_state(app, "back").registration.fields


def test_a_14_year_old_the_check_accepts_is_accepted_by_the_registration(app):
    lines, out = play(app, "mother-son-14.txt", "m14")
    assert "có thể đủ điều kiện" in out and "từ đủ 12 tuổi" in out
    assert "16 tuổi" not in out and re_asks(out) <= 1, out
    [row] = registrations(app)
    details = service.load_details(app.dispatcher.cipher, row)
    assert details.birth_year == 2012 and details.name == "Nguyễn Văn Tý"
    # "con tui" in the first message: a parent registering, neither asked again.
    assert details.registrant == "relative" and details.relationship == "parent"
    assert details.purpose == "vocational_training" and details.amount is None


def test_the_kind_of_business_told_in_the_story_is_not_asked_again(app):
    chat = Chat(app, "kind-told")
    chat.say("anh mở xưởng hàn, là hộ kinh doanh, có 10 thợ, 2 người từng đi cai, muốn đăng ký vay")
    chat.press("Tôi đồng ý")
    assert saved_state(app, "kind-told").registration.fields["business_kind"] == "household_business"
    for text in ("Xưởng hàn Minh Phát", "Nguyễn Văn An", "0912345678", "xã Quỳ Hợp, Nghệ An", "bỏ qua"):
        chat.say(text)
        assert "Cơ sở thuộc loại nào" not in chat.text
