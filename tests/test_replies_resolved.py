"""Every reply resolved: each step of the registration, "Gặp cán bộ", the officers' side and the
eligibility walkthrough is walked (answers, wrong answers, questions on the way, going back,
coming back days later), and nothing sent may show a catalog key or an unfilled {placeholder}."""

import json
import re

import pytest

from bot.types import Kind, Reply
from tests.conftest import make_message, run
from tests.registration_helpers import Chat, inbox_of, invite, registrations
from tests.test_i18n import AREAS

pytestmark = pytest.mark.db

RAW_KEY = re.compile(rf"^[a-z_]+\.[a-z_.]+$|\b(?:{AREAS})\.[a-z_]+(?:\.[a-z_]+)*\b")
PLACEHOLDER = re.compile(r"\{[A-Za-z_][\w.:]*\}")


def unresolved(text: str) -> str | None:
    found = RAW_KEY.search(text) or PLACEHOLDER.search(text)
    return found.group(0) if found else None


class Walk(Chat):
    """A chat that keeps every reply it got, and can close and reopen the conversation."""

    seen: list[tuple[str, str]]

    def __init__(self, app, chat_id: str, seen: list) -> None:
        super().__init__(app, chat_id)
        self.seen = seen

    def _keep(self, replies: list[Reply], what: str) -> list[Reply]:
        for reply in replies:
            self.seen.append((what, reply.text))
            self.seen.extend((what, b.label) for b in reply.buttons)
        return replies

    def say(self, text: str) -> list[Reply]:
        return self._keep(super().say(text), f"{self.chat_id} typed {text[:30]!r}")

    def tap(self, payload: str) -> list[Reply]:
        return self._keep(super().tap(payload), f"{self.chat_id} pressed {payload}")

    def reopen(self) -> list[Reply]:
        """Comes back (days later): the pending question again — and the conversation goes on from it."""
        replies = run(self.app.dispatcher.dispatch(make_message(kind=Kind.OPEN, chat_id=self.chat_id)))
        self.last = self._keep(replies, f"{self.chat_id} reopened at {self.step}")
        return self.last

    @property
    def step(self) -> str:
        from tests.test_registration import saved_state

        state = saved_state(self.app, self.chat_id)
        return f"{state.flow}/{state.step}"

    def each(self, steps) -> None:
        """Answers, reopening the chat before every answer."""
        for kind, value in steps:
            self.reopen()
            self.press(value) if kind == "press" else self.say(value)


@pytest.fixture
def seen():
    return []


def check(seen: list[tuple[str, str]]) -> None:
    bad = [(where, text[:120], unresolved(text)) for where, text in seen if unresolved(text)]
    assert not bad, "\n".join(f"{where}: {found!r} in {text!r}" for where, text, found in bad)
    assert len(seen) > 50, "the walk saw almost nothing"


def edit_each(chat: "Walk", answers: dict[str, list[str]]) -> None:
    """At "which field to change": each field in turn (reopening the chat), answered, back to the
    summary; then "Không sửa gì"."""
    for label, typed in answers.items():
        chat.press(label)
        chat.reopen()
        for answer in typed:
            chat.say(answer)
        assert "Bạn kiểm tra lại thông tin" in chat.text, (label, chat.text)
        chat.press("Sửa một mục")
    chat.press("Không sửa gì")


def test_the_unresolved_check_sees_raw_keys_and_placeholders():
    for text in ("registration.ask_repeat", "Để tiếp tục: registration.ask_repeat", "Mã {reference}", "Tối đa {qd08.min_age}"):
        assert unresolved(text), text
    for text in ("Căn cứ: QĐ 08/2026/QĐ-TTg", "t.me/bot?start=ABC", "200.000.000 đ", "ví dụ: 0912 345 678", "QĐ 22/2023/QĐ-TTg."):
        assert unresolved(text) is None, text


def test_every_registration_step_resolves_its_texts(app, seen):
    chat = Walk(app, "r", seen)
    chat.tap("reg:start")
    chat.reopen()
    chat.say("abc xyz")  # unclear
    chat.say("quay lại")  # nothing before
    chat.press("Tôi đăng ký giúp người thân")
    chat.reopen()
    chat.say("abc xyz")
    chat.say("quay lại")
    chat.press("Tôi đăng ký giúp người thân")
    chat.say("tui là má nó")
    chat.reopen()
    chat.say("hmm để xem")
    chat.say("lãi suất bao nhiêu?")
    chat.say("dạ tui đồng ý")
    chat.reopen()
    chat.say("1990")  # digits in a name
    chat.say("tui là má nó")  # odd: confirm
    chat.reopen()
    chat.say("quay lại")
    chat.say("Hùng")
    chat.say("không")
    chat.say("tên nó là Trần Văn Hùng")
    chat.reopen()
    for wrong in ("năm ngoái", "2030", "2024"):
        chat.say(wrong)
    chat.say("nó sinh năm 98")
    chat.reopen()
    for wrong in ("0123", "0987654321 hoặc 0912345678", "😀"):
        chat.say(wrong)
    chat.say("sdt của tui là 0987 654 321")
    chat.reopen()
    chat.say("xyzxyz")  # no such province
    chat.say("nghe")  # close names
    chat.reopen()
    chat.press("Nghệ An")
    chat.reopen()
    chat.say("zzzzqqq")
    chat.say("chau")
    chat.reopen()
    chat.press("Gõ lại tên khác")
    chat.press("Chọn tỉnh khác")
    chat.say("nghệ an")
    chat.say("quỳ hợp")
    chat.reopen()
    chat.say("x" * 400)
    chat.say("thôi khỏi")
    chat.reopen()
    chat.say("abc xyz")
    chat.say("cai nghiện")
    chat.reopen()
    chat.say("2050")
    chat.say("năm 2023")
    chat.reopen()
    chat.say("abc xyz")
    chat.say("nuôi heo")
    chat.reopen()
    chat.say("9" * 40)
    chat.say("30-50 triệu")
    chat.reopen()
    chat.say("abc xyz")
    chat.say("quay lại")
    chat.say("1,5 tỷ")  # above the cap
    chat.reopen()
    chat.say("123")
    chat.say("thôi khỏi")
    chat.reopen()
    chat.say("abc xyz")
    chat.say("sửa")
    chat.reopen()
    chat.say("abc xyz")
    edit_each(chat, {"Số điện thoại": ["0987 000 111"], "Năm sinh": ["2016", "1998"], "Chương trình": ["ra tù", "2024", "80 triệu"],
                     "Mục đích vay": ["học nghề", "20 triệu"], "Xã/phường": ["nghệ an", "quỳ hợp"], "Thôn/tổ": ["Bản Mới"],
                     "Mô tả": ["học sửa xe"], "Số định danh": ["001 088 012 345"], "Họ và tên": ["Trần Văn Hùng"],
                     "Số tiền đề nghị": ["không biết"], "Năm quyết định/ra tù": ["không nhớ"]})
    chat.say("hủy")
    chat.reopen()
    chat.say("abc xyz")
    chat.say("không")
    chat.press("Hủy đăng ký")
    chat.press("Không, quay lại")
    chat.say("ừ gửi đi")
    chat.tap("reg:confirm")  # pressed again
    chat.tap("reg:cancel")
    # The same phone in the same commune again: the repeat question, then update.
    chat.tap("reg:start")
    chat.press("Tôi đăng ký cho chính tôi")
    chat.press("Tôi đồng ý")
    chat.answer([("type", "Trần Văn Hùng"), ("type", "1998"), ("type", "0987 000 111"), ("type", "nghệ an"), ("type", "quỳ hợp"),
                 ("press", "Bỏ qua"), ("press", "Người sau cai nghiện ma túy"), ("type", "2023"), ("press", "Học nghề"),
                 ("press", "Bỏ qua"), ("type", "20tr"), ("press", "Bỏ qua"), ("press", "Đúng, gửi đăng ký")])
    chat.reopen()
    chat.say("abc xyz")
    chat.say("có")
    # Leaving and coming back; restart; a stale button; declining.
    chat.tap("reg:start")
    chat.press("Tôi đăng ký cho chính tôi")
    chat.say("đồng ý")
    chat.say("thoát")
    chat.reopen()
    chat.tap("reg:start")
    chat.press("Làm tiếp")
    chat.say("làm lại")
    chat.press("Làm lại từ đầu")
    chat.tap("reg:prog:qd08_2026")  # stale
    chat.say("tôi")
    chat.say("không đồng ý")
    chat.tap("reg:consent:yes")  # stale, nothing in progress
    check(seen)


def test_every_handoff_and_officer_step_resolves_its_texts(app, seen):
    from bot.registration.demo import fill
    from storage.db import transaction
    from storage.models import utcnow

    with transaction(app.engine) as session:
        fill(session=session, cipher=app.dispatcher.cipher, commune_code=17035, province_code=40, count=12, now=utcnow())
    officer = Walk(app, "officer", seen)
    officer.say("/canbo WRONGCODE")
    officer.say(f"/canbo {invite(app)}")
    for typed in ("/start", "menu", "/canbo"):
        officer.say(typed)
    officer.reopen()
    officer.press("Menu cho người dân")
    officer.say("menu")
    officer.press("Danh sách chờ xác minh")
    officer.press("Trang sau")
    officer.press("Trang trước")
    officer.press(officer.labels[0])
    officer.press("Thêm ghi chú")
    officer.say("Đã gọi điện")
    officer.press("Cần bổ sung thông tin")
    officer.say("Xin mang giấy xác nhận cư trú")
    officer.press(officer.labels[0])
    officer.press("Chưa đủ điều kiện")
    officer.say("thoát")
    officer.press("Danh sách chờ xác minh")
    officer.press(officer.labels[0])
    officer.press("Chưa đủ điều kiện")
    officer.say("Không cư trú tại xã")
    officer.press(officer.labels[0])
    officer.press("Chưa đủ điều kiện")
    officer.press("Lý do khác")
    officer.reopen()
    officer.say("menu")
    officer.press(officer.labels[0])
    officer.press(officer.labels[0])
    officer.press("Xác minh")
    rows = registrations(app)
    officer.tap(f"off:ok:{rows[0].id}")  # already decided, or no longer pending
    officer.press("Trang cán bộ")
    officer.press("Xuất danh sách tháng này")
    officer.press("Trang cán bộ")
    officer.press("Câu hỏi của người dân")

    person = Walk(app, "person", seen)
    person.tap("ask:start")
    person.each([("type", "xyzxyz"), ("type", "nghe"), ("press", "Nghệ An"), ("type", "chau"), ("press", "Gõ lại tên khác"),
                 ("type", "quỳ hợp")])
    person.reopen()
    person.press("Hỏi cán bộ xã khác")
    person.say("nghệ an")
    person.say("quỳ hợp")
    person.reopen()
    person.say("x" * 1200)
    person.say("Khi nào có kết quả đăng ký?")
    person.reopen()
    person.say("abc")
    person.say("dạ có")
    person.reopen()
    person.say("0123")
    person.say("số của tôi 0912 000 111")
    person.tap("ask:share:yes")  # stale
    person.tap("ask:start")
    person.tap("ask:stop")
    for notice in inbox_of(app, "officer"):
        seen.extend(("officer notice", r["text"]) for r in json.loads(notice))

    officer.press("Trang cán bộ")
    officer.press("Câu hỏi của người dân")
    officer.press("Số ")
    officer.press("Trả lời")
    officer.say("Khoảng hai tuần sau khi công an xã lập danh sách.")
    officer.tap("off:q:1")
    officer.tap("off:reply:1")  # already answered
    for chat_id in ("person", *{r.chat_id for r in registrations(app)}):
        for notice in inbox_of(app, chat_id, channel="test") + inbox_of(app, chat_id, channel="demo"):
            seen.extend((f"notice to {chat_id}", r["text"]) for r in json.loads(notice))

    stranger = Walk(app, "stranger", seen)
    stranger.say("/canbo")
    stranger.tap(f"off:ok:{rows[0].id}")
    stranger.tap("off:list:17035:0")
    check(seen)


def test_every_eligibility_step_resolves_its_texts(app, seen):
    chat = Walk(app, "e", seen)
    chat.tap("elig:start")
    chat.each([("type", "cho con trai tôi"), ("type", "sau cai nghiện"), ("type", "tự nguyện"), ("type", "năm 2023"),
               ("type", "có"), ("type", "16"), ("type", "có"), ("type", "học nghề"), ("type", "không")])
    chat.tap("elig:start")
    chat.say("quay lại")
    chat.say("thoát")
    chat.tap("elig:start")
    chat.say("1")
    chat.say("làm lại")
    for answers in (["bản thân", "sau cai nghiện", "bắt buộc", "11 năm"],
                    ["cho tôi", "cai nghiện", "tự nguyện", "không nhớ", "30 tuổi", "có", "kinh doanh", "50tr"],
                    ["công ty", "sau cai nghiện", "có", "20", "2", "có", "2,5 tỷ"],
                    ["cho tôi", "ra tù", "năm 2024", "có", "có", "kinh doanh", "30-50 triệu"],
                    ["cho con tôi", "cai nghiện", "tự nguyện", "1 năm", "11", "có"]):
        chat.tap("elig:start")
        chat.press("Làm lại") if any(b.label.startswith("Làm lại") for b in chat.last[-1].buttons) else None
        for answer in answers:
            chat.say(answer)
        chat.reopen()
    registered = [b for r in chat.last for b in r.buttons if b.payload == "reg:start"]
    if registered:
        chat.tap("reg:start")
    check(seen)


def test_every_business_registration_step_resolves_its_texts(app, seen):
    chat = Walk(app, "biz", seen)
    chat.tap("reg:start")
    chat.press("Cơ sở sản xuất, kinh doanh")
    chat.reopen()
    chat.say("đồng ý")
    chat.reopen()
    chat.say("x" * 300)  # too long a name
    chat.say("Xưởng mộc Minh Phát")
    chat.reopen()
    chat.say("abc xyz")  # no kind
    chat.say("hộ kinh doanh")
    chat.reopen()
    chat.say("Lê Văn Tám")
    chat.answer([("type", "0987 654 321"), ("type", "nghệ an"), ("type", "quỳ hợp")])
    chat.reopen()
    chat.press("Bỏ qua")
    chat.reopen()
    chat.say("cai nghiện")
    chat.reopen()
    chat.say("nhiều lắm")  # no number
    chat.say("20")
    chat.reopen()
    chat.say("30")  # more than the workforce
    chat.say("1")  # below the share
    chat.say("20")
    chat.say("4")
    chat.reopen()
    chat.press("Bỏ qua")
    chat.reopen()
    chat.say("3 tỷ")  # above the business cap
    chat.reopen()
    chat.press("Sửa một mục")
    edit_each(chat, {"Tên cơ sở": ["HTX Tân An"], "Loại cơ sở": ["htx"], "Người đại diện": ["Nguyễn Thị Lan"],
                     "Lao động thuộc diện": ["ra tù", "2 tỷ"], "Tổng số lao động": ["50", "5"]})
    chat.say("ừ gửi đi")
    chat.tap("me:data")
    check(seen)
