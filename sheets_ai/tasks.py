"""Task definitions: what to ask, which answers are allowed, and how to judge one answer.

A task knows nothing about transport or batching. Providers answer in the task's canonical labels
(``positive``…, or the user's classify labels); :meth:`Task.validate` checks one answer and turns it into
the value written to the sheet (e.g. a renamed sentiment label).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from .config import RunConfig
from .errors import UsageError
from .shorten import shorten, target_chars, within_slack

SENTIMENT_LABELS = ("positive", "negative", "neutral", "mixed")
TASK_NAMES = ("sentiment", "summarize", "classify", "extract")
#: Bumped whenever instructions or the answer protocol change, so cached answers are not reused.
TASK_VERSION = "1"


@dataclass(frozen=True)
class Task:
    name: str
    instructions: str
    labels: tuple[str, ...] = ()
    display: dict[str, str] = field(default_factory=dict)
    max_chars: int | None = None
    question: str | None = None
    needs_language_model: bool = False
    #: A free-text answer a little over ``max_chars`` (sheets_ai.shorten) is cut with "…", not rejected.
    shortens: bool = False
    #: The user's domain role and rules (--instructions / --instructions-file), or None.
    domain: str | None = None
    #: Worked examples (input, answer) shown in the system prompt (sheets_ai.corrections).
    examples: tuple[tuple[str, str], ...] = ()
    #: Label tasks on a model without log-probabilities, when a confidence is wanted: each answer carries a
    #: self-reported confidence digit (sheets_ai.prompts, sheets_ai.confidence).
    rates_confidence: bool = False

    @property
    def is_label_task(self) -> bool:
        return bool(self.labels)

    def fixed_outputs(self) -> tuple[str, ...]:
        """Every value a label task can write (renamed sentiment labels, classify labels); empty for free text."""
        return tuple(self.display.get(label, label) for label in self.labels)

    def definition(self) -> dict[str, Any]:
        """Everything that changes an answer; used in cache keys."""
        definition: dict[str, Any] = {
            "name": self.name,
            "instructions": self.instructions,
            "labels": list(self.labels),
            "max_chars": self.max_chars,
            "question": self.question,
            "version": TASK_VERSION,
        }
        if self.domain:  # only when set: runs without instructions keep the keys they always had
            definition["domain"] = self.domain
        if self.examples:
            definition["examples"] = [list(pair) for pair in self.examples]
        if self.rates_confidence:  # another answer format: its answers are never mixed with plain ones
            definition["confidence"] = "self-reported"
        return definition

    def fingerprint(self) -> str:
        blob = json.dumps(self.definition(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def validate(self, answer: Any) -> tuple[str | None, str | None]:
        """Judge one answer: (value to write, None) or (None, reason it is not acceptable)."""
        if not isinstance(answer, str):
            return None, f"answer is {type(answer).__name__}, expected text"
        text = answer.strip()
        if not text:
            return None, "empty answer"
        if self.labels:
            for label in self.labels:
                if text.casefold() == label.casefold():
                    return self.display.get(label, label), None
            return None, f"{text[:40]!r} is not one of: {', '.join(self.labels)}"
        if self.max_chars is not None and len(text) > self.max_chars:
            if self.shortens and within_slack(len(text), self.max_chars):
                return shorten(text, self.max_chars), None
            return None, f"answer has {len(text)} characters, more than the limit of {self.max_chars}"
        return text, None


@dataclass(frozen=True)
class CompositeTask(Task):
    """Several tasks answered in one request (``--task sentiment,summarize``; sheets_ai.multitask).

    One answer per row holds each part's answer under the part's name (sheets_ai.prompts,
    :func:`~sheets_ai.prompts.combined_system_prompt`); :meth:`validate` judges every part with that part's
    own rules and keeps the parts that pass, so a row is done when at least one part is; the parts that fail
    are asked again on their own by that task's run.
    """

    parts: tuple[Task, ...] = ()

    def fixed_outputs(self) -> tuple[str, ...]:
        return tuple(value for part in self.parts for value in part.fixed_outputs())

    def definition(self) -> dict[str, Any]:
        return {"parts": [part.definition() for part in self.parts], "version": TASK_VERSION}

    def validate(self, answer: Any) -> tuple[str | None, str | None]:
        """The parts that pass, as JSON ``{"sentiment": "positive", …}`` (raw answers), or why none did."""
        try:
            values = json.loads(answer) if isinstance(answer, str) else None
        except ValueError:
            values = None
        if not isinstance(values, dict):
            return None, "the answer was not one object per task"
        good: dict[str, str] = {}
        reasons = []
        for part in self.parts:
            raw = values.get(part.name)
            if isinstance(raw, dict):  # {"problem": "..."}: what the answer's decoding found
                reasons.append(f"{part.name}: {raw.get('problem') or 'invalid answer'}")
                continue
            if raw is None:
                reasons.append(f"{part.name}: no answer for this row")
                continue
            value, problem = part.validate(raw)
            if value is None:
                reasons.append(f"{part.name}: {problem}")
            else:
                good[part.name] = raw.strip()
        if not good:
            return None, "; ".join(reasons)
        return json.dumps(good, ensure_ascii=False), None


def domain_instructions(config: RunConfig) -> str | None:
    """--instructions, or the text of --instructions-file (not both); None when neither is given."""
    if config.instructions and config.instructions_file:
        raise UsageError("Cannot use --instructions with --instructions-file; give one of them.")
    if config.instructions_file is None:
        return config.instructions.strip() if config.instructions else None
    path = config.instructions_file
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"--instructions-file {str(path)!r} not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"--instructions-file {str(path)!r} cannot be read as UTF-8 text ({type(exc).__name__}); save it "
            "as UTF-8."
        ) from None
    if not text.strip():
        raise UsageError(f"--instructions-file {str(path)!r} is empty.")
    if len(text) > 20_000:
        raise UsageError(
            f"--instructions-file {str(path)!r} has {len(text)} characters; keep it under 20,000."
        )
    return text.strip()


def build_task(config: RunConfig) -> Task:
    """Build the task a run asks for, checking its required options."""
    from .corrections import run_examples

    if "," in config.task:  # several tasks in one pass (sheets_ai.task_set)
        from .task_set import build_composite

        return build_composite(config)
    task = _build_task(config)
    domain = domain_instructions(config)
    examples = tuple(run_examples(config))
    return replace(task, domain=domain, examples=examples) if domain or examples else task


def _build_task(config: RunConfig) -> Task:
    name = config.task
    if name == "sentiment":
        display: dict[str, str] = {}
        if config.labels:
            if len(config.labels) != len(SENTIMENT_LABELS):
                raise UsageError(
                    "--labels for sentiment renames the 4 labels positive,negative,neutral,mixed in that order; "
                    f"got {len(config.labels)}: {','.join(config.labels)}"
                )
            display = dict(zip(SENTIMENT_LABELS, config.labels, strict=True))
        return Task(
            name="sentiment",
            instructions=(
                "Classify the overall sentiment of each text written by a customer: positive, negative, "
                "neutral (factual or no opinion) or mixed (clear praise and clear complaint)."
            ),
            labels=SENTIMENT_LABELS,
            display=display,
        )
    if name == "summarize":
        if config.labels:
            raise UsageError("Cannot use --labels with --task summarize.")
        return Task(
            name="summarize",
            instructions=(
                # About 85% of the limit: a model that overshoots a little still fits (sheets_ai.shorten).
                f"Summarize each text in at most {target_chars(config.max_chars)} characters, in the same "
                "language as the text. Keep the key facts, decisions and numbers; no preamble."
            ),
            max_chars=config.max_chars,
            shortens=True,
        )
    if name == "classify":
        if not config.labels:
            raise UsageError(
                '--task classify needs --labels, e.g. --labels "billing,shipping,quality,other".'
            )
        if len(config.labels) < 2:
            raise UsageError("--labels for classify needs at least two labels.")
        return Task(
            name="classify",
            instructions="Assign each text exactly one of the given categories, the one that fits best.",
            labels=tuple(config.labels),
            needs_language_model=True,
        )
    if name == "extract":
        if not config.prompt or not config.prompt.strip():
            raise UsageError('--task extract needs --prompt, e.g. --prompt "Which product is mentioned?".')
        if config.labels:
            raise UsageError("Cannot use --labels with --task extract.")
        return Task(
            name="extract",
            instructions=(
                "Answer the question about each text with a short answer taken from the text "
                f"(at most {config.max_chars} characters); answer 'none' when the text does not say."
            ),
            question=config.prompt.strip(),
            max_chars=config.max_chars,
            needs_language_model=True,
        )
    raise UsageError(f"Unknown task {name!r}. Tasks: {', '.join(TASK_NAMES)}")  # pragma: no cover
