"""Records built by hand for the export tests.

``reference_record`` is the 1956 Soviet embassy report (Wilson Center record 114165,
shared/corpus/wcda-text/000_7ac954bda16cec6a.txt) with a short ``text`` taken from the
document that holds one example of every annotation kind. Offsets are computed from the
text, so each annotation slices exactly the words it names.
"""

from __future__ import annotations

from datetime import date

from opis.model.entity import Mention
from opis.model.record import (
    Annotation,
    ArchivalReference,
    Author,
    Contents,
    Contributor,
    Edition,
    Record,
)
from opis.services.export.mapping import ExportContext

REFERENCE_TITLE = (
    "Communist Party of the Soviet Union Central Committee Report on the Situation in the "
    "Korean Workers' Party and the Democratic People's Republic of Korea"
)
REFERENCE_CITATION = (
    '"Communist Party of the Soviet Union Central Committee Report on the Situation in the '
    "Korean Workers' Party and the Democratic People's Republic of Korea\", December 28, "
    "1956, Wilson Center Digital Archive, RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17. "
    "Obtained by James F. Person and translated by Gary Goldberg"
)
REFERENCE_SUMMARY = (
    "The Soviet embassy in Pyongyang provides a description of the events leading up to the "
    "1956 August Plenum, the strained relations between the DPRK and the PRC following the "
    "joint Sino-Soviet intervention, and North Korean development strategies."
)
REFERENCE_TEXT = """Stamp: [CPSU CC
00215
?9 Jan 1957
[handwritten: DPRK]
Subject to return to
[2-3 words typed over] CPSU CC]

THE SITUATION IN THE KWP AND THE DPRK

[Handwritten at the top left of the first page: "To Cde. Ponomarev. Suslov"; \
handwritten at the bottom of the first page: "To the archives. An informative \
document used in the work [1-2 words illegible]. Shcherbakov. 15.II.57"]

Kim Du-bong [Kim Tu Bong], Choe Chang-ik [Choe Chang Ik], and other important officials \
thought that it was impossible to tolerate the great shortcomings in the leadership of \
the party. At the August plenum Kim Il Sung did not lead the criticism of the \
shortcomings in the work of the party.

The above is evidence that Kim Il Sung is at the present time still slowly changing \
[his] methods of leadership.

In August and September of this year another [ocherednoe] reduction of state commercial \
prices was made. After settling accounts with the state for taxes in kind for land, \
water, and MPS [machine rental] work, a considerable number of the peasants do not have \
enough food until the next harvest.

Also considering that in the party 60% of its members are peasants and 28% are manual \
laborers, 86% [SIC] of the members and candidate members of the Party are semi-literate."""


def find(text: str, words: str, after: str = "", occurrence: int = 1) -> tuple[int, int]:
    """Offsets of the n-th occurrence of words (after an anchor), failing loudly if absent."""
    pos = text.index(after) + len(after) if after else 0
    for _ in range(occurrence):
        start = text.index(words, pos)
        pos = start + 1
    return start, start + len(words)


def annotate(text: str, kind: str, words: str, note: str | None = None,
             after: str = "") -> Annotation:
    start, end = find(text, words, after)
    return Annotation(kind=kind, start=start, end=end, text=text[start:end], note=note)


def mention(text: str, entity_id: str, words: str, occurrence: int = 1) -> Mention:
    start, end = find(text, words, occurrence=occurrence)
    return Mention(entity_id=entity_id, start=start, end=end, text=words, field="text")


def reference_annotations(text: str) -> list[Annotation]:
    stamp_start = text.index("[CPSU CC") + 1
    stamp_end = text.index("CPSU CC]") + len("CPSU CC")
    hand_bottom = ("To the archives. An informative document used in the work "
                   "[1-2 words illegible]. Shcherbakov. 15.II.57")
    return [
        Annotation(kind="stamp", start=stamp_start, end=stamp_end,
                   text=text[stamp_start:stamp_end]),
        annotate(text, "handwritten", "DPRK", after="[handwritten: "),
        annotate(text, "typed_over", "2-3 words typed over"),
        annotate(text, "head", "THE SITUATION IN THE KWP AND THE DPRK"),
        annotate(text, "handwritten", "To Cde. Ponomarev. Suslov",
                 note="top left of the first page"),
        annotate(text, "handwritten", hand_bottom, note="bottom of the first page"),
        annotate(text, "illegible", "1-2 words illegible"),
        annotate(text, "romanization", "Kim Tu Bong", note="Kim Du-bong"),
        annotate(text, "romanization", "Choe Chang Ik", note="Choe Chang-ik"),
        annotate(text, "supplied", "his", after="changing ["),
        annotate(text, "original_term", "ocherednoe", note="ru"),
        annotate(text, "gloss", "machine rental", note="MPS"),
        annotate(text, "sic", "86%", note="SIC"),
    ]


def reference_record() -> Record:
    """Record 114165 with every field the reference document carries."""
    text = REFERENCE_TEXT
    return Record(
        id="114165",
        title=REFERENCE_TITLE,
        date="1956-12-28",
        citation=REFERENCE_CITATION,
        source_url="https://wilson-center-digital-archive.dvincitest.com/document/114165",
        summary=REFERENCE_SUMMARY,
        donors=["Leon Levy Foundation"],
        original_language="ru",
        contents=Contents("translation", "en"),
        archival_reference=ArchivalReference(
            text="RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17",
            repository="RGANI", fond="5", opis="28", delo="486", folios="1-17",
        ),
        contributors=[
            Contributor("James F. Person", "obtained_by"),
            Contributor("Gary Goldberg", "translator"),
        ],
        classification="SECRET",
        document_number="1578/d?v?",
        authors=[Author("V. Ivanov", "USSR Ambassador to the DPRK")],
        subjects=[
            "Korea (North)--Politics and government",
            "Korea (North)--Foreign relations--China",
        ],
        places=["Korea (North)", "China"],
        rights=(
            "The History and Public Policy Program welcomes reuse of Digital Archive "
            "material for research and educational purposes."
        ),
        text=text,
        annotations=reference_annotations(text),
        mentions=[
            mention(text, "person/kim-du-bong", "Kim Du-bong"),
            mention(text, "person/kim-il-sung", "Kim Il Sung", occurrence=1),
            mention(text, "person/kim-il-sung", "Kim Il Sung", occurrence=2),
            mention(text, "organization/korean-workers-party", "KWP"),
        ],
    )


NEHRU_TEXT = """Secret.
F.N.33.
New Delhi, 1st April, 1949.

My dear premier,

My last letter to you was sent on the 9th March, later than usual. I have skipped a \
fortnight and have now come back to the beginning of the month."""


def nehru_record() -> Record:
    """An English original from an archive without fond/opis/delo: reference text only."""
    return Record(
        id="300653",
        title="Letter, Jawaharlal Nehru to All Provincial Premiers",
        date="1949-04-01",
        source_url="https://digitalarchive.wilsoncenter.org/document/300653",
        summary="Nehru briefs the Provincial Premiers about internal and external "
                "developments.",
        original_language="en",
        contents=Contents("transcription", "en"),
        archival_reference=ArchivalReference(
            text="Nehru Memorial Museum and Library, File No. JNSG, vol. 21-1"
        ),
        classification="Secret",
        authors=[Author("Nehru, Jawaharlal")],
        subjects=["India--Foreign relations--Pakistan"],
        places=["India", "China", "Southeast Asia", "Pakistan"],
        text=NEHRU_TEXT,
    )


def bare_record() -> Record:
    """Only what a Record requires: every exporter must cope with the rest missing."""
    return Record(id="bare-1", title="Untitled note")


# -- FRUS, corporate authors, scripts (issue 18) -------------------------------------------
# The FRUS telegram is document 3 of tests/data/frus1955-57v23p2-excerpt.xml with the
# fields the FRUS reader fills (readers/tei_frus.py: Edition, place, recipients,
# document type, the parsed source note). When that reader's output carries them, this
# one function can return ``read_path(...)``'s record instead.

FRUS_URL = "https://history.state.gov/historicaldocuments/frus1955-57v23p2/d3"
FRUS_TEXT = """3. Telegram From the Embassy in Korea to the Department of State

Seoul, January 8, 1955—2 p.m.

757. Department please pass FOA for Tyler Wood and DA. Tokyo pass General Hull. During \
meeting with President Rhee yesterday afternoon he brought up question of scheduled \
third auction next week of $2,500,000 to provide Hwan for UNC, declaring this method \
obtaining local currency “is ruining our economy”.

Briggs"""


def frus_telegram_record() -> Record:
    """FRUS 1955–1957, vol. XXIII, pt. 2, doc. 3: a telegram in a documentary edition."""
    text = FRUS_TEXT
    return Record(
        id="frus1955-57v23p2-d3",
        title="3. Telegram From the Embassy in Korea to the Department of State",
        text=text,
        date="1955-01-08",
        source_url=FRUS_URL,
        original_language="en",
        contents=Contents("transcription", "en"),
        archival_reference=ArchivalReference(
            text="Department of State, Central Files, 611.95B/1–855",
            repository="National Archives, RG 59, General Records of the Department of State",
            series="Central Files", file="611.95B/1–855",
        ),
        classification="Secret",
        document_number="3",
        authors=[Author("Embassy in Korea")],
        places=["Seoul"],
        repository_title="Foreign Relations of the United States",
        edition=Edition(
            series="Foreign Relations of the United States", volume_id="frus1955-57v23p2",
            years="1955–1957", volume="XXIII", part="2", volume_title="Korea",
            editors=["Louis J. Smith", "Glenn W. LaFantasie"],
            publisher="Government Printing Office", place="Washington", published="1993",
            document_number="3", pages="4–5", url=FRUS_URL,
        ),
        source_note="Source: Department of State, Central Files, 611.95B/1–855. Secret. "
                    "Repeated to Tokyo.",
        place="Seoul",
        recipients=["Department of State"],
        document_type="Telegram",
        mentions=[
            mention(text, "person/rhee-syngman", "Rhee"),
            mention(text, "person/hull-john-e", "Hull"),
        ],
    )


def corporate_record() -> Record:
    """WCDA 300638: a statement by a person for an association, with the association
    written as an inverted heading the way the issue saw it split."""
    return Record(
        id="300638",
        title="Statement of Nakajima Kenzō, Chairman of the Board of Directors, "
              "Japan-China Cultural Exchange Association",
        date="1967-11-20",
        source_url="https://digitalarchive.wilsoncenter.org/document/300638",
        original_language="ja",
        contents=Contents("translation", "en"),
        archival_reference=ArchivalReference(
            text="Diplomatic Archives of the Ministry of Foreign Affairs of Japan, "
                 "File A’0392 (Microfilm)"),
        authors=[Author("Nakajima, Kenzō"),
                 Author("Association, Japan-China Cultural Exchange"),
                 Author("Korea, Embassy in")],
        contributors=[Contributor("Stephen Mercado", "translator")],
        organizations=["Japan-China Cultural Exchange Association"],
        document_type="Statement",
        place="Tokyo",
    )


def multiscript_record() -> Record:
    """Names and titles in Cyrillic, Hangul, Hanzi, with diacritics and curly quotes."""
    return Record(
        id="multi-1",
        title="Запись беседы с Ким Ир Сеном «о положении» — 김일성 회담 (金日成) “Satō’s note”",
        date="1956-08",
        original_language="ru",
        contents=Contents("translation", "en"),
        archival_reference=ArchivalReference(
            text="АВП РФ, Fond 0102, Opis 12, Delo 68, Listi 1-5", repository="АВП РФ",
            fond="0102", opis="12", delo="68", folios="1-5"),
        authors=[Author("Иванов, Василий Иванович"), Author("Министерство иностранных дел СССР")],
        contributors=[Contributor("Gary Goldberg", "translator")],
        subjects=["Korea (North)--Politics and government"],
        people=["Kim Il Sung (김일성, 金日成)", "Satō, Eisaku"],
        place="Пхеньян",
        document_type="Memorandum of Conversation",
    )


OPIS = "https://opis.example.org"
ATTACHMENT = OPIS + "/attachments/" + "ab" * 32


def context_for(record: Record, attachment: bool = True) -> ExportContext:
    """What the web layer passes: the opis page, an access date, the attachment link."""
    return ExportContext(url=f"{OPIS}/document/{record.id}", accessed=date(2026, 12, 2),
                         attachment_url=ATTACHMENT if attachment else None,
                         attachment_type="application/pdf")
