"""Providers: turn a batch of rows into answers. ``get_provider`` picks one for a config."""

from __future__ import annotations

import logging
import os

from ..config import RunConfig
from ..errors import UsageError
from .base import BatchAnswer, BatchItem, Provider, Usage

log = logging.getLogger("sheets_ai")

__all__ = ["BatchAnswer", "BatchItem", "Provider", "Usage", "get_provider", "openai_key_configured"]


def openai_key_configured(config: RunConfig) -> bool:
    """True when a key is available: the config's, OPENAI_API_KEY (or a secret holding it), or the variable
    api_key_env names."""
    variables = ("OPENAI_API_KEY", config.api_key_env or "OPENAI_API_KEY")
    # A Secret Manager secret holding the key (SHEETS_AI_OPENAI_API_KEY_SECRET) counts too; it is read later.
    secret = not config.api_key_env and os.environ.get("SHEETS_AI_OPENAI_API_KEY_SECRET", "").strip()
    return bool(
        (config.api_key and config.api_key.get_secret_value())
        or any(os.environ.get(v) for v in variables)
        or secret
    )


def get_provider(config: RunConfig, *, notices: list[str] | None = None) -> Provider:
    """``local``, ``openai`` or ``auto``: OpenAI when a key is configured, else the offline analyzer.

    ``notices`` is the run report's list: the provider adds what a user should know about the run to it.
    """
    name = config.provider
    if name == "auto":
        if openai_key_configured(config):
            name = "openai"
        else:
            message = "No OPENAI_API_KEY set: using the offline analyzer (--provider local)."
            log.info("%s", message)
            if notices is not None:
                notices.append(message)
            name = "local"
    if name == "local":
        from .local import LocalProvider

        if config.batch_api or config.service_tier == "flex":  # said before any table is opened
            option = "--batch-api" if config.batch_api else "--service-tier flex"
            why = "no OPENAI_API_KEY is set" if config.provider == "auto" else "--provider local is free"
            raise UsageError(
                f"{option} is an OpenAI price tier, and {why}: set OPENAI_API_KEY (or use --provider openai), "
                f"or leave {option} out to run the offline analyzer."
            )

        return LocalProvider(notices, dry_run=config.dry_run)
    from .openai import OpenAIProvider

    return OpenAIProvider(config, notices=notices)
