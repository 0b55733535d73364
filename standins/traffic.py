"""Synthetic Telegram traffic shared by the fault tests and the webhook benchmark: a whole
registration as updates, update bodies in the Bot API's JSON, and waiting for a server to be up."""

from __future__ import annotations

import asyncio
import socket
import time

# A whole registration: presses carry payloads, typed answers are texts ({n} makes phones distinct).
REGISTRATION = [
    ("press", "reg:start"), ("press", "reg:who:self"), ("press", "reg:consent:yes"), ("text", "Nguyễn Văn Thử"),
    ("text", "1990"), ("text", "0900 000 {n:03d}"), ("text", "nghe an"), ("press", "reg:prov:40"), ("text", "quy hop"),
    ("press", "reg:comm:17035"), ("press", "reg:skip"), ("press", "reg:prog:qd08_2026"), ("text", "2023"),
    ("press", "reg:purp:business"), ("press", "reg:skip"), ("text", "50tr"), ("press", "reg:skip"), ("press", "reg:confirm"),
]


def update(update_id: int, chat: int, kind: str, value: str) -> dict:
    """A message or a button press (callback query) as Telegram posts it to a webhook."""
    user = {"id": chat, "is_bot": False, "first_name": "B"}
    if kind == "press":
        return {"update_id": update_id, "callback_query": {
            "id": f"q{update_id}", "chat_instance": "1", "data": value, "from": user,
            "message": {"message_id": 1, "date": 1700000000, "text": "x", "chat": {"id": chat, "type": "private"}}}}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1700000000, "text": value,
                                                  "chat": {"id": chat, "type": "private"}, "from": user}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(port: int, process=None, timeout: float = 60) -> None:
    """Until GET /healthz answers 200 (the bot's webhooks answer 503 before that)."""
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the process stopped: {process.stderr.read()[-2000:] if process.stderr else ''}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("not healthy in time")


# The FAQ questions of the benchmarks: short ones as people type them, and hard ones in the style
# of the evaluation sets (long stories, no accents, Telex leftovers, dialect, several questions in
# one message). Written for the benchmarks; none of them is in an evaluation set.
SHORT_QUESTIONS = [
    "lãi suất bao nhiêu", "vay toi da bao nhieu", "đăng ký ở đâu", "ls bn", "ai duoc vay", "thủ tục vay thế nào",
    "ra tu duoc vay ko", "vay hoc nghe duoc bao nhieu",
]
HARD_QUESTIONS = [
    "ad oi e o trung tam bat buoc ve dc 3 thang roi, gio tinh nuoi heo nai, nha nuoc co cho vay ko, vay dc bn va lai bn",
    "Chồng tôi đi cai nghiện bắt buộc hai năm, về từ hồi tháng 4. Anh ấy muốn làm lại cuộc đời, tính mở tiệm sửa xe "
    "máy nhỏ trước nhà. Cho tôi hỏi anh ấy có được vay theo chính sách mới không, được bao nhiêu và phải làm giấy tờ gì?",
    "tooi mowis ra tuf thangs truowcs, cos giaays chuwngs nhaanj chaaps hanhf xong ans, vay dduwowcj khoong",
    "O ơi cho tui hỏi, thằng con nhà tui đi cai trên tỉnh mới về, rứa hắn có được vay chi không, mô lập danh sách?",
    "Ổng nhà tui ở tù về được nửa năm, giờ tính vay vốn mua ghe đánh cá, nghe nói được vay ưu đãi, thiệt hông dzậy?",
    "e 17 tuoi, cai xong hoi tet, muon vay tien di hoc nghe sua dien thoai thi co dc ko hay phai doi du 18",
    "Năm 2016 tôi ra khỏi trung tâm cai nghiện, nhưng đến năm 2018 xã mới ra quyết định quản lý sau cai. Tính từ "
    "lúc ra trại thì đã gần 10 năm, tính từ quyết định thì chưa. Vậy tôi còn được vay không, mốc tính từ ngày nào?",
    "Tôi làm chủ hộ kinh doanh làm bánh tráng, có 6 người làm thì 2 người là người sau cai nghiện, có hợp đồng lao "
    "động đàng hoàng. Tôi muốn vay để mua máy tráng bánh, hộ kinh doanh như tôi được vay tối đa bao nhiêu, lãi bao nhiêu?",
    "cho e hoi ng dieu tri methadone du lieu trinh roi ngung han, nay muon vay von chan nuoi bo thi co thuoc dien ko a",
    "Thế người cai xong như thằng em nhà cháu thì vay được bao lâu, mấy năm phải trả hết hả bác?",
    "vay roi ma lam an that bat, ko tra dc no thi co bi bat di tu lai ko ad, e lo qua",
    "Anh tôi đi tù 6 năm, ra tù tháng 8 năm 2021, có giấy chứng nhận chấp hành xong án. Anh về quê làm ruộng, giờ tính "
    "vay mua máy gặt đập liên hợp. Tính tới nay anh ấy còn trong thời hạn được vay không, và có cần người bảo lãnh không?",
    "Dạ con cai xong rồi, ở nhà phụ ba má bán cà phê, giờ con muốn vay để mở xe cà phê riêng, có cần thế chấp sổ đỏ không dạ?",
    "toi la giam doc hop tac xa, co 25 xa vien trong do 5 nguoi sau cai co hop dong, hop tac xa vay duoc toi da bao nhieu",
    "Mẹ cháu nhờ hỏi: cậu út đã cai tự nguyện tại cộng đồng, có giấy xác nhận hoàn thành, giờ muốn vay mở lò bánh mì. "
    "Cậu ấy phải làm đơn ở đâu, nộp cho ai, bao lâu thì có tiền?",
    "vowj tooi baor ngwowif cai xong laf dduwowcj vay 200 trieeuj, cos ddungs khoong hay chir 100",
]
FAQ_QUESTIONS = SHORT_QUESTIONS + HARD_QUESTIONS
# A menu walk: each press answers with a new message (and stops the button's spinner).
PRESSES = [("press", "menu:show"), ("press", "menu:faq"), ("press", "elig:start"), ("press", "menu:show")]
# People rarely type the same message twice: each question is asked with one of these openings and
# endings, so no cache keyed by the text makes the benchmark cheaper than real traffic.
OPENINGS = ["", "cho em hỏi, ", "ad ơi ", "Xin chào, cho hỏi ", "dạ ", "chao ad, cho hoi ", "Bác ơi cho cháu hỏi ",
            "mình hỏi chút, ", "Chào anh chị, ", "e hoi chut "]
ENDINGS = ["", " ạ", "?", " vậy ad", " nhé", " a", "...", "??", " ad oi", " với ạ", " nha", " z"]


def faq_question(n: int) -> str:
    """The n-th question of the mix: every question in turn, with a different opening and ending each
    round (distinct texts for the first len(FAQ_QUESTIONS) × 120 questions)."""
    rounds = n // len(FAQ_QUESTIONS)
    return (OPENINGS[rounds % len(OPENINGS)] + FAQ_QUESTIONS[n % len(FAQ_QUESTIONS)]
            + ENDINGS[(rounds // len(OPENINGS)) % len(ENDINGS)])
