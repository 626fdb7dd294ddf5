"""Providers: turn a batch of rows into answers. ``get_provider`` picks one for a config."""

from __future__ import annotations

import logging
import os

from ..config import RunConfig
from .base import BatchAnswer, BatchItem, Provider, Usage

log = logging.getLogger("sheets_ai")

__all__ = ["BatchAnswer", "BatchItem", "Provider", "Usage", "get_provider", "openai_key_configured"]


def openai_key_configured(config: RunConfig) -> bool:
    """True when an OpenAI key is available: the config's, or OPENAI_API_KEY."""
    return bool((config.api_key and config.api_key.get_secret_value()) or os.environ.get("OPENAI_API_KEY"))


def get_provider(config: RunConfig, *, notices: list[str] | None = None) -> Provider:
    """``local``, ``openai`` or ``auto``: OpenAI when a key is configured, else the offline analyzer."""
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

        return LocalProvider()
    from .openai import OpenAIProvider

    return OpenAIProvider(config, notices=notices)
