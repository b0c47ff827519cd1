"""What the assistant says when the screen fires, by severity and kind, with resources per locale.

* ``imminent``: leads with the emergency number, then the crisis line;
* ``high``: the escalation message with resources;
* ``third_party``: how to help the other person (emergency services, stay with them);
* ``ask``: a ``high`` turn that only the trained classifier flagged (no explicit statement matched a
  pattern), in a conversation not already at high: the message asks directly whether the person is
  thinking about suicide or hurting themselves, with the same resources, instead of assuming it.  Asking
  directly is what suicide-prevention guidance recommends (the Columbia Protocol's screener questions;
  988's #BeThe1To "Ask"), and most classifier-only flags in everyday traffic are false alarms ("so i cut
  my own hair last nite. big mistake"), which "I'm really sorry you're feeling this way" misreads.  The
  next turn's answer decides what follows (``safety.conversation.read_answer``): a yes gets the ``admit``
  message, a brush-off ("forget I said anything") the short ``deflect`` message with the resources;
* the turns after a crisis message (``agent.processors.safety``): an admission ("yeah", "I'm not ok",
  "maybe I have") gets ``admit``; a refusal of the numbers gets ``no_numbers`` (no numbers); "just stay
  and talk to me" gets ``stay``; a second escalation within two turns gets the shorter ``follow_up``
  (``imminent_follow_up`` at imminent, which stays and still leads to the emergency number;
  ``no_numbers`` when the turn refuses them) instead of the same block again; after an ``imminent`` one,
  signs in the body or how long ago ("About an hour ago. I feel rather drowsy and quite cold.") get
  ``symptoms``, which leads with the emergency number;
* ``concern`` is not an escalation: the reply is generated as usual and a gentle check-in question
  (``CONCERN_QUESTION``) takes the place of the reply's own questions (``agent.processors.respond``).

Hosts replace resources per locale (``resources={"en-US": [...], "en-AU": [...]}``) or any message
(``messages={"high": "... {resources}"}``); ``{emergency}`` is the locale's emergency number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

EMERGENCY: dict[str, str] = {
    "en-US": "911", "en-CA": "911", "en-GB": "999", "en-IE": "112 or 999", "en-AU": "000", "en-NZ": "111",
    "default": "your local emergency number (911 in the US and Canada, 999 in the UK, 112 in the EU, 000 in Australia)",
}

RESOURCES: dict[str, tuple[str, ...]] = {
    "en-US": ("You can call or text 988 (Suicide & Crisis Lifeline) any time.",),
    "en-CA": ("You can call or text 9-8-8 (Suicide Crisis Helpline) any time.",),
    "en-GB": ("Samaritans answer any time on 116 123, or text SHOUT to 85258.",),
    "en-IE": ("Samaritans answer any time on 116 123.",),
    "en-AU": ("Lifeline answers any time on 13 11 14.",),
    "en-NZ": ("You can call or text 1737 any time.",),
    "default": (
        "In the US you can call or text 988; in the UK and Ireland Samaritans answer on 116 123; "
        "anywhere else, findahelpline.com lists free, confidential helplines.",
    ),
}

MESSAGES: dict[str, str] = {
    "imminent": (
        "Please call {emergency} right now, or ask someone near you to call. Your life matters and you "
        "don't have to get through this moment alone. {resources} If you can, stay with someone or go "
        "to where other people are."
    ),
    "high": (
        "I'm really sorry you're feeling this way, and I'm glad you told me. You deserve support from a "
        "real person right now. {resources} If you can, reach out to someone you trust and let them know "
        "how you're feeling."
    ),
    "ask": (
        "I might be reading this wrong, so I'll ask you straight out: are you having thoughts of suicide or "
        "of hurting yourself? If you are, you don't have to deal with it alone, and you deserve support from "
        "a real person: {resources} If I've misread you, just say so and we'll carry on."
    ),
    "deflect": (
        "Okay, I won't push. If things ever do feel that heavy, you don't have to carry it alone: "
        "{resources} I'm here to listen, whatever you want to talk about."
    ),
    "admit": (
        "Thank you for telling me. I'm really glad you did, and I'm taking it seriously. Are you safe right "
        "now? Please talk to someone tonight; you don't have to hold this alone: {resources}"
    ),
    "follow_up": (
        "I'm still here with you. Are you safe right now? If you can, talk to someone tonight: {resources}"
    ),
    "imminent_follow_up": (
        "Please call {emergency} now, or a crisis line, so a real person can be with you: {resources} I'm here "
        "with you too, and I'm staying. Is anyone with you, or nearby?"
    ),
    "symptoms": (
        "Please call {emergency} right now: feeling like that after taking something or hurting yourself needs "
        "medical help straight away, even if it seems to ease. If anyone is nearby, tell them now and unlock the "
        "door. I'm staying here with you. {resources}"
    ),
    "no_numbers": (
        "Okay, no more numbers from me. I'm still here, and I'm listening. What's weighing on you most right now?"
    ),
    "stay": (
        "I'm here, and I'm staying. Take your time and tell me what's going on. If it gets worse, please call "
        "{emergency}."
    ),
    "third_party": (
        "That sounds frightening, and it's good that you're reaching out for them. If they might be in "
        "danger now, call {emergency} and stay with them if it's safe to, or keep them on the phone. "
        "Remove anything they could use to hurt themselves if you can. {resources} They can call too, "
        "and so can you, for advice on how to help."
    ),
    "crisis": (
        "I'm really sorry this is happening to you. Your safety matters most. If you're in danger right "
        "now, call {emergency}. {resources} If you can, get to a safe place or be with someone you trust."
    ),
    "abuse": (
        "I want to help, but I can't continue with threats or abusive language. If anyone is in danger "
        "right now, please call {emergency}. If you're struggling with how you feel, findahelpline.com "
        "lists free, confidential support."
    ),
}

CONCERN_QUESTION = "How are you holding up right now, honestly?"
MISREAD = "Sorry, I misread that."
"""Said first in the reply to a turn that says the flagged one was misread (``safety.conversation``)."""
ANSWERED_NO = "Okay, thanks for telling me, and sorry if I misread you."
"""Said first in the reply to a plain "no" after the ``ask`` message (the level goes down one step)."""
REMINDER = "A crisis line is still there any time, and if you're in danger, please call emergency services straight away."
"""Added while the conversation's risk level stays high or imminent after an escalation: to the next
reply, to replies to turns with a risk signal, and at least every third reply (``agent.processors.respond``);
not after the person refused the numbers (``no_numbers``) until a new escalation.  It says the help is there
now: its earlier words, "If it starts to feel unsafe again…", were faulted by every pair of blind raters
while the risk was live ("'unsafe again' implies safe")."""


FIXED_KINDS = frozenset({"crisis", "abuse", "third_party", "ask", "deflect", "admit", "follow_up",
                         "imminent_follow_up", "no_numbers", "stay", "symptoms"})
"""Message keys used as they are, whatever the severity (the rest pick ``imminent`` or ``high``)."""

DOOR_OPEN = "If it ever does feel that heavy, you can tell me, and crisis lines are there any time."
"""Ends the reply after a plain "no" to the direct question or a "misread" turn: the level goes down, the
door stays open (in the blind rating, an apology with nothing left open failed people at risk who gave a
cover story)."""


@dataclass(frozen=True)
class ResponseBook:
    locale: str = "default"
    resources: Mapping[str, Sequence[str]] = field(default_factory=lambda: RESOURCES)
    messages: Mapping[str, str] = field(default_factory=lambda: MESSAGES)
    emergency: Mapping[str, str] = field(default_factory=lambda: EMERGENCY)

    def message(self, kind: str, severity: str) -> str:
        """The fixed message for a flagged user turn (``kind`` ``ask``: the direct question)."""
        key = kind if kind in FIXED_KINDS else "imminent" if severity == "imminent" else "high"
        template = self.messages.get(key) or MESSAGES[key]
        resources = self.resources.get(self.locale) or self.resources.get("default") or RESOURCES["default"]
        emergency = self.emergency.get(self.locale) or self.emergency.get("default") or EMERGENCY["default"]
        return " ".join(template.format(resources=" ".join(resources), emergency=emergency).split())
