"""What the structured responders (support, listener, casual) share: the turn they answer and how
their finished reply is streamed."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from emotion_agent.core.protocols import Turn


def user_text(history: Sequence[Turn]) -> str:
    """The latest user turn's text, spacing folded; a clear error when there is none or it is empty."""
    users = [t for t in history if t.role == "user"]
    if not users:
        raise ValueError("no user turn to reply to")
    text = " ".join(users[-1].text.split())
    if not text:
        raise ValueError("the user turn is empty")
    return text


WH_CLAUSE = re.compile(r"(?i)^\W*(?:(?:anyway|so|and|ok|okay|but|right|well|oh)\W+)*(?:what|who|where|when|which|how)\s+"
                        r"(?:i|he|she|we|they|my|his|her|our|their|came|went|got|happened|made|knew|turned out|arrived|"
                        r"showed up)\b")
"""A wh-word that opens a clause, not a question: "what came looks like a melted horse", "how i feel
is...".  Without a question mark such a sentence is a statement."""


_NOT_ADDRESSED = r"(?<!say )(?<!said )(?<!says )(?<!saying )(?<!a )(?<!no )(?<!even )(?<!want )(?<!get )(?<!got )"
_SIGN_OFF = re.compile(
    r"(?i)\b" + _NOT_ADDRESSED + r"(?:thank you|thanks|thank u|thx|ty|cheers) (?:so much |very much |again |a lot )?for "
    r"(?:listening|your help|the help|the chat|chatting|talking|everything|the advice|the tips|the suggestions|"
    r"your time|being there|hearing me out|the pep talk|the company|keeping me company|the laugh|the distraction|"
    r"putting up with (?:me|my \w+)|letting me (?:rant|vent|moan)|the push|the chat\w*)\b|"
    r"\b" + _NOT_ADDRESSED + r"(?:thank you|thanks|thank u) (?:so|very) much\b|"
    r"\b(?:you'?ve|you have) (?:honestly |really |literally |actually |just )?saved (?:my|her|his|our|the) \w+|"
    r"\b(?:this|it)(?: has|'s| was) been (?:a |such a |a really )?(?:lovely|nice|good|great|fun|helpful) "
    r"(?:chat|talk|natter)\b|\b(?:nice|lovely|good) (?:chatting|talking) (?:to|with) (?:you|u)\b|"
    r"\b" + _NOT_ADDRESSED + r"(?:thanks|thank you|thank u|thx|ty|cheers|many thanks|much appreciated|regards|"
    r"best wishes|take care|bye|goodbye|good night|goodnight|night night|talk (?:soon|later|tomorrow)|speak soon|"
    r"ttyl|laters|gotta go|got to go|i'?m off now|logging off)(?:\W+\w+){0,2}\W*$")
"""A thanks for the conversation anywhere in the last words, or a thanks or goodbye that ends the message
(two words may follow: "Regards, Dave.", "thanks again"); not a thanks talked about ("she doesn't even say
thank you")."""


def signs_off(text: str, tail_words: int = 18) -> bool:
    """Whether a message *ends* by thanking or saying goodbye ("…I'll ask her mum to wrap it. Many thanks for your
    help. Regards, Dave.", "…four days off after tonight thanks for listening i'm going in now"), however long
    the rest; not when it ends with a question."""
    words = text.split()
    if not words or text.rstrip().endswith("?"):
        return False
    return _SIGN_OFF.search(" ".join(words[-tail_words:])) is not None


_OFF_TO = re.compile(r"(?i)\b(?:i'?m|im|i am) (?:off|heading|going) (?:to|for) (?P<what>(?:the |a |an )[a-z]+)"
                     r"(?=\W|$)")
_BED = re.compile(r"(?i)\b(?:bed|sleep|night night|good ?night|nap|kip)\b")
_NOT_PLACE = re.compile(r"(?i)\b(?:be|get|go|try|do|make|see|have|hide|sort|look|start|finish|sleep|bed|work|cry)\b")


def farewell(text: str) -> str | None:
    """What a goodbye says the user is off to, as a friend's send-off: "Sleep well." for bed, "Enjoy the
    pub!" for "I'm off to the pub to celebrate"; None when it says nothing about it."""
    if _BED.search(text):
        return "Sleep well."
    found = _OFF_TO.search(text)
    if found is None:
        return None
    what = found.group("what").lower()
    if _NOT_PLACE.search(what):  # "off to hide under a beanie", "off to bed": not a place to enjoy
        return None
    return f"Enjoy {what}!"


def question_parts(text: str, tag: re.Pattern[str], start: re.Pattern[str]) -> tuple[str, str, bool]:
    """``text`` without a trailing tag (``tag``: "you know", "lol"), its last sentence, and whether that
    sentence asks something: it ends with one "?" (not "??" or "?!", which mark surprise at one's own
    news, "and it was actually good??", unless it opens like a question), or it opens like a question
    (``start``) with a wh-word that asks rather than opens a clause ("what came was..." does not)."""
    untagged = tag.sub("", text) or text
    last = re.split(r"(?<=[.!?])\s+", untagged.strip())[-1]
    stripped = last.rstrip()
    opens = bool(start.search(last))
    if stripped.endswith(("??", "?!", "!?")):
        return untagged, last, opens
    return untagged, last, stripped.endswith("?") or (opens and not WH_CLAUSE.search(last))


def word_stream(reply: str) -> Iterator[str]:
    """A finished reply as deltas, word by word (the agent's contract for streaming responders)."""
    words = reply.split(" ")
    yield words[0]
    for word in words[1:]:
        yield " " + word
