"""The models the fake OpenAI server serves, its own list (not the client's price table).

Current chat models from OpenAI's models page; ``GET /v1/models`` lists them and any other name gets 404
``model_not_found``. Pass ``FakeOpenAI(models=[...])`` to serve others.
"""

from __future__ import annotations

KNOWN_MODELS = (
    "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
    "gpt-4o", "gpt-4o-mini",
    "gpt-5", "gpt-5-mini", "gpt-5-nano",
    "o3", "o3-mini", "o4-mini",
)  # fmt: skip
