"""The risk taxonomy: severity levels and kinds, aligned with the Columbia Suicide Severity Rating
Scale (C-SSRS; Posner K. et al., "The Columbia–Suicide Severity Rating Scale: initial validity and
internal consistency findings from three multisite studies with adolescents and adults",
Am J Psychiatry 168(12):1266–1277, 2011; screener items at cssrs.columbia.edu).

| kind | what it covers | C-SSRS item | default severity |
|---|---|---|---|
| ``passive_ideation`` | wish to be dead, not wake up, everyone better off without me | 1 wish to be dead | high |
| ``explicit_ideation`` | thoughts of killing oneself, wanting to die by suicide | 2 non-specific active thoughts | high |
| ``plan`` | method, means, place, a date or timeline, researching how | 3–5 method / intent / plan | imminent with means or a near time, else high |
| ``preparatory`` | farewells, last messages, a will, giving things away, rehoming pets | behaviour: preparatory acts | high (imminent with a date or means) |
| ``attempt`` | an attempt in progress or just made | behaviour: actual / interrupted / aborted attempt | imminent |
| ``self_harm`` | cutting, burning, hitting oneself, urges, relapse | behaviour: non-suicidal self-injury | high |
| ``command_hallucination`` | voices telling them to hurt or kill themselves | (clinical red flag, not a scale item) | high (imminent if acting now) |
| ``third_party`` | someone else is at risk (a friend took pills, a child is cutting) | (the same items, about another person) | as for the person at risk |
| ``embedded`` | risk stated in one clause of an ordinary request ("no rush on the refund, I won't be around to spend it") | any of the above | high or imminent |

Severity levels, in order: ``none`` < ``concern`` (low mood, hopelessness without risk: a gentle
check-in) < ``high`` (ideation, self-harm, preparatory acts: the escalation message with resources)
< ``imminent`` (plan with means or a timeline, an attempt in progress: an urgent message that leads
with the emergency number).  ``crisis`` (danger from someone else, abuse at home) and ``abuse``
(threats to harm others) are screened too; they are outside the suicide taxonomy and rated high.

This is a screen, not a clinical assessment: it decides when the assistant stops chatting and points
to people who can help.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["none", "concern", "high", "imminent"]
SEVERITIES: tuple[Severity, ...] = ("none", "concern", "high", "imminent")

RISK_KINDS: tuple[str, ...] = (
    "attempt", "plan", "explicit_ideation", "passive_ideation", "preparatory", "self_harm",
    "command_hallucination", "third_party", "embedded",
)
"""Suicide and self-harm risk kinds, most urgent first."""
OTHER_KINDS: tuple[str, ...] = ("crisis", "abuse")
CLASSIFIER_KINDS: tuple[str, ...] = ("none", "concern", *RISK_KINDS)
"""What the trained classifier predicts (``none`` and ``concern`` are not risk)."""


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def worst(a: Severity, b: Severity) -> Severity:
    return a if rank(a) >= rank(b) else b
