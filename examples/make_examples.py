"""Generate the example workbooks and CSV used in the README and the docs.

Run from the repository root:

    python examples/make_examples.py

It writes ``reviews.xlsx``, ``meetings.xlsx`` and ``reviews.csv`` beside this script. The output is
deterministic: fixed dates, fixed workbook properties and fixed zip timestamps, so rerunning it on the
same openpyxl version yields byte-identical files (and a clean ``git diff``).

All texts below were written for this project; they are not taken from any real shop or meeting.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

HERE = Path(__file__).resolve().parent

# Fixed instant for workbook properties (UTC, naive as openpyxl expects) and zip entries.
FIXED_TIME = dt.datetime(2024, 7, 1, 9, 0, 0)
ZIP_TIME = (2024, 7, 1, 9, 0, 0)
CREATOR = "sheets-ai examples"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill(fill_type="solid", start_color="305496", end_color="305496")
DATE_FORMAT = "yyyy-mm-dd"

# (review text, stars). An empty text is a rating without a review: sheets-ai must skip that row.
# Roughly 2/3 English, 1/3 Japanese; positive, negative, neutral/factual and mixed.
REVIEWS: list[tuple[str, int]] = [
    (
        "Absolutely love these headphones. The noise cancelling works on the train "
        "and they're comfortable for hours.",
        5,
    ),
    ("注文した翌日に届きました。梱包も丁寧で、コーヒーメーカーも問題なく動いています。", 5),
    ("Great sound, but the battery died after two days and the replacement took three weeks.", 2),
    ("Ordered size 42, received size 40. The return label was easy to print, at least.", 2),
    ("The coffee maker arrived on Tuesday. It brews a full pot in about eight minutes.", 4),
    ("音質は値段なりです。低音が少し物足りないですが、通勤用には十分です。", 3),
    (
        "Worst customer support I have dealt with. Four emails, no answer, and the chat bot "
        "kept closing my ticket.",
        1,
    ),
    ("- works as described, nothing more to add.", 4),
    ("Running shoes are light and the grip is excellent on wet pavement. Already ordered a second pair.", 5),
    ("届いた箱が潰れていて、ケトルの取っ手にひびが入っていました。交換をお願いしています。", 1),
    ("Delivery was two days late and nobody told me. The blender itself is fine.", 3),
    (
        "Bought this as a gift for my dad. He uses it every morning and says the coffee tastes "
        "better than at his favourite café.",
        5,
    ),
    ("The package contained the charger, a USB-C cable and a quick start guide in five languages.", 3),
    ("サポートの方がとても親切で、設定方法を電話で最後まで説明してくれました。", 5),
    ("", 4),
    (
        "Stopped pairing with my phone after the firmware update. Reset it twice, still nothing. "
        "Very disappointed.",
        1,
    ),
    ("Comfortable shoes, true to size. The colour is a bit darker than in the photos.", 4),
    ("可もなく不可もなく。値段を考えれば妥当だと思います。", 3),
    ("Fast shipping, well packed, exactly what I ordered. Would buy from this shop again.", 5),
    ("イヤホンのケースが小さく、ポケットに入るので便利です。ただ、タッチ操作の反応が少し鈍いです。", 3),
    (
        "The lid of the coffee maker doesn't close properly, so it drips onto the counter every single time.",
        2,
    ),
    ("Meh. The sound is flat and the ear cushions started peeling after a month.", 2),
    ("I returned the jacket because it was too small. The refund arrived in my account five days later.", 3),
    (
        "Honestly the best purchase I've made this year. Quiet, fast, and the milk frother is a nice bonus.",
        5,
    ),
    ("注文から2週間経ってもまだ発送されていません。問い合わせても返信がありません。", 1),
    ("Tracking said delivered but the parcel was at my neighbour's. The product is OK.", 3),
    ("+1 to everyone saying the strap is flimsy. Mine snapped within a week.", 1),
    ("Solid build, good battery life, and the app is actually useful. Five stars.", 5),
    ("靴の履き心地は最高です。長時間歩いても足が痛くなりませんでした。", 5),
    ("商品説明どおりの品でした。無地の段ボールで届きました。", 3),
    ("Support replaced my broken grinder without any hassle. That's how you keep customers.", 5),
    ("Too loud. The coffee maker sounds like a jet engine at 6 am and wakes up the whole house.", 2),
    ("色違いの商品が届きました。交換対応は早かったものの、少し残念でした。", 3),
    ("Good value for money. Not premium, but it does the job and the sound is clear.", 4),
    ("Charged twice for one order. Got the money back eventually, but it took three phone calls.", 2),
    ("マグカップのセットを購入しました。写真どおりのかわいいデザインで、家族にも好評です。", 5),
    ("The speaker is smaller than I expected. Check the dimensions before you order.", 3),
    ("Package arrived soaking wet and the manual was unreadable. The headphones survived, luckily.", 3),
    ("バッテリーの持ちが悪く、一日もちません。返品を検討しています。", 1),
    ("Ordered on Sunday evening, arrived Monday before noon. Impressive.", 5),
    ("The soles started coming off after three weeks of light use. Not worth the price.", 1),
    ("説明書が英語のみで少し戸惑いましたが、使い方は直感的でした。", 4),
    ("Exactly as pictured. Fits my desk perfectly.", 4),
    ("Customer service said they would call back within 24 hours. That was ten days ago.", 1),
    ("The water tank holds 1.2 litres and the machine switches off automatically after 30 minutes.", 3),
    ("思っていたより軽くて、持ち運びに便利です。リピートします。", 5),
    ("Lovely design and the earbuds fit well, but the left one keeps disconnecting.", 3),
    ("返品しました。悪くはないけど、自分には合いませんでした。", 3),
    ("配送が早くて本当に助かりました。音もクリアで大満足です。", 5),
    ("I've had this kettle for six months now and it still works like on day one. Highly recommend.", 5),
    ("The price dropped by 20% a week after I bought it. The product is fine, but that stings.", 3),
    ("ノイズキャンセリングの効果はあまり感じられませんでした。期待していただけに残念です。", 2),
    ("Received a used item with someone else's hair in the ear pads. Disgusting.", 1),
    ("予定どおりの日に届きました。まだあまり使っていません。", 3),
    ("問い合わせへの対応も丁寧で、ギフト包装もきれいでした。プレゼントに最適です。", 5),
    ("Sizing runs small, so order one size up. Otherwise really comfortable and stylish.", 4),
    ("The grinder is powerful but extremely messy; coffee grounds end up everywhere.", 2),
    ("一週間使いましたが、特に不具合はありません。", 4),
    ("Five stars for the product, one star for the courier who threw it over my fence.", 3),
    ("Clear instructions, quick setup, and the coffee is hot and strong. Happy with it.", 5),
]

# (date, team, sentences). English sentences are joined with a space, Japanese ones without.
MEETINGS: list[tuple[dt.date, str, list[str]]] = [
    (
        dt.date(2024, 6, 3),
        "Product",
        [
            "Weekly product sync for the spring headphone line.",
            "Priya opened with the return numbers: 6.1% of the ANC-200 units sold in May came back, "
            "almost twice the target of 3.5%.",
            "The main reason given by customers is Bluetooth pairing that fails after the 2.3 firmware "
            "update, "
            "followed by ear cushions that peel after a few weeks.",
            "Engineering has a fix for pairing in testing and expects to ship firmware 2.4 on 12 June; "
            "Tom asked that the release notes explain the reset steps in plain language, "
            "because support is still answering the same question dozens of times a day.",
            "For the cushions, the supplier agreed to switch to the protein-leather material from the "
            "premium model at no extra cost from the July batch.",
            "We discussed whether to offer free replacement cushions to existing customers; "
            "the team agreed to do it for anyone who asks, but not to announce it proactively.",
            "Marketing wants to reuse positive reviews about noise cancelling in the summer campaign, "
            "so Priya will share the top twenty reviews by the end of the week.",
            "Decision: the price stays at 129 euros until the return rate is back under target.",
            "Next sync in one week, with the firmware rollout status as the first item.",
        ],
    ),
    (
        dt.date(2024, 6, 5),
        "Engineering",
        [
            "Post-incident review of the checkout outage on Saturday, 1 June.",
            "Between 10:42 and 11:37 about 40% of checkout attempts failed with a timeout on the payment "
            "step.",
            "The cause was a database migration that added an index to the orders table during peak hours; "
            "the table was locked longer than expected and the payment service ran out of connections.",
            "The on-call engineer rolled back the migration at 11:20, and traffic fully recovered seventeen "
            "minutes later once the connection pools drained.",
            "Roughly 310 orders were lost; customer support contacted every affected customer with a "
            "10% voucher, and about half of them have already placed their order again.",
            "Action items: migrations on large tables must run in the maintenance window on Tuesday nights "
            "(owner: Lena); the payment service gets a circuit breaker and a clearer error page "
            "instead of an endless spinner (owner: Marco); and we will add an alert on checkout success rate "
            "so that we do not learn about the next outage from social media (owner: Sam).",
            "No one was blamed; the migration had been reviewed and the risk simply was not visible in "
            "staging, "
            "which has a hundred times less data.",
            "Lena will look into a nightly copy of anonymised production data for staging.",
        ],
    ),
    (
        dt.date(2024, 6, 10),
        "Customer support",
        [
            "カスタマーサポート週次定例。",
            "今週の問い合わせ件数は412件で、先週より約15%増えた。",
            "増加の主な原因は、ワイヤレスイヤホンのファームウェア更新後にスマートフォンと接続できなくなったという問い合わせで、"
            "全体の3割近くを占めている。",
            "開発チームには月曜日に報告済みで、修正版は来週水曜日に配信される予定。",
            "それまでの暫定対応として、リセット手順を画像付きでまとめたヘルプ記事を本日中に公開し、"
            "テンプレート回答にもリンクを追加する。",
            "佐藤さんから、電話窓口の平均待ち時間が9分を超えている日があるとの報告があった。",
            "特に月曜日の午前中に集中しているため、来週から月曜午前のみ二名を電話対応に回すことで合意した。",
            "また、チャットボットが問い合わせを自動でクローズしてしまう不具合について、お客様からレビューでも指摘を受けている。",
            "設定を見直し、未解決のまま自動クローズしないように変更する。担当は田中さん、期限は金曜日。",
            "返金処理の遅れについては、経理側の承認フローがボトルネックになっているため、"
            "5,000円以下の返金はサポートリーダーの判断で即時処理できるよう経理と調整する。",
            "最後に、先月の顧客満足度調査の結果を共有した。",
            "対応の丁寧さは高く評価されている一方で、回答までの時間に不満が多い。",
            "年末に向けて問い合わせがさらに増えると予想されるため、よくある質問ページの見直しを来月から始める。",
            "初期設定の方法や返品の手順など、問い合わせの多い項目から優先して更新し、新人向けの研修資料にも反映する。",
            "次回の定例では、一次回答を24時間以内に返すための具体的な体制案を各自持ち寄ることになった。",
        ],
    ),
    (
        dt.date(2024, 6, 12),
        "Marketing",
        [
            "Planning meeting for the summer coffee campaign.",
            "The campaign runs from 1 to 31 July and focuses on the new drip coffee maker and the grinder "
            "bundle.",
            "Budget is 18,000 euros, split between paid social (60%), newsletter and influencer boxes.",
            "Aiko presented three concepts; the team preferred 'Slow mornings', which shows the coffee maker "
            "in a real kitchen rather than a studio, because customers keep telling us the product photos "
            "look "
            "nothing like their homes.",
            "We will not use the noise level as a selling point: several reviews call the machine loud, "
            "and the quiet-mode firmware is not ready yet.",
            "The bundle discount was debated at length.",
            "Finance would accept 15%, sales wanted 20%; we settled on 15% plus free shipping, "
            "which costs about the same but tested better in last year's survey.",
            "Influencer boxes go to twelve creators, half of them in Japan, where the coffee maker has been "
            "selling better than expected.",
            "Japanese copy will be written by Yuki rather than translated, so that it reads naturally.",
            "Open question: whether to include the mug set in the box; Aiko will check stock levels.",
            "Next meeting on 19 June to approve the final creatives.",
        ],
    ),
    (
        dt.date(2024, 6, 14),
        "Logistics",
        [
            "物流定例。",
            "先月の配送遅延率は4.8%で、目標の3%を大きく上回った。",
            "原因を分析したところ、遅延の半数以上が東北地方向けの配送で発生しており、"
            "委託先の配送業者の人員不足が影響していることが分かった。",
            "山本さんが代替業者二社から見積もりを取得済みで、料金はほぼ同水準だが、一社は土日の集荷に対応していない。",
            "来週、二社との打ち合わせを設定し、月末までにどちらかに決める。",
            "また、梱包についての苦情が増えている。",
            "箱が潰れて届いた、商品が濡れていたというレビューが今月だけで7件あった。",
            "緩衝材を紙製に切り替えた時期と重なっているため、コーヒーメーカーやケトルなど重量のある商品だけでも、"
            "以前のエアークッションに戻すことを検討する。コスト増は一件あたり約30円の見込み。",
            "倉庫では、誤出荷が先月3件発生した。",
            "いずれもサイズ違いの靴で、棚の表示が紛らわしかったことが原因とみられる。",
            "棚ラベルを大きくし、サイズごとに色分けする対策を今週中に実施する。",
            "また、配送が遅れても連絡が来ないという声があり、遅延が発生した際にお客様へ自動で通知する機能を有効にする。",
            "設定作業は来週中に情報システム部と進める。",
            "返品された商品の検品にも平均で5営業日かかっているため、作業手順を見直して3営業日以内を目指す。",
            "年末商戦に向けて、11月中旬からアルバイトを4名増員する計画についても確認した。",
            "採用は人事と連携して進め、研修資料は既存のものを更新して使う。",
            "次回は二週間後、業者選定の結果と梱包材のテスト結果を報告する。",
        ],
    ),
    (
        dt.date(2024, 6, 17),
        "Finance",
        [
            "Monthly finance review for May.",
            "Revenue was 412,000 euros, 6% above plan, driven mostly by the coffee maker and by a strong "
            "week "
            "in Japan after a popular blog post.",
            "Gross margin fell from 41% to 38% because of higher shipping costs and the free replacement "
            "cushions for the ANC-200 headphones.",
            "Refunds reached 3.9% of revenue; the double-charge bug in April accounts for about a quarter "
            "of that "
            "and should not repeat now that the payment provider has fixed the retry logic.",
            "Cash position is healthy, at roughly four months of operating costs.",
            "Ravi raised the exchange-rate risk on yen sales: we currently convert weekly at the spot rate, "
            "and the yen has moved more than 5% in two months.",
            "The team agreed to ask the bank for a quote on a simple forward contract for half of the "
            "expected "
            "Japanese revenue in the third quarter.",
            "The proposal to let support leads approve refunds under 50 euros without a finance sign-off was "
            "accepted, with a monthly report so that we can spot abuse.",
            "Budget for the summer campaign confirmed at 18,000 euros.",
            "Next review on 15 July.",
        ],
    ),
    (
        dt.date(2024, 6, 19),
        "Product planning",
        [
            "商品企画ミーティング。",
            "春の新商品として検討しているポータブルコーヒーメーカーについて、試作品の社内テスト結果を共有した。",
            "味の評価は概ね良好だったが、抽出に時間がかかりすぎるという意見が多く、現在の約6分を4分以内に短縮することが目標となった。",
            "設計担当の中村さんによると、ヒーターの出力を上げるとバッテリーの持ちが悪くなるため、両立には追加の検証が必要とのこと。",
            "価格については、競合製品が8,000円から12,000円の範囲に集中していることから、9,800円を軸に検討する。",
            "ただし、専用の携帯ケースを付属させる場合は原価が上がるため、ケースは別売りにする案も出た。結論は次回に持ち越し。",
            "パッケージデザインは外部のデザイン事務所に依頼済みで、来週初稿が届く予定。",
            "説明書については、海外向けの販売も視野に入れて日本語と英語の両方を用意することになった。",
            "前回の商品では英語の説明書しか同梱されておらず、レビューで指摘されたことを踏まえた対応である。",
            "発売時期は3月上旬を目標とするが、量産ラインの確保が遅れた場合は4月にずらす可能性がある。",
            "また、既存のコーヒーメーカーについて、動作音が大きいというレビューが複数寄せられていることも共有された。",
            "新商品では静音性も評価項目に加え、試作品の段階で騒音を測定する。",
            "営業部からは家電量販店での取り扱いについて早めに相談したいとの要望があり、次回は営業担当者にも参加してもらう。",
            "各担当は、次回までにコスト試算、抽出時間の改善案、販促スケジュールの案をまとめて提出する。",
        ],
    ),
    (
        dt.date(2024, 6, 21),
        "Customer success",
        [
            "Review of the returns policy after a month of complaints.",
            "Today customers have 14 days to return an item and must pay for return shipping unless the item "
            "is faulty.",
            "Support reports that the faulty-or-not question causes most of the friction: customers describe "
            "a problem, we ask for photos, and the conversation drags on for a week.",
            "Jonas proposed extending the window to 30 days and offering free returns for all orders above "
            "50 euros.",
            "Finance estimates the extra cost at about 2,500 euros per month, based on current volumes, "
            "but expects part of it back from fewer support hours and better reviews.",
            "Concerns were raised about shoes, where people order two sizes and send one back; "
            "we agreed to add a clearer size guide and a 'fits small' note where reviews say so, "
            "instead of excluding shoes from the new policy.",
            "The team also wants the return label to be available directly from the order page, "
            "without writing to support first.",
            "Decision: pilot the 30-day free-returns policy for July and August, then decide based on return "
            "rate, cost and review scores.",
            "Jonas will draft the new policy text by Wednesday; legal must approve it before it goes live.",
        ],
    ),
    (
        dt.date(2024, 6, 24),
        "Web",
        [
            "Design review of the new product page.",
            "The current page loads in 4.2 seconds on a mid-range phone, mostly because of unoptimised "
            "images "
            "and three tracking scripts.",
            "The redesign moves reviews much higher up the page, shows the average rating next to the price, "
            "and adds a short summary of what reviewers like and dislike.",
            "Mei showed a prototype where that summary is generated from the reviews; the team liked the "
            "idea "
            "but insisted that the summary must be checked by a person before it is published, "
            "and that negative points must not be filtered out.",
            "Accessibility issues found in the audit: the star rating is not readable by screen readers, "
            "the colour contrast of the 'add to cart' button is too low, and the size selector cannot be "
            "used "
            "with a keyboard.",
            "All three will be fixed in the first release.",
            "Two tracking scripts will be removed after checking with marketing which reports still use "
            "them.",
            "Target for the first release is 15 July, starting with the headphone category, "
            "followed by coffee equipment and shoes in August.",
            "Next review when the prototype has been tested with five customers.",
        ],
    ),
    (
        dt.date(2024, 6, 28),
        "Operations",
        [
            "Quarterly operations meeting with the warehouse leads.",
            "Orders shipped per day rose from an average of 640 in March to 810 in June, "
            "and the team handled the peak without overtime thanks to the new picking routes.",
            "Mis-picks dropped to 0.2% after the shelves for shoes were relabelled with colour-coded sizes.",
            "Damaged-in-transit claims, however, doubled over the quarter.",
            "Almost all of them concern heavy items such as coffee makers and kettles, "
            "packed with the new paper filling; the warehouse will go back to air cushions for items "
            "over two kilograms from next Monday.",
            "Carrier performance was mixed: the main carrier delivered 95% of parcels on time in the cities "
            "but only 88% in rural areas, and customers noticed; several reviews mention late deliveries "
            "without any notification.",
            "We will turn on proactive delay emails, which the carrier supports but we never enabled.",
            "Staffing for the holiday season: four temporary workers from mid-November, "
            "with training materials updated by the end of October.",
            "Health and safety: one minor incident with a pallet jack; no injury, but refresher training is "
            "scheduled for all staff.",
        ],
    ),
]


def style_header(ws: Worksheet, ncols: int) -> None:
    for col in range(1, ncols + 1):
        cell = ws.cell(row=1, column=col)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center")


def set_properties(wb: Workbook, title: str) -> None:
    props = wb.properties
    props.creator = CREATOR
    props.lastModifiedBy = CREATOR
    props.title = title
    props.created = FIXED_TIME
    props.modified = FIXED_TIME


def review_date(i: int) -> dt.date:
    """Ascending, irregular but fixed dates from 1 March 2024."""
    return dt.date(2024, 3, 1) + dt.timedelta(days=2 * i + (i * 7) % 3)


def build_reviews() -> Workbook:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Reviews"
    headers = ["ID", "Review", "Stars", "Date", "Length"]
    ws.append(headers)
    for i, (text, stars) in enumerate(REVIEWS):
        row = i + 2
        ws.cell(row=row, column=1, value=f"R{i + 1:03d}")
        # Set the value explicitly as a string cell: a review starting with "=" would otherwise
        # become a formula in openpyxl. (None for the rating-only row keeps the cell truly empty.)
        review = ws.cell(row=row, column=2)
        if text:
            review.value = text
            review.data_type = "s"
        ws.cell(row=row, column=3, value=stars)
        date_cell = ws.cell(row=row, column=4, value=review_date(i))
        date_cell.number_format = DATE_FORMAT
        ws.cell(row=row, column=5, value=f"=LEN(B{row})")
    last = len(REVIEWS) + 1

    style_header(ws, len(headers))
    for col, width in zip("ABCDE", (8, 70, 7, 12, 9), strict=True):
        ws.column_dimensions[col].width = width
    for row in range(2, last + 1):
        ws.cell(row=row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:E{last}"
    dv = DataValidation(
        type="whole",
        operator="between",
        formula1="1",
        formula2="5",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Stars",
        error="Stars must be a whole number from 1 to 5.",
    )
    dv.add(f"C2:C{last}")
    ws.add_data_validation(dv)

    summary = wb.create_sheet("Summary")
    summary["A1"] = "Customer reviews — summary"
    summary.merge_cells("A1:D1")
    summary["A1"].font = Font(bold=True, size=14)
    summary["A1"].alignment = Alignment(horizontal="center")
    rows: list[tuple[str, str, str | None]] = [
        ("Reviews with text", f"=COUNTA(Reviews!B2:B{last})", None),
        ("Rows", f"=COUNTA(Reviews!A2:A{last})", None),
        ("Average stars", f"=AVERAGE(Reviews!C2:C{last})", "0.00"),
        ("5-star reviews", f"=COUNTIF(Reviews!C2:C{last},5)", None),
        ("1-star reviews", f"=COUNTIF(Reviews!C2:C{last},1)", None),
        ("First review", f"=MIN(Reviews!D2:D{last})", DATE_FORMAT),
        ("Latest review", f"=MAX(Reviews!D2:D{last})", DATE_FORMAT),
        ("Average length (chars)", f"=AVERAGE(Reviews!E2:E{last})", "0"),
        ("Share with text", "=ReviewCount/B4", "0%"),
    ]
    for offset, (label, formula, fmt) in enumerate(rows):
        r = 3 + offset
        summary.cell(row=r, column=1, value=label).font = Font(bold=True)
        value = summary.cell(row=r, column=2, value=formula)
        if fmt:
            value.number_format = fmt
    summary.column_dimensions["A"].width = 24
    summary.column_dimensions["B"].width = 14
    note_row = 3 + len(rows) + 1
    summary.cell(
        row=note_row,
        column=1,
        value="Run sheets-ai on the Reviews sheet to add a Sentiment column after Length.",
    ).font = Font(italic=True, color="666666")
    wb.defined_names.add(DefinedName("ReviewCount", attr_text="Summary!$B$3"))

    wb.active = 0
    set_properties(wb, "sheets-ai example: customer reviews")
    return wb


def build_meetings() -> Workbook:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Notes"
    headers = ["Date", "Team", "Notes"]
    ws.append(headers)
    for i, (day, team, sentences) in enumerate(MEETINGS):
        row = i + 2
        japanese = any(ord(ch) > 0x3000 for ch in sentences[0])
        text = ("" if japanese else " ").join(sentences)
        if not 600 <= len(text) <= 1500:
            raise ValueError(f"meeting note {i + 1} ({team}) is {len(text)} characters, want 600-1500")
        ws.cell(row=row, column=1, value=day).number_format = DATE_FORMAT
        ws.cell(row=row, column=2, value=team)
        note = ws.cell(row=row, column=3)
        note.value = text
        note.data_type = "s"
        note.alignment = Alignment(wrap_text=True, vertical="top")
    style_header(ws, len(headers))
    for col, width in zip("ABC", (12, 18, 100), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    set_properties(wb, "sheets-ai example: meeting notes")
    return wb


def save_deterministic(wb: Workbook, path: Path) -> None:
    """Save ``wb`` so that the bytes depend only on its content.

    openpyxl stamps ``modified`` with the current time and zip entries with the local time; the zip is
    repacked with fixed timestamps and core properties re-serialised with the fixed ``modified`` time.
    The file is written atomically (temporary file + rename).
    """
    from openpyxl.xml.functions import tostring

    raw = io.BytesIO()
    wb.save(raw)
    wb.properties.modified = FIXED_TIME
    core_xml = tostring(wb.properties.to_tree())

    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = core_xml if info.filename == "docProps/core.xml" else src.read(info.filename)
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, data)
    write_atomic(path, out.getvalue())


def write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_csv(n: int = 20) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "review", "stars"])
    for i, (text, stars) in enumerate(REVIEWS[:n]):
        writer.writerow([f"R{i + 1:03d}", text, stars])
    return buf.getvalue().encode("utf-8")


def write_examples(folder: Path = HERE) -> None:
    """Write reviews.xlsx, meetings.xlsx and reviews.csv into ``folder`` (the tests use fresh ones)."""
    save_deterministic(build_reviews(), folder / "reviews.xlsx")
    save_deterministic(build_meetings(), folder / "meetings.xlsx")
    write_atomic(folder / "reviews.csv", build_csv())


def main() -> None:
    write_examples(HERE)
    print(f"wrote {len(REVIEWS)} reviews, {len(MEETINGS)} meeting notes and a 20-row CSV to {HERE}")


if __name__ == "__main__":
    main()
