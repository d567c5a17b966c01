"""Records in every script the search must mark correctly (Cyrillic, Hangul, Hanzi,
diacritics, curly quotes): shared by the highlighting tests and the reading-room
browser tests, which click through the same documents."""

from __future__ import annotations

from opis.model import Record

RECORDS = [
    Record(id="h-ru", title="Запись беседы",
           text="Посол обсудил итоги августовского пленума и затем встретился с товарищем "
                "Ким Ир Сеном в Пхеньяне.\n", date="1956-09-10", original_language="ru"),
    Record(id="h-ko", title="Minutes of the plenum",
           text="Present were Ch’oe Ch’ang-ik (崔昌益) and Kim Tu-bong (김두봉, 金枓奉), "
                "who spoke first.\n", date="1956-08-30", original_language="ko"),
    Record(id="h-quotes", title="Memorandum on the islands",
           text="He called it “the question of Taiwan” — «вопрос» — and turned to Korea, "
                "where Nguyễn Văn Hiếu had arrived.\n", date="1955-01-07",
           original_language="en"),
    Record(id="h-kim", title="Conversation with the Premier",
           text="Kim Chang-man reported first. Later Kim Il Sung received the delegation; "
                "Kim Il Sung’s speech followed, and Kim Tu-bong kept silent. The cult of "
                "the leader grew, as the cult of personality had in Moscow.\n",
           date="1957-01-09", original_language="en"),
]
