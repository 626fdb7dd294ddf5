"""The offline analyzer reads English and Japanese only, and says so: rows in other languages are marked
neutral and counted in one notice instead of being scored as if they were English."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from conftest import make_xlsx, run_cli, run_json

from sheets_ai import run_texts
from sheets_ai.providers.local_nlp import SentimentAnalyzer, detect_language

# Reviews in languages the analyzer does not read (written for these tests).
OTHER_LANGUAGES = [
    ("fr", "Ce produit est excellent, je le recommande à tout le monde."),
    ("fr", "Livraison rapide mais la qualité est décevante."),
    ("fr", "Très bien!"),
    ("de", "Das Produkt ist super, die Lieferung war schnell."),
    ("de", "Leider nach zwei Wochen kaputt. Nicht empfehlenswert."),
    ("de", "Sehr gut"),
    ("es", "Excelente producto, llegó antes de lo esperado."),
    ("es", "No funciona, es una pérdida de dinero."),
    ("es", "Muy bueno"),
    ("pt", "Ótimo produto, chegou muito rápido. Recomendo!"),
    ("pt", "Péssima qualidade, não vale o preço."),
    ("it", "Prodotto ottimo, consegna veloce. Lo consiglio."),
    ("it", "Non funziona più dopo una settimana, pessimo."),
    ("nl", "Goede kwaliteit en snel geleverd, een aanrader!"),
    ("nl", "Helaas werkt het niet meer na een maand."),
    ("pl", "Świetny produkt, bardzo polecam."),
    ("sv", "Mycket bra produkt, snabb leverans."),
    ("tr", "Ürün çok güzel, hızlı kargo için teşekkürler."),
    ("id", "Barang bagus dan pengiriman sangat cepat."),
    ("vi", "Sản phẩm rất tốt, giao hàng nhanh."),
    ("ko", "배송도 빠르고 품질도 좋아요. 추천합니다!"),
    ("ko", "최악이에요. 일주일 만에 고장났어요."),
    ("ru", "Отличный товар, быстрая доставка. Рекомендую!"),
    ("ru", "Ужасное качество, сломалось через неделю."),
    ("uk", "Дуже гарна якість, дякую!"),
    ("el", "Πολύ καλό προϊόν, γρήγορη αποστολή."),
    ("ar", "منتج رائع وجودة ممتازة، أنصح به."),
    ("he", "מוצר מעולה, משלוח מהיר."),
    ("th", "สินค้าดีมาก ส่งเร็ว ประทับใจ"),
    ("hi", "बहुत अच्छा उत्पाद है, जल्दी डिलीवरी।"),
    ("zh", "质量很好，物流也很快，非常满意。"),
    ("zh", "這個產品很好用，我很喜歡。"),
]

# English rows, including very short ones and ones with a foreign word or a diacritic.
ENGLISH = [
    "Great!",
    "ok",
    "5 stars",
    "A+++",
    "10/10 would buy again",
    "Meh.",
    "Super fast delivery",
    "Excellent",
    "Not bad at all",
    "Works as advertised, no complaints.",
    "The coffee tastes better than at my favourite café.",
    "Bought it for my naïve little brother, he loves it.",
    "Ordered the Crème Brûlée kit; the torch broke on day one.",
    "Bon appetit! This sauce is great on pasta.",
    "The Pão de Queijo mix was amazing.",
    "Arrived in a box with a manual in English, French and German.",
    "12345",
    "😀👍",
    "",
    "The sushi at すし屋 was great and the staff were very friendly.",
    "Terrible quality, 最悪 as they say.",
]

# Rows mostly in Japanese, or kanji-only Japanese, stay analyzed.
JAPANESE = [
    "最高の商品です。また買いたい。",
    "iPhone 15 Pro Maxを買いました。最高です！",
    "Amazonで買ったiPhoneケース、最高です！",
    "商品最高",
    "ｽｺﾞｲ",
]


@pytest.mark.parametrize(("code", "text"), OTHER_LANGUAGES)
def test_other_languages_are_detected(code: str, text: str) -> None:
    assert detect_language(text) == "other", code


@pytest.mark.parametrize("text", ENGLISH)
def test_english_rows_stay_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", JAPANESE)
def test_japanese_rows_stay_japanese(text: str) -> None:
    assert detect_language(text) == "ja"


def test_rows_in_other_languages_are_neutral() -> None:
    analyzer = SentimentAnalyzer()
    # VADER knows "excellent" and "super" and would call these positive.
    assert analyzer.label("Ce produit est excellent, je le recommande à tout le monde.") == "neutral"
    assert analyzer.label("Das Produkt ist super, die Lieferung war schnell.") == "neutral"
    assert analyzer.label("Отличный товар 👍") == "neutral"


MIXED_FILE = [
    ["id", "review"],
    ["1", "I love this kettle, it boils fast."],
    ["2", "Terrible. It broke after a week."],
    ["3", "配送が早くて、とても満足しています。"],
    ["4", "Ce produit est excellent, je le recommande."],
    ["5", "Leider nach zwei Wochen kaputt. Nicht empfehlenswert."],
    ["6", "Excelente producto, llegó antes de lo esperado."],
    ["7", "배송도 빠르고 품질도 좋아요. 추천합니다!"],
    ["8", "Ужасное качество, сломалось через неделю."],
    ["9", ""],
]
NOTICE = "5 rows in other languages were marked neutral; use --provider openai for them."


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_a_csv_run_counts_rows_in_other_languages_in_one_notice(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "reviews.csv", MIXED_FILE)
    proc, report = run_json(
        "run", path, "--task", "sentiment", "--input", "review", "--output", "sentiment",
        "--provider", "local",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 8
    assert [n for n in report["notices"] if "other languages" in n] == [NOTICE]
    results = {row[0]: row[2] for row in _read_csv(path)[1:]}
    assert results["1"] == "positive" and results["2"] == "negative" and results["3"] == "positive"
    assert [results[i] for i in "45678"] == ["neutral"] * 5
    assert results["9"] == ""


def test_an_xlsx_run_with_renamed_labels_names_the_label_it_wrote(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "reviews.xlsx", MIXED_FILE[:5])  # two English, one Japanese, one French
    proc, report = run_json(
        "run", path, "--input", "review", "--output", "感情", "--provider", "local",
        "--labels", "ポジティブ,ネガティブ,中立,混在",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "1 row in another language was marked 中立; use --provider openai for it." in report["notices"]
    ws = openpyxl.load_workbook(path)["Data"]
    assert [ws.cell(row, 3).value for row in range(2, 6)] == [
        "ポジティブ",
        "ネガティブ",
        "ポジティブ",
        "中立",
    ]


def test_the_notice_is_printed_with_the_summary_even_when_quiet(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "reviews.csv", MIXED_FILE)
    proc = run_cli("run", path, "--input", "review", "--output", "sentiment", "--provider", "local", "-q")
    assert proc.returncode == 0
    assert proc.stdout.startswith("Processed 8 of 9 rows")
    assert NOTICE in proc.stderr


def test_estimate_and_dry_run_say_how_many_rows_would_be_neutral(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "reviews.csv", MIXED_FILE)
    before = path.read_bytes()
    would = "5 rows in other languages would be marked neutral; use --provider openai for them."
    for command in (["estimate"], ["run", "--dry-run"]):
        proc, report = run_json(
            *command, path, "--input", "review", "--output", "sentiment", "--provider", "local"
        )
        assert proc.returncode == 0, proc.stderr
        assert [n for n in report["notices"] if "other languages" in n] == [would]
    # --limit: only the rows the run would process are counted
    proc, report = run_json(
        "estimate", path, "--input", "review", "--output", "sentiment", "--provider", "local", "--limit", "4"
    )
    assert (
        "1 row in another language would be marked neutral; use --provider openai for it."
        in report["notices"]
    )
    assert path.read_bytes() == before


def test_english_and_japanese_rows_get_no_notice(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "reviews.csv", MIXED_FILE[:4])
    proc, report = run_json("run", path, "--input", "review", "--output", "sentiment", "--provider", "local")
    assert proc.returncode == 0
    assert not any("other languages" in n or "another language" in n for n in report["notices"])


def test_summaries_of_other_languages_are_sentences_of_the_row(tmp_path: Path) -> None:
    text = (
        "Le café est arrivé en deux jours. La machine est facile à nettoyer et le café est très bon. "
        "Le carton était un peu abîmé. Je suis très content de la machine et du café."
    )
    proc, report = run_json(
        "run", _write_csv(tmp_path / "notes.csv", [["note"], [text]]), "--task", "summarize",
        "--input", "note", "--output", "summary", "--max-chars", "100", "--provider", "local",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not any("other languages" in n or "another language" in n for n in report["notices"])
    summary = _read_csv(tmp_path / "notes.csv")[1][1]
    assert 0 < len(summary) <= 100
    assert summary in text or all(part in text for part in summary.split(". "))


def test_the_python_api_reports_the_notice() -> None:
    results, report = run_texts(["Great kettle!", "Sehr gut, danke!", "Muy bueno"], provider="local")
    assert results == ["positive", "neutral", "neutral"]
    assert "2 rows in other languages were marked neutral; use --provider openai for them." in report.notices
    assert json.dumps(report.to_dict(), ensure_ascii=False)


RU_NOTES = (
    "Совещание началось в девять часов. Мы обсудили бюджет ремонта офиса. "
    "Анна показала, что бюджет ремонта офиса превышен на десять процентов. Кофе был холодным. "
    "Мы решили сократить бюджет ремонта, отложив кухню. Следующее совещание во вторник."
)
ZH_NOTES = (
    "会议在九点开始。我们讨论了办公室装修的预算。安娜报告说办公室装修预算超出了百分之十。"
    "咖啡是凉的。我们决定推迟厨房工程以减少装修预算。下次会议在星期二。"
)


def test_summaries_in_other_languages_pick_central_sentences() -> None:
    from sheets_ai.providers.local_nlp import summarize

    # The sentences about the budget share words ("бюджет ремонта офиса"); the coffee and the date do not.
    assert summarize(RU_NOTES, 40) == "Мы обсудили бюджет ремонта офиса."
    result = summarize(RU_NOTES, 160)
    assert result.count("бюджет ремонта") == 3 and "Кофе" not in result and "вторник" not in result
    result = summarize(ZH_NOTES, 40)
    assert " " not in result and "预算" in result and len(result) <= 40
