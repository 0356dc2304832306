"""Whether a stream was delivered as it was generated: the rule, and what may excuse a stream.

Let ``p`` be the time to the first content event and ``T`` the time to ``[DONE]``, both from the
moment the request was sent. Tokens sent "as they become available" arrive from ``p`` to ``T``;
a path that holds the answer back and sends it in one piece delivers every event at ``T``. A stream
is **incremental** when ``p <= 9/10 · T``: the first token may cost up to nine times what all the
others cost together, so a slow or a fast server is judged alike, and no absolute time is involved.

A buffering path can never produce an incremental stream, so one incremental stream proves the path
delivers incrementally (a pass). The converse does not hold: a **held-back** stream (``p > 9/10 · T``)
is also what a healthy server looks like when the client was not reading (descheduled, stalled).
So each held-back stream is checked against what was measured in its window (``checks/validity.py``):
it needed the first event to come ``p - 9/10 · T`` earlier; when the client's stall that ended as it
read the first event, or the client's own CPU wait in the window, was at least that long, the stream
is **explained** and is no evidence either way. Only unexplained held-back streams count against the
path, and one never decides: it takes ``evidence`` of them, with no incremental stream among the
attempts, to fail. When the attempts run out first, the measurement is invalid.

Where the server shares the client's machine (the local target) a busy machine can also starve the
server's sending thread, and that stream really arrives in one piece. The server processes' CPU wait
is measured and shown with every stream, but it does not excuse one: measured on the local target
with a gateway that buffers every stream, the main threads of vLLM's processes waited 17-43 ms in
each ~150 ms window on a quiet machine (its engine computes while its API server sends), so that
figure would excuse a buffering gateway as readily as a starved server. What protects a healthy
server there is the count: one incremental stream in up to ``stream_attempts`` passes, and
``stream_evidence`` unexplained held-back streams are needed to fail.
"""

from __future__ import annotations

from dataclasses import dataclass

from kserve_conformance.checks.validity import Stall, Window, longest_stall_ending_near

INCREMENTAL_SHARE = 0.9  # p <= 0.9 T
READ_SLACK_NS = 5_000_000  # between a stall's end and the read it delayed being stamped


@dataclass(frozen=True)
class Attempt:
    """One stream's arrival times (seconds from the send) and what its window went through."""

    content_events: int
    first_s: float
    done_s: float
    window: Window
    stall_at_first_ns: int  # the longest client stall that ended as the first content event was read

    @property
    def judgeable(self) -> bool:
        return self.content_events >= 2

    @property
    def incremental(self) -> bool:
        return self.judgeable and self.first_s <= INCREMENTAL_SHARE * self.done_s

    @property
    def needed_ns(self) -> int:
        """How much earlier the first event had to arrive for the stream to count as incremental."""
        return max(0, int((self.first_s - INCREMENTAL_SHARE * self.done_s) * 1e9))

    def explained_by(self) -> str:
        """Which measured condition could account for the held-back look ("" when none could)."""
        need = self.needed_ns
        found = []
        if self.stall_at_first_ns >= need:
            found.append(f"a client stall of {self.stall_at_first_ns / 1e6:.1f} ms ended as it was read")
        if self.window.run_delay_ns is not None and self.window.run_delay_ns >= need:
            found.append(f"the client waited {self.window.run_delay_ns / 1e6:.1f} ms for a CPU")
        return "; ".join(found)

    def describe(self) -> str:
        if not self.judgeable:
            return f"{self.content_events} content event(s): nothing to judge arrival by"
        shape = "incremental" if self.incremental else "held back"
        line = (
            f"{shape}: first of {self.content_events} content events at {self.first_s * 1000:.1f} ms "
            f"of {self.done_s * 1000:.1f} ms"
        )
        if not self.incremental:
            why = self.explained_by()
            need = f"needed {self.needed_ns / 1e6:.1f} ms earlier"
            line += f" ({need}; not evidence: {why})" if why else f" ({need}; {self.window.describe()}: evidence)"
        return line


def attempt(
    content_events: int, first_s: float, done_s: float, sent_ns: int, window: Window, stalls: list[Stall]
) -> Attempt:
    first_ns = sent_ns + int(first_s * 1e9)
    return Attempt(content_events, first_s, done_s, window, longest_stall_ending_near(stalls, first_ns, READ_SLACK_NS))


@dataclass(frozen=True)
class Verdict:
    outcome: str  # passed | failed | invalid | not-applicable | undecided
    message: str


def verdict(attempts: list[Attempt], evidence: int, max_attempts: int) -> Verdict:
    """The rule in this module's docstring, over the attempts so far."""
    seen = "; ".join(f"{i + 1}. {a.describe()}" for i, a in enumerate(attempts))
    if any(a.incremental for a in attempts):
        return Verdict("passed", seen)
    held = [a for a in attempts if a.judgeable and not a.explained_by()]
    if len(held) >= evidence:
        return Verdict(
            "failed",
            f"{len(held)} of {len(attempts)} streams were held back while the client was not held up, and none "
            f"arrived incrementally ({seen}): the stream was delivered in one piece at the end, not as tokens "
            "became available",
        )
    if len(attempts) < max_attempts:
        return Verdict("undecided", seen)
    if not any(a.judgeable for a in attempts):
        return Verdict("not-applicable", f"every stream carried fewer than 2 content events ({seen})")
    return Verdict(
        "invalid",
        f"{len(held)} of {len(attempts)} streams are evidence (at least {evidence} are needed) and none arrived "
        f"incrementally; the others coincided with the client's own stalls or CPU wait ({seen})",
    )
