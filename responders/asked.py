"""What a question to the bot asks, and a reply that takes it up without inventing an answer.

On conversations written by people who never saw this project (docs/replies_eval/fresh_v1 and the
stop-21 read set), a question to the bot was the commonest turn the structured responders got wrong:
"do you think it's weird I find it easier to talk to a chatbot" got "Nothing to report from me" (the
"do you" was read as a question about the bot), "should I call the estate security or is that too
much?" in the middle of a message was not seen as a question at all, and every other question got the
same "I don't want to guess" line, which the raters marked off-topic.  A friend takes the question
up, in its own words, and answers what can be answered without facts:

* ``reassure``: "is it weird / silly / normal / too late to X?", "am I overreacting?" → "It's not
  weird at all to X." (nothing harmful is reassured: see ``_HARM``);
* ``choice``: "should I X or Y?" → "X or Y: tough call", and asks which way they lean;
* ``opinion``: "do you think X?", "who do you reckon wins?", "what would you do?" → the question said
  back, an honest "I couldn't say for sure" and back to their view;
* ``info``: a request for facts or instructions ("can you explain X", "how long does X take") → the
  topic said back and an honest "I'd only be guessing" (the offline reply model invents these: "browning
  is removing the skin from a fish").

``read_question(text)`` finds the sentence that asks (the last one with a "?" or that opens like a
question, anywhere in the message) and reads it; ``answer(asked, style, key, said_before)`` writes the
reply in the casual, companion or check-in style.  Everything said back is the user's own words with
the pronouns turned round (``reflect``) and tidied (``tidy``); nothing else specific is said.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from emotion_agent.responders.reflect import best_clause, clauses, reflect, say_back, tidy
from emotion_agent.responders.structured import WH_CLAUSE

Kind = Literal["reassure", "choice", "opinion", "info"]
Style = Literal["casual", "companion", "checkin"]
Pick = Callable[[Sequence[str], str, Sequence[str]], str]


@dataclass(frozen=True)
class Asked:
    """A question to the bot: its kind, the sentence, and what the reply may say back."""

    kind: Kind
    sentence: str
    echo: str | None = None          # the asked-about part, second person ("to join a running club")
    adjective: str | None = None     # reassure: "weird", "normal", "too late"
    options: tuple[str, str] | None = None  # choice: ("keep grinding tonight", "call it")
    wh: str | None = None            # opinion: the wh-word it opens with ("who")


_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_OPENS = re.compile(r"(?i)^\W*(?:(?:ok|okay|so|and|but|anyway|right|well|oh|ok but|real question|random question|tell me|"
                    r"also|fr|tho|though|honestly|lol|haha|seriously|idk|hmm+|um+)\W+)*"
                    r"(?:is it|is that|is this|is there|are there|am i|do you|do u|did you|did u|would you|would u|could you|"
                    r"can you|can u|could u|should i|shall i|should we|shall we|do i|would it|will it|does it|does that|"
                    r"do (?:those|these|they|people|the|other|most)|does (?:the|this|that|it|he|she|anyone)|"
                    r"(?:was|were|is|are) (?:it|they|he|she|that|there)|did (?:the|they|he|she|it|people|\w+s)|"
                    r"what|why|how|who|whose|which (?:one|should|would|do|is better)|where|when|any (?:tips|ideas|advice))\b")
_TRAILING = re.compile(r"(?i)(?:[\s,]+(?:then|tho|though|honestly|be honest|to be honest|you tell me|lol|haha|"
                       r"like realistically|realistically|really|exactly|ngl|tbh|fr|or what|or not|right|"
                       r"like honestly|seriously))+\W*$")
_LEADING = re.compile(r"(?i)^\W*(?:(?:ok|okay|so|and|but|anyway|right|well|oh|real question|random question|also|fr|tell me|"
                      r"tho|though|honestly|lol|haha|seriously|idk|hmm+|um+|ok fr tho|be honest)\W+)+")

_HARM = re.compile(r"(?i)\b(?:hit|hitting|hurt|hurting|smack\w*|slap\w*|punch\w*|kick\w*|shak(?:e|ing) (?:him|her|the baby)|"
                   r"drunk|drink(?:ing)? (?:too much|every|alone|before|in the morning|a bottle)|cheat\w*|"
                   r"lie to|lied to|lying to|steal\w*|stole|kill\w*|die|dying|dead|starv\w*|"
                   r"skip(?:ping)? meals|not eat\w*|stopped eating|cut(?:ting)? myself|self.harm|pills|overdose|revenge|"
                   r"shout(?:ing)? at (?:my )?(?:kid|kids|son|daughter|child|baby)|drive after|drunk driv\w*|gambl\w*|"
                   r"(?:stop|stopped|stopping|skip|skipped|skipping|come off|coming off) (?:my |taking )?med\w*)\b")
"""What a question must not be reassured about ("is it bad that I hit him?", "is it normal to not eat
for days?"): those get the opinion reply, which reassures nothing."""

_REASSURE = re.compile(
    r"(?i)\b(?:is (?:it|that|this)|would (?:it|that) be|it'?s|its|it is|am i|i'?m|im|is it just me|"
    r"do you think (?:it'?s|its|it is|i'?m|im|i am)|think (?:it'?s|its|i'?m|im))\s+"
    r"(?:a bit |really |kind of |kinda |too |just |actually |totally |completely |so )?"
    r"(?P<adj>weird|normal|silly|ridiculous|stupid|odd|strange|mad|crazy|daft|dumb|unusual|bad|wrong|selfish|"
    r"too late|too old|embarrassing|pathetic|awful|terrible|horrible|fair|okay|ok|alright|reasonable|understandable|"
    r"a (?:ridiculous|silly|stupid|bad|daft|mad|crazy|weird) (?:idea|thing|question)|"
    r"a fair thing|overreacting|being (?:silly|dramatic|stupid|daft|unreasonable|paranoid|weird|ridiculous|"
    r"oversensitive|too sensitive|a baby|pathetic|selfish))\b(?P<rest>.*)$")
_CHOICE = re.compile(r"(?i)\b(?:should i|shall i|do i|would you|would u|is it better to|do you think i should|"
                     r"should we|do we)\s+(?P<a>.+?)\s+or\s+(?:should i\s+|just\s+|do i\s+|would you\s+|would u\s+)?"
                     r"(?P<b>.+?)\s*$")
_SINGLE = re.compile(r"(?i)\b(?:should i|shall i|do you think i should|would you|would u)\s+(?P<a>.+?)\s*$")
_OPINION_LEAD = re.compile(r"(?i)\b(?:do you think|do u think|d'?you think|do you reckon|d'?you reckon|do u reckon|"
                           r"do you consider|would you consider|do you rate|would you say is|"
                           r"you reckon|would you say|what do you think(?: of| about)?|what'?s your (?:take|opinion|view)"
                           r"(?: on)?)\s*(?:that\s+)?")
_WHAT_WOULD_YOU = re.compile(r"(?i)\b(?:what would (?:you|u) do|what would (?:you|u) have done|be honest|"
                             r"(?:who|whose|which)\b[\w\s]{0,30}\bwould (?:you|u)\b|would (?:you|u) (?:be|go|pick|choose|side)\b|"
                             r"you tell me|what do (?:you|u) think|wbu|what about you)\b")
_INFO = re.compile(r"(?i)^(?:can|could) (?:you|u) (?!believe|imagine|tell (?:it|that)|see)\w+|"
                   r"\bdo (?:you|u) (?:happen to )?know (?:if|whether|what|how|where|why|when|which|any|a)\b|\b(?:explain|what (?:is|are|does|do) (?!you\b)|what'?s (?:a|an|the)\b|how (?:long|much|many|often|do|does|can|"
                   r"should|would)|why (?:do|does|is|are|did)|is there (?:a|any) way|any (?:tips|advice)|"
                   r"recipe|what do (?:other )?people|how do people|where (?:can|do|should) i|"
                   r"is (?:it|turbulence|that) (?:actually |really )?(?:dangerous|safe|true))\b")
_EXPLAIN = re.compile(r"(?i)\b(?:explain|tell me|describe)\b(?:,? in plain (?:terms|english),?)?\s+"
                      r"(?P<topic>(?:what|how|why|who|when|where)\b.+)$")
_TO = re.compile(r"(?i)^\s*(?:to|that|if|when|how|i|im|i'?m|i am|i keep|i feel|i find)\b")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.split(text) if s.strip()]


def harmful(text: str) -> bool:
    """Whether ``text`` tells of something that must not be reassured ("is it bad that I hit him?")."""
    return _HARM.search(text) is not None


_OWN_HARM = re.compile(r"(?i)(?:\b(?:i|i've|ive|i have)\s+(?:\w+\s+)?|\bi\b.*\band (?:then )?)"
                       r"(?:hit|smacked|slapped|punched|kicked|shook|shoved|grabbed)\s+(?:him|her|them|one of them|one|"
                       r"(?:my|our|the) (?:\w+ )?(?:kid|son|daughter|child|baby|toddler|partner|wife|husband|brother|sister|"
                       r"mum|mom|dad|boyfriend|girlfriend|friend|dog|cat|puppy)s?)\b")


def owns_harm(text: str) -> bool:
    """Whether the user says they hurt someone ("I hit him", "i shouted at my kids and hit one"): a
    disclosure to meet calmly, without judging or excusing it."""
    return _OWN_HARM.search(text) is not None


OWN_HARM_REPLY = ("It sounds like things got really heated, and I'm glad you're telling me about it. "
                  "What was going on just before it happened?")
"""The reply to ``owns_harm``: no reassurance ("a lot of people do that"), no blame, one question."""


def find_question(text: str) -> tuple[str, bool] | None:
    """The sentence of ``text`` that asks something, and whether it opens like a question: the last one
    that opens like one ("should I…", "do you think…"), else the last that ends with a "?" (not "??" in a
    story, "she picked HIM??"), wherever it is in the message."""
    opening: str | None = None
    marked: str | None = None
    for sentence in _sentences(text):
        stripped = sentence.rstrip()
        opens = bool(_OPENS.search(sentence)) and not WH_CLAUSE.search(_LEADING.sub("", sentence)) \
            and not _NOT_ASKED.search(sentence) and (stripped.endswith("?") or not _WH_STATEMENT.search(sentence))
        if opens:
            opening = sentence
        elif stripped.endswith("?") and not stripped.endswith(("??", "?!", "!?")):
            marked = sentence
    if opening is not None:
        return opening, True
    if marked is not None:
        return marked, False
    inside = _INSIDE.search(text)  # "…the food doesn't get any better mind what would you say is the best thing"
    return (inside.group(0), True) if inside else None


_INSIDE = re.compile(r"(?i)\b(?:what would (?:you|u) say|what do (?:you|u) (?:think|reckon)|do (?:you|u) (?:think|reckon)|"
                     r"do (?:you|u) (?:happen to )?know (?:where|if|whether|what|how|why|when)|"
                     r"(?<!what )(?<!which )(?<!how )(?<!who )(?<!where )(?<!when )should i|"
                     r"is it (?:normal|weird|ok|okay|bad)|can (?:you|u) (?:explain|tell me|suggest))\b[^.?!]*$")
"""A question asked at the end of a run-on message with no sentence break (speech-to-text)."""
_WH_STATEMENT = re.compile(r"(?i)^\W*(?:what|who|where|when|how)\s+(?!(?:do|does|did|is|are|was|were|would|should|"
                           r"could|can|will|you|u|i|we|they|it|that|this|people|much|many|long|often|about)\b)\w+")
"""A wh-word followed by neither an auxiliary nor a subject ("What always strikes me is the preparation"):
without a "?" a statement, not a question."""
_NOT_ASKED = re.compile(r"(?i)\b(?:did (?:you|u) (?:see|hear|watch|catch)|have (?:you|u) (?:seen|heard|watched)|"
                        r"who (?:does|would do|even does) (?:this|that)|who even|how (?:dare|rude|lovely|cool|funny|"
                        r"sweet|mad)|what (?:a|an) \w+|(?:you|u) know\W*$|your (?:go-to|favourite|favorite|fave)|"
                        r"(?:you|u) (?:yourself|ever been|like|enjoy|have a)\b|about (?:you|yourself)\b|"
                        r"(?:you'?ve|you have) (?:ever )?(?:heard|seen|done|had|eaten|tried|been)\b|"
                        r"any (?:ideas|suggestions|recommendations)|recommend\w*|suggest\w*|"
                        r"how(?:'s| is| are| have)? (?:you|u|things|life|it going|your)\b|how hard can it be|what if\b|"
                        r"who (?:hires|would hire|would want|wants|cares|would care|would ever|even cares)\b|"
                        r"where do (?:i|we) (?:even )?(?:start|begin)|what (?:should|shall) (?:i|we)\b|(?:what are|what're|wyd|what r) (?:you|u)\b|"
                        r"what could (?:i|we) (?:do|watch|read|cook|eat|get|buy|make|play|listen))")
"""Not a question to take up: "did you see that" (news coming), "who does that" (a complaint), a question
about the bot's own life ("do you know much about birds yourself?", "what's your go-to dish"), which the
caller answers without inventing one, or a request for ideas (the caller asks what they are leaning towards)."""


def _flip(words: str) -> str | None:
    """``words`` in the second person, tidied; None when they cannot be said back cleanly.  A "you" already
    there is the generic one ("you have to boil them") and stays."""
    words = words.strip(" ,.?!;:")
    if not words:
        return None
    if _SECOND.search(words):
        if re.search(r"(?i)\b(?:i|i'm|im|i've|ive|i'll|i'd|me|my|mine|myself)\b", words):
            return None  # both persons: turning it round would confuse who is who
        said: str | None = words
    else:
        said = reflect(words)
    if said is None:
        return None
    said = re.sub(r"(?i)\bam you\b", "are you", said)
    if re.fullmatch(r"[A-Za-z]+", said):  # one word ("scripted"): nothing to tidy
        return said.lower()
    said = tidy(said, max_words=14)
    return said if said and len(said.split()) <= 14 else None


def _core(sentence: str) -> str:
    """The question without lead-ins ("ok but real question,") and tags ("then", "be honest")."""
    core = _LEADING.sub("", sentence)
    for _ in range(3):
        core = _TRAILING.sub("", core).strip(" ,?!.")
    return core


def read_question(text: str) -> Asked | None:
    """The question in ``text`` and its kind, or None when nothing is asked."""
    asked = find_question(text)
    if asked is None:
        return None
    sentence, opens = asked
    core = _core(sentence)
    found = _REASSURE.search(core)
    choice = _CHOICE.search(core)
    if found and choice and re.search(r"(?i)\b(?:should (?:i|we)|i should)\b", core) and _option(choice.group("a")):
        found = None  # "should I tell her or is it too late?": a choice, not a worry about being too late
    if found and harmful(text):
        return None  # "is it bad that I hit him?": no reassurance, and no "I couldn't call it" either
    if found:
        adjective = found.group("adj").lower()
        rest = found.group("rest").strip(" ,")
        rest = re.split(r"(?i)\s+or\s+(?:am i|is it|is that|do i|should i)\b", rest)[0]
        rest = re.split(r"(?i),|\s(?:because|cos|cause|but|and then)\s", rest)[0]
        if len(rest.split()) > 12:  # "to feel guilty all the time like guilty at work because…": up to "like"
            rest = re.split(r"(?i)\slike\s", rest)[0]
        echo = _flip(rest) if rest and _TO.search(rest) and len(rest.split()) <= 14 else None
        if echo is None and _BACK.search(core):  # "I feel like I should pay them back? is that weird": what came before
            earlier = text[:text.find(sentence)]
            found_before = clauses(earlier)  # the clause right before "is that normal?"
            before = say_back(found_before[-1]) if found_before else None
            before = before if before and len(before.split()) >= 3 else say_back(best_clause(earlier))
            echo = before if before and before.startswith("you") and len(before.split()) <= 12 else None
        if echo is not None and re.match(r"(?i)(?:you|you're|your)\b", echo):
            echo = "that " + echo
        return Asked("reassure", sentence, echo=echo, adjective=adjective)
    if not opens or re.search(r"(?i)\bshould (?:i|we) be\b", core):
        return None  # "which is fine?" (said, not asked); "should I be worried?" (the listener reflects it)
    if choice:
        first_words = choice.group("a").rsplit(",", 1)[-1]  # "would you bring, beer or snacks": "beer"
        first, second = _option(first_words), _option(choice.group("b"))
        if first and second:
            return Asked("choice", sentence, options=(first, second))
        if first:
            return Asked("choice", sentence, echo=first)
    if _INFO.search(core) and not _OPINION_LEAD.search(core):
        embedded = _EXPLAIN.search(core)
        if embedded:  # "can you explain what browning means": "about what browning means"
            said = _flip(embedded.group("topic"))
            return Asked("info", sentence, echo=f"about {said}" if said else None)
        plain = re.sub(r"(?i)^(?:do|d'?) ?(?:you|u) (?:happen to )?know ", "", core)  # "do you know where…": "where…"
        said = _flip(plain[0].lower() + plain[1:])
        return Asked("info", sentence, echo=f"{said[0].upper()}{said[1:]}?" if said else None)
    found = _SINGLE.search(core)
    if found and not _WHAT_WOULD_YOU.search(core):
        first = _option(found.group("a"))
        if first:
            return Asked("choice", sentence, echo=first)
    opinion = _LEADING.sub("", _OPINION_LEAD.sub("", core))  # "what do you think though, do…": no "though"
    wh = re.match(r"(?i)\W*(who|what|which|where|when|how|why)\b", opinion)
    if _WHAT_WOULD_YOU.search(core) and not _OPINION_LEAD.search(core):
        return Asked("opinion", sentence)
    echo = _as_question(opinion) if opinion and not _SECOND.search(opinion) else None
    return Asked("opinion", sentence, echo=echo, wh=wh.group(1).lower() if wh else None)


_OPTION_BAD = re.compile(r"(?i)^(?:is|are|was|were|does|do|did|that|it|this|not|nothing|no|something|what|"
                         r"will|would|am|has|have)\b")


def _option(words: str) -> str | None:
    """One option of a choice, said back ("keep grinding tonight"), or None when it is not an action."""
    words = re.split(r",|\s+(?:because|cos|cause|since|i'?m|im|i have|i've)\s+", words.strip())[0].strip(" ,?!.")
    if not words or _OPTION_BAD.match(words) or words.lower().startswith("be ") or len(words.split()) > 7:
        return None
    if re.fullmatch(r"[A-Za-z]+", words):  # "reply", "ghost": one word, said as it is
        return words.lower()
    said = _flip(words)
    return said[4:] if said and said.startswith("you ") and not words.lower().startswith(("i ", "you ")) else said


def _as_question(words: str) -> str | None:
    """A question said back as a question ("it's scripted" → "Is it scripted?"), or None."""
    words = words.strip(" ,?!.")
    statement = re.match(r"(?i)^(it|that|this|he|she|they|there)('s| is|'re| are| was| were)\s+(.+)$", words)
    if statement:
        subject = statement.group(1).lower()
        past = statement.group(2).strip().lower() in ("was", "were")
        verb = ("were" if subject == "they" else "was") if past else {"they": "are", "there": "is"}.get(subject, "is")
        said = _flip(statement.group(3))
        return f"{verb.capitalize()} {subject} {said}?" if said else None
    said = _flip(words)
    return f"{said[0].upper()}{said[1:]}?" if said else None


_SECOND = re.compile(r"(?i)\b(?:you|your|u|ur|yourself)\b")
_BACK = re.compile(r"(?i)\b(?:is|would) (?:that|this)\b")
_CALMING = re.compile(r"(?i)\b(?:tips?|advice|how (?:do|can|should) i|any way|what helps|ways? to)\b.{0,40}?\b(?:"
                      r"(?P<sleep>sleep|fall asleep|drop off|switch off at night|wind down)|calm\w*|settle|relax\w*|nerves|"
                      r"nervous|stop (?:shaking|panicking)|anxious|anxiety|panic\w*)\b")
"""A request for ways to calm down or sleep: general self-care a check-in may offer."""
_CALM_TIPS = ("Something that helps a lot of people is slow breathing: in for four, out for six, for a minute "
              "or so. What usually helps you settle, even a little?",
              "Slowing your breathing right down can take the edge off: breathe out for longer than you breathe in, "
              "for a minute or two. What's helped you before?")
_SLEEP_TIPS = ("A wind-down without screens and getting up for a bit when you can't drop off, rather than lying "
               "there, help a lot of people. What does your night usually look like?",
               "Keeping the same wake-up time and a screen-free half hour before bed helps a lot of people. What "
               "tends to keep you awake?")
_REASSURE_WORDS = {
    "normal": "normal", "okay": "okay", "ok": "okay", "alright": "okay", "fair": "fair", "reasonable": "reasonable",
    "understandable": "understandable", "a fair thing": "fair",
}


def answer(asked: Asked, style: Style, key: str, said_before: Sequence[str], pick: Pick,
           follow: str | None = None) -> str | None:
    """The reply to ``asked`` in ``style``; None when this module has nothing better than the caller's.
    ``follow``: the check-in's own gentle question for the feeling, asked after a reassurance."""
    if asked.kind == "reassure":
        return _reassure(asked, style, key, said_before, pick, follow)
    if asked.kind == "choice":
        back = {"casual": ("Which way are you leaning?", "What's your gut saying?"),
                "companion": ("Which way is your gut leaning?", "What feels right to you?"),
                "checkin": ("Which way are you leaning at the moment?", "What does your gut say?")}[style]
        if asked.options:
            first, second = asked.options
            openers = ("Ooh, {} – tough call.", "Ha, {}? Tough one.") if style == "casual" else \
                ("{}: that's a real toss-up.", "{}: I can see why you're torn.")
            lead = pick(openers, key, said_before).format(f"{first} or {second}")
            return f"{lead[0].upper()}{lead[1:]} {pick(back, key, said_before)}"
        if asked.echo:
            return f"Whether to {asked.echo} is your call, and it's a fair thing to weigh up. {pick(back, key, said_before)}"
        return None
    if asked.kind == "info" and style != "casual":
        calming = _CALMING.search(asked.sentence)
        if calming:  # general, safe self-care that helps many people: not medical advice, nothing invented
            return pick(_SLEEP_TIPS if calming.group("sleep") else _CALM_TIPS, key, said_before)
    if asked.kind == "info":
        echo = asked.echo if asked.echo and len(asked.echo.split()) <= 12 else None
        if echo and echo.endswith("?"):  # the question itself, said back first, and no second "?"
            honest = {"casual": ("Ha, I'd only be guessing, and I'd rather not steer you wrong.",
                                 "Honestly, I'd be guessing, so I'll leave that one to someone who knows."),
                      "companion": ("I'd only be guessing, and I'd hate to steer you wrong; someone who knows "
                                    "would be a better bet than me.",
                                    "Honestly, I'd be guessing, and you deserve better than a guess."),
                      "checkin": ("I'd only be guessing, and I'd rather not steer you wrong.",)}[style]
            return f"{echo} {pick(honest, key, said_before)}"
        topic = echo or "on that"
        return {"casual": pick((f"Ha, I'd only be guessing {topic}, and I'd rather not steer you wrong. What have you heard?",
                                f"Honestly, I'd be guessing {topic}. Anyone you could ask who'd know?"), key, said_before),
                "companion": pick((f"That's a good question, and I'd only be guessing {topic}; I'd hate to steer you "
                                   "wrong. Is there someone you could ask who'd know?",
                                   f"I'd be guessing {topic}, and you deserve better than a guess. What have you "
                                   "found so far?"), key, said_before),
                "checkin": pick((f"That's a fair thing to wonder, and I'd only be guessing {topic}. What's your own "
                                 "sense of it?",), key, said_before)}[style]
    # opinion: the question said back, honestly not answered, and their view asked for without a second "?"
    if asked.wh == "who" and re.search(r"(?i)\b(?:greatest|best|worst|favou?rite|goat|top)\b", asked.sentence):
        return pick(("Ooh, that's a big one, and I'd rather hear yours. Who gets your vote?",
                     "That's a debate and a half! Who's your pick?"), key, said_before)
    if asked.echo and 3 <= len(asked.echo.split()) <= 14:
        contest = re.search(r"(?i)\b(?:win|won|wins|winner|best|greatest|should have|pick|vote)\b", asked.sentence)
        view = {"who": "your pick", "which": "which you'd go for"}.get(asked.wh or "", "") if contest else ""
        if not view:
            view = {"casual": "what you reckon", "companion": "what you think", "checkin": "your own sense of it"}[style]
        echo = asked.echo if asked.echo.endswith("?") else f"{asked.echo}?"
        middle = pick(("Honestly, I couldn't call it, but I'd love to hear {}.",
                       "I genuinely couldn't say for sure; I'm curious about {}."), key, said_before).format(view)
        return f"{echo[0].upper()}{echo[1:]} {middle}"
    if re.search(r"(?i)\bsides?\b", asked.sentence):  # "whose side would you be on?"
        return pick(("Honestly, I can see both sides. Whose side are you leaning to?",
                     "Ha, I can see both sides of that one. Where do you land?"), key, said_before)
    if _WHAT_WOULD_YOU.search(asked.sentence):
        return {"casual": pick(("Ha, honestly? I'd go with my gut. What's yours saying?",
                                "Tough one! I'd sleep on it. Which way are you leaning?"), key, said_before),
                "companion": "Honestly, I'd go with whatever sits easiest with you. What's your gut telling you?",
                "checkin": "There isn't one right answer, and you know your situation best. "
                           "Which way are you leaning?"}[style]
    return None


def _reassure(asked: Asked, style: Style, key: str, said_before: Sequence[str], pick: Pick,
              follow: str | None) -> str | None:
    if asked.echo is None and style != "casual" and _BACK.search(asked.sentence) and asked.adjective == "normal":
        return None  # "I forget words mid-sentence. Is that normal?": the listener says the news back with it
    adjective = (asked.adjective or "").lower()
    what = f" {asked.echo}" if asked.echo else ""
    if re.search(r"(?i)\b(?:about|with|for|of|on|at)$", what):  # "to worry about": "to worry about it"
        what += " it"
    if what and not what.startswith((" to ", " that ", " if ", " when ", " how ")):
        what = f" that{what}" if not what.startswith(" to") else what
    if adjective in _REASSURE_WORDS:
        word = _REASSURE_WORDS[adjective]
        first = (f"It's completely {word}{what}." if word != "normal" else f"It's really normal{what}.")
        if not what:
            first = {"normal": "That's really normal.", "fair": "That's a completely fair thing to wonder."}.get(
                word, f"That's completely {word}.")
    elif adjective == "overreacting" or adjective.startswith("being "):
        first = "You don't sound like you're overreacting to me." if adjective == "overreacting" else \
            f"You don't sound {adjective.removeprefix('being ')} to me."
    elif adjective in ("too late", "too old"):
        first = f"It's not {adjective} at all{what}." if adjective == "too late" else f"You're not too old at all{what}."
    elif adjective in ("bad", "wrong", "selfish", "awful", "terrible", "horrible"):
        first = f"It doesn't sound {adjective} to me{what}."
    else:
        first = f"It's not {adjective} at all{what}."
    second = {"casual": pick(("Loads of people are the same.", "Honestly, loads of people would be the same."),
                             key, said_before),
              "companion": pick(("Plenty of people feel the same way.", "You're far from the only one."),
                                key, said_before),
              "checkin": follow or pick(("What's brought it up for you?", "What's been on your mind about it?"),
                                        key, said_before)}[style]
    return f"{first} {second}"
