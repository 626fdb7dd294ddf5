"""--max-cost that holds under concurrency.

Before a request is sent, its worst case is reserved: the prompt's tokens plus every output token the
request allows (``max_tokens`` / ``max_completion_tokens``, which include a reasoning model's hidden
reasoning), at the model's prices. A request whose reservation does not fit beside what is spent and what
is reserved for the requests in flight is not sent. When the answer arrives its reservation is released and
its real cost charged; a server that reports no usage is charged the whole reservation, so the cap still
holds (and the report says the cost is an upper bound).
"""

from __future__ import annotations

from dataclasses import dataclass

from .providers.base import Usage


@dataclass
class Budget:
    cap: float | None
    spent: float = 0.0
    reserved: float = 0.0
    unreported: int = 0  # answers that came without usage, charged at their worst case

    def reserve(self, worst: Usage) -> bool:
        """Reserve a request's worst case; False when it would take the run past the cap."""
        if self.cap is None:
            return True
        if self.spent + self.reserved + worst.cost_usd > self.cap:
            return False
        self.reserved += worst.cost_usd
        return True

    def release(self, worst: Usage) -> None:
        """A reserved request that never got an answer (an error): it is not charged."""
        if self.cap is not None:
            self.reserved = max(0.0, self.reserved - worst.cost_usd)

    def settle(self, worst: Usage, actual: Usage) -> Usage:
        """The answer arrived: release its reservation and return the usage to charge."""
        self.release(worst)
        if not actual.reported:
            self.unreported += 1
            actual = Usage(
                requests=actual.requests,
                prompt_tokens=worst.prompt_tokens,
                completion_tokens=worst.completion_tokens,
                cost_usd=worst.cost_usd,
                reported=False,
            )
        self.spent += actual.cost_usd
        return actual

    def stop_message(self, rows_left: int) -> str:
        assert self.cap is not None
        return (
            f"budget: the next request could take the cost past --max-cost ${self.cap:.4f} "
            f"(spent ${self.spent:.4f}, counting each request at its worst case before it is sent); "
            f"{rows_left} rows not sent. Raise --max-cost and run again to continue."
        )
