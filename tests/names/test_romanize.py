"""Romanization keys: variant spellings of one name share a key, different names do not."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from opis.names.romanize import name_key, same_name, token_keys
from paths import ROOT

TABLES = ROOT / "src" / "opis" / "names" / "tables"


def assert_one_key(*names: str) -> None:
    keys = {name: name_key(name) for name in names}
    assert len(set(keys.values())) == 1, keys


# --------------------------------------------------------------------------- general


@pytest.mark.parametrize(
    "variants",
    [
        ("Kim Il Sung", "KIM IL SUNG", "kim il sung"),  # case
        ("Pak Ŭi-wan", "Pak Ui-wan", "Pák Üi-wan"),  # diacritics
        ("Kim Il-sung", "Kim Il sung", "Kim Ilsung", "Kim Il – sung"),  # hyphens, spacing
        ("Ch'oe Ch'ang-ik", "Chʼoe Chʼang-ik", "Ch‘oe Ch’ang-ik", "Choe Chang-ik"),  # apostrophes
        ("Kim  Il   Sung", " Kim Il Sung ", "Kim, Il Sung"),  # whitespace and punctuation
    ],
    ids=["case", "diacritics", "hyphens", "apostrophes", "whitespace"],
)
def test_surface_differences_never_matter(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


def test_possessives_and_underscores_do_not_change_words() -> None:
    assert same_name("Kim Il Sung's", "Kim Il Sung")
    assert same_name("Khrushchev’s", "Khrushchev")
    assert same_name("Kim_Il_Sung", "Kim Il Sung")


def test_keys_are_lowercase_ascii_and_deterministic() -> None:
    for name in ("Kim Il-sŏng", "Хрущёв", "Mao Tse-tung", "Satō", "김일성"):
        key = name_key(name)
        assert key == name_key(name)
        assert key.isascii() and key == key.lower() and key.strip() == key


def test_empty_and_punctuation_only_names() -> None:
    assert name_key("") == ""
    assert name_key(" -- ' ") == ""
    assert token_keys("") == []


# --------------------------------------------------------------------------- Korean


@pytest.mark.parametrize(
    "variants",
    [
        ("Kim Tu-bong", "Kim Tu Bong"),
        ("Ch'oe Ch'ang-ik", "Choe Chang Ik"),
        ("Pak Kŭm-ch'ŏl", "Pak Kum Chol", "Pak Kŭm-chŏl"),
        ("Ch'ŏngjin", "Chongjin"),
    ],
)
def test_korean_mccune_reischauer_with_or_without_diacritics(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


@pytest.mark.parametrize(
    ("revised", "mccune_reischauer"),
    [
        ("Kim Du-bong", "Kim Tu-bong"),
        ("Choe Chang-ik", "Ch'oe Ch'ang-ik"),
        ("Yun Gong-heum", "Yun Kong-hŭm"),
        ("Kim Seung-hwa", "Kim Sŭng-hwa"),
        ("Pak Jeong-ae", "Pak Chŏng-ae"),
        ("Pak Geum-cheol", "Pak Kŭm-ch'ŏl"),
        ("Choe Yong-geon", "Ch'oe Yong-gŏn"),
        ("Pak Yeong-bin", "Pak Yŏng-bin"),
        ("Cheongjin", "Ch'ŏngjin"),
        ("Kim Gwang-hyeop", "Kim Kwang-hyŏp"),
        ("Cheong Il-yeong", "Chŏng Il-yŏng"),
        ("Go Bon-gi", "Ko Pong-ki"),
        ("Seo Hwi", "Sŏ Hwi"),
    ],
)
def test_korean_revised_romanization_equals_mccune_reischauer(
    revised: str, mccune_reischauer: str
) -> None:
    assert same_name(revised, mccune_reischauer)


@pytest.mark.parametrize(
    "variants",
    [
        ("Ri Sang-jo", "Yi Sang-jo", "I Sang-jo"),  # 리/이: the initial-sound law
        ("Ro Tae-u", "No Tae-u", "Roh Tae-woo"),  # 로/노
        ("Ryu Kyong", "Yu Kyong"),  # 류/유
        ("Rim Chun-chu", "Im Chun-chu", "Lim Chun-chu"),  # 림/임
        ("Thae Yong-ho", "T'ae Yŏng-ho", "Tae Yong-ho"),  # DPRK 1992 aspirates
    ],
)
def test_korean_north_korean_usage(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


@pytest.mark.parametrize(
    "variants",
    [
        ("Kim Du-bong", "Kim Du Bong", "Kim Dubong", "Kim Tu-bong", "Kim Tu Bong", "Kim Tubong"),
        ("Kim Il Sung", "Kim Il-sung", "Kim Il-sŏng", "Kim Ilsung", "Kim Il Song"),
        ("Pak Il-u", "Pak Il U", "Pak Ilu"),
        ("Kim Chang-man", "Kim Chang Man", "Kim Changman"),
        ("Pyongyang", "P'yŏngyang", "Pyeongyang", "P'yŏng-yang"),
        ("Panmunjom", "P'anmunjŏm", "Panmunjeom"),
    ],
)
def test_korean_hyphenated_spaced_and_joined_given_names(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


@pytest.mark.parametrize(
    "variants",
    [
        ("Choe Chang-ik", "Choi Chang-ik", "Chwe Chang-ik"),
        ("Pak Chang-ok", "Park Chang-ok", "Bak Chang-ok"),
        ("Lee Sang-jo", "Yi Sang-jo", "Ri Sang-jo", "Rhee Sang-jo", "I Sang-jo"),
        ("Park Chung-hee", "Pak Chŏng-hŭi", "Bak Jeong-hui"),
        ("Kim Young-sam", "Kim Yŏng-sam", "Kim Yeong-sam"),
        ("Shin Ik-hee", "Sin Ik-hŭi"),
        ("Moon Ik-hwan", "Mun Ik-hwan"),
        ("Yoon Bo-seon", "Yun Po-sŏn"),
        ("General Park Chung-hee", "General Pak Chŏng-hŭi"),
    ],
)
def test_korean_informal_spellings(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


@pytest.mark.parametrize(
    "variants",
    [
        ("Kim Du-bong", "Kim Tu Bong", "Kim Tu-bong"),
        ("Choe Chang-ik", "Choe Chang Ik", "Ch'oe Ch'ang-ik", "Choi Chang-ik"),
        ("Pak Chang-ok", "Pak Chang Ok", "Bak Chang-ok"),
        ("Pak Ui-wan", "Pak Ŭi-wan"),
        ("Seo Hwi", "So Hwi", "Sŏ Hwi"),
        ("Yun Gong-heum", "Yun Kong Hum", "Yun Kong-hŭm"),
        ("Kim Seung-hwa", "Kim Sung Hwa", "Kim Sŭng-hwa"),
        ("Ri Sang-jo", "Ri Sang Jo", "Yi Sang-jo", "Lee Sang-jo"),
        ("Pak Il-u", "Pak Il U"),
        ("Bang Hak-se", "Ban Hak Se", "Pang Hak-se"),
        ("Pak Jeong-ae", "Pak Jong Ae", "Pak Chong-ae", "Pak Chŏng-ae"),
        ("Pak Geum-cheol", "Pak Kum Chol", "Pak Kŭm-ch'ŏl"),
        ("Choe Yong-geon", "Choe Yong Gon", "Ch'oe Yong-gŏn"),
        ("Kim Chang-man", "Kim Chang Man"),
        ("Pak Yeong-bin", "Pak Yong Bin", "Pak Yŏng-bin"),
        ("Cheongjin", "Chongjin", "Ch'ŏngjin"),
        ("Kim Il Sung", "Kim Il-sŏng"),
        ("Kim Gwang-hyeop", "Kim Kwang-hyŏp"),
        ("Cheong Il-yeong", "Chong Il-yong", "Chŏng Il-yŏng"),
        ("Go Bon-gi", "Ko Pong-ki"),
    ],
)
def test_korean_corpus_examples(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


def test_hangul_input_keys_like_its_romanizations() -> None:
    assert same_name("김 일성", "Kim Il-sung")
    assert same_name("김 두봉", "Kim Tu-bong")
    assert same_name("청진", "Chongjin")


# --------------------------------------------------------------------------- Chinese


@pytest.mark.parametrize(
    ("wade_giles", "pinyin"),
    [
        ("P'eng Te-huai", "Peng Dehuai"),
        ("Mao Tse-tung", "Mao Zedong"),
        ("Chou En-lai", "Zhou Enlai"),
        ("Chiang Ching-kuo", "Jiang Jingguo"),
        ("Teng Hsiao-p'ing", "Deng Xiaoping"),
        ("Liu Shao-ch'i", "Liu Shaoqi"),
        ("Lin Piao", "Lin Biao"),
        ("Wang Ping-nan", "Wang Bingnan"),
        ("Chu Teh", "Zhu De"),
        ("Hsü Hsiang-ch'ien", "Xu Xiangqian"),
        ("Yeh Chien-ying", "Ye Jianying"),
        ("Tz'u-hsi", "Cixi"),
    ],
)
def test_chinese_wade_giles_equals_pinyin(wade_giles: str, pinyin: str) -> None:
    assert same_name(wade_giles, pinyin)


@pytest.mark.parametrize(
    "variants",
    [
        ("Mao Tse-tung", "Mao Tse Tung", "Mao Tsetung"),
        ("Mao Zedong", "Mao Ze-dong", "Mao Ze Dong"),
        ("Teng Hsiao-p'ing", "Teng Hsiao-ping", "Teng Hsiaoping"),
    ],
)
def test_chinese_given_name_joining(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


@pytest.mark.parametrize(
    ("postal", "pinyin"),
    [
        ("Peking", "Beijing"),
        ("Nanking", "Nanjing"),
        ("Sinkiang", "Xinjiang"),
        ("Canton", "Guangzhou"),
        ("Tientsin", "Tianjin"),
        ("Amoy", "Xiamen"),
        ("Quemoy", "Jinmen"),
        ("Chiang Kai-shek", "Jiang Jieshi"),
        ("Chungking", "Chongqing"),
        ("Tsingtao", "Qingdao"),
    ],
)
def test_chinese_postal_and_conventional_names(postal: str, pinyin: str) -> None:
    assert same_name(postal, pinyin)


def test_peiping_is_not_required_to_be_beijing_but_peking_is() -> None:
    assert same_name("Peking", "Beijing")
    assert same_name("Peiping", "Pei-p'ing")


# --------------------------------------------------------------------------- Russian


@pytest.mark.parametrize(
    "variants",
    [
        ("Mikoyan", "Mikoian", "Mikojan"),
        ("Khrushchev", "Khrushchov", "Chruschtschow", "Khrushchyov", "Khrushchëv"),
        ("Belyayev", "Beliaev", "Beljajew", "Belyaev"),
        ("Ponomarev", "Ponomaryov", "Ponomarjow"),
        ("Brezhnev", "Breschnew"),
        ("Zhukov", "Schukow"),
        ("Malenkov", "Malenkow"),
        ("Molotov", "Molotow"),
        ("Gromyko", "GROMYKO"),
        ("Voroshilov", "Woroschilow"),
        ("Shepilov", "Schepilow"),
        ("Mukhitdinov", "Muchitdinow"),
        ("Furtseva", "Furzewa"),
    ],
)
def test_russian_transliteration_schemes(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


@pytest.mark.parametrize(
    "variants",
    [
        ("Zinovyev", "Zinov'ev", "Zinowjew", "Zinoviev"),
        ("Yeltsin", "El'tsin", "Jelzin"),
        ("Yuriy", "Iurii", "Yury", "Jurij"),
        ("Yakovlev", "Iakovlev", "Jakowlew"),
        ("Gorky", "Gor'kii", "Gor'kiy"),
        ("Rachmaninoff", "Rakhmaninov"),
        ("Nikita Sergeyevich Khrushchev", "Nikita Sergejewitsch Chruschtschow"),
        ("Beli͡aev", "Belyayev"),  # ALA-LC with tie bar
    ],
)
def test_russian_more_scheme_variants(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


def test_cyrillic_input_keys_like_its_transliterations() -> None:
    assert same_name("Хрущёв", "Khrushchev")
    assert same_name("Микоян", "Mikoyan")
    assert same_name("Анастас Микоян", "Anastas Mikojan")


# --------------------------------------------------------------------------- Japanese, German


@pytest.mark.parametrize(
    "variants",
    [
        ("Satō", "Sato", "Satoh", "Satou"),
        ("Kōno", "Kono", "Kohno"),
        ("Saitō", "Saito", "Saitoh"),
        ("Itō", "Ito", "Itoh", "Itou"),
        ("Ōhira", "Ohira"),
        ("Ichirō", "Ichiro", "Ichirou"),
    ],
)
def test_japanese_long_vowels(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


@pytest.mark.parametrize(
    "variants",
    [
        ("Schröder", "Schroeder", "Schroder"),
        ("Müller", "Mueller", "Muller"),
        ("Strauß", "Strauss"),
    ],
)
def test_german_umlauts_and_eszett(variants: tuple[str, ...]) -> None:
    assert_one_key(*variants)


# --------------------------------------------------------------------------- collisions


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Kim Il", "Kim Il Sung"),
        ("Pak", "Pak Il-u"),
        ("Mao", "Ma"),
        ("Sato", "Saito"),
        ("Satō", "Saitō"),
        ("Chang", "Cheng"),
        ("Kim Chang-man", "Kim Chang"),
        ("Kim Il-sung", "Kim Jong-il"),
        ("Mao Zedong", "Zhou Enlai"),
        ("Khrushchev", "Brezhnev"),
        ("Zhukov", "Shukov Ivan"),
        ("Peking", "Nanking"),
    ],
)
def test_different_names_keep_different_keys(a: str, b: str) -> None:
    assert name_key(a) != name_key(b)
    assert not same_name(a, b)


# --------------------------------------------------------------------------- token_keys


def test_token_keys_match_for_variant_words() -> None:
    assert token_keys("Mikoian") == token_keys("Mikoyan") == token_keys("Mikojan")
    assert token_keys("Chruschtschow") == token_keys("Khrushchev")


def test_token_keys_one_key_per_word() -> None:
    keys = token_keys("Comrade Kim Du-bong met A. I. Mikoyan in Peking.")
    assert len(keys) == 9
    assert keys[2] == token_keys("Kim Tu-bong")[1]
    assert keys[6] == token_keys("Mikoian")[0]
    assert keys[8] == token_keys("Beijing")[0]


def test_single_word_name_key_equals_its_token_key() -> None:
    for word in ("Park", "Mikoian", "Satoh", "Ch'ŏngjin", "Peking", "Schröder"):
        assert token_keys(word) == [name_key(word)]


# --------------------------------------------------------------------------- packaging


def test_runtime_does_not_import_table_building_libraries() -> None:
    code = (
        "import sys\n"
        "from opis.names.romanize import name_key\n"
        "name_key('Kim Il-sung'); name_key('Хрущёв'); name_key('김일성')\n"
        "bad = {'pypinyin', 'iuliia', 'korean_romanizer', 'hanja', 'opis.names.build_tables'}\n"
        "print(sorted(bad & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_tables_are_small() -> None:
    files = list(TABLES.glob("*.json"))
    assert {f.name for f in files} >= {"cjk.json", "hangul.json", "cyrillic.json"}
    assert sum(f.stat().st_size for f in files) < 300_000


def test_stored_tables_match_the_generator() -> None:
    """Guards against hand edits: regenerating must give the committed JSON."""
    for module in ("pypinyin", "korean_romanizer", "hanja", "iuliia"):
        pytest.importorskip(module)
    from opis.names import build_tables

    cjk, _ = build_tables.build_cjk()
    stored = json.loads((TABLES / "cjk.json").read_text(encoding="utf-8"))
    assert stored == json.loads(json.dumps(cjk))
    stored_cyrillic = json.loads((TABLES / "cyrillic.json").read_text(encoding="utf-8"))
    assert stored_cyrillic == build_tables.build_cyrillic()
    stored_hangul = json.loads((TABLES / "hangul.json").read_text(encoding="utf-8"))
    assert {k: stored_hangul[k] for k in ("initials", "medials", "finals")} == (
        build_tables.hangul_letters()
    )
    assert build_tables.check_russian() == []
