"""Structured listening replies for check-ins and the companion: reflect the user's words, name the
feeling, ask at most one gentle question.

The offline reply model (135M parameters) writes fluent sentences that often misread the feeling,
misquote the user ("Five-a-side back home is a lonely place to be") or ask questions that make no
sense; in the blind ratings of the dev scripts its check-in replies were on-topic and fitting in about
a quarter of cases.  Reflective listening is what a check-in needs and can be done without inventing
anything: say back, in the second person, what the user just said (a *simple reflection*), with the
feeling it carries, then one open question (or none).  ``ListenerResponder.reply``:

* a bare greeting → hello and how they are;
* thanks or a goodbye → a warm close;
* a question to the bot → no advice or facts it cannot know: reflect and turn it back gently;
* a plan or decision ("I'll have a look tonight") → affirm it, no question;
* good news → glad, say it back, one question about it;
* a short acknowledgement ("yeah", "ok") → leave room, one open question;
* otherwise → the feeling (the words' cues first, then the fused emotion) + the reflected clause +
  one question that fits the feeling and was not asked in the last replies.

The reflected clause is the user's own, pronouns turned round (``reflect``) and tidied (``tidy``: no
fillers, stutters or typos copied); nothing else specific is said.  A laugh at one's own story is
laughed along with.  Replies are one or two sentences with at most one question.  ``style`` changes the wording:
``checkin`` (mental_health) and ``companion`` (default).  Casual chat has its own responder
(``responders.casual``): it needs reactions to the news itself, not check-in questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Turn
from emotion_agent.responders import spelling
from emotion_agent.responders.asked import OWN_HARM_REPLY, answer, harmful, owns_harm, read_question
from emotion_agent.responders.reflect import (
    ARRANGED,
    BRIGHT_SPOT,
    DOWNSIDE,
    I_WILL,
    best_clause,
    clauses,
    say_back,
    tense_of,
    upside,
)
from emotion_agent.responders.structured import question_parts, signs_off, user_text, word_stream
from emotion_agent.responders.template import stable_index

Style = Literal["checkin", "companion"]

# The feeling a turn carries: the words' own cues first (they name it), then the fused emotion.
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(pattern, re.I)) for name, pattern in (
    ("lonely", r"\b(?:lonely|alone|on my own|by myself|no friends|don'?t know anyone|dont know anyone|"
               r"no one to talk|nobody to talk|left out|isolated|miss (?:home|them|my friends))\b"),
    ("grief", r"\b(?:died|passed away|put (?:her|him|them) to sleep|had (?:her|him|them) put to sleep|passed on|funeral|lost (?:my|our)|put (?:her|him|our \w+) down|miscarriage|"
              r"grief|grieving|since (?:mum|mom|dad) (?:died|passed)|"
              r"(?:mum|mom|mother|dad|father|nan|nana|gran|granny|grandma|grandmother|grandad|grandpa|grandfather|"
              r"husband|wife|partner|brother|sister|son|daughter|uncle|aunt|auntie|friend|dog|cat|he|she)"
              r"(?:'s)? passed(?! (?:the|his|her|my|their|a|an|it|me|us|them|with|on to|out|by)\b))\b"),
    ("tired", r"\b(?:exhausted|knackered|shattered|drained|burn(?:ing|t|ed)? ?out|no energy|so tired|"
              r"really tired|tired all the time|can'?t sleep|cant sleep|not sleeping|awake at|woke up at)\b"),
    ("overwhelmed", r"\b(?:overwhelm\w*|too much|so much to do|can'?t cope|cant cope|drowning|swamped|"
                    r"stressed|stress(?:ing)? out|under pressure|snowed under|behind on)\b"),
    ("worried", r"(?:\b(?:worr\w+|nervous|anxious|anxiety|scared|afraid|terrified|dread\w*|panic\w*|"
                r"freaking out|on edge|what if|can'?t stop thinking|cant stop thinking|feel sick)\b|"
                r"\U0001F62C|\U0001F630|\U0001F61F|\U0001F628|\U0001F627)"),  # grimacing, anxious, worried faces
    ("angry", r"(?:\b(?:angry|furious|fuming|livid|annoyed|irritated|irritable|pissed off|fed up|sick of|"
              r"snapped|shouted|lost it|so unfair|not fair|resent\w*)\b|"
              r"\U0001F643|\U0001F644|\U0001F612)"),  # upside-down face, eye roll, unamused: said through gritted teeth
    ("grossed", r"\b(?:gross|disgusting|revolting|vile|gagg?ed|gagging|nearly (?:threw up|puked|was sick)|"
                r"yuck|ew+|minging|rank|stank|stinks?)\b"),
    ("hurt", r"\b(?:hurt|let down|ignored|left on read|forgot my|didn'?t invite|wasn'?t invited|"
             r"embarrass\w*|humiliat\w*|ashamed|rejected)\b"),
    ("low", r"\b(?:sad|miserable|numb|laid off|made redundant|been let go|got (?:fired|sacked)|lost my job|(?:crying|cried|cry)(?!\s+(?:laughing|with laughter))|gutted|hopeless|awful|terrible|horrible|hard day|"
            r"rough day|bad day|(?:feel\w*|felt|been|i'?m|im|am|was|so|really|pretty|quite|bit)(?:\s+\w+){0,2}\s+"
            r"(?:down|low|empty|flat|heavy|grey|gray|rubbish|crap))\b"),
    # ("down", "flat", "empty", "heavy" alone are places and things: "the flat", "an empty carton")
    ("proud", r"\b(?:proud|managed to|(?:i|we) made it (?:to|in time|through)\b(?! the (?:end|day))|(?:\w+ )?(?:days|weeks|months|years) (?:sober|clean|off the drink|smoke[- ]free)|finally (?:did|went|got|booked|finished|made)|(?:i|we|i finally|we finally|finally) did it|"
              r"(?<!it )(?<!that )(?<!this )(?<!which )passed(?! (?:away|on|out|me|us|him|her|them|through|by|over|round|"
              r"around|though)\b)|got the job|"
              r"got in(?! (?:from|at|late|early|home|the|my|around|about|after|before|last|this|bed)\b)|"
              r"first time in|first \w+ in (?:ages|years|months))\b"),
    ("relieved", r"\b(?:relieved|relief|feel(?:ing)? (?:a bit |a lot |much |loads )?better|less (?:scared|worried|scary)|phew|weight off|all clear|came back (?:fine|normal|clear)|finally\W*$|"
                 r"all normal|turned out fine)\b"),
    ("glad", r"\b(?:happy|great(?! deal)|brilliant|amazing|excited|can'?t wait|cant wait|lovely|fun|good day|"
             r"really good|so good|best (?:day|trip|night|thing|weekend|time|news)|yay|woo+|love(?:d)? it)\b"),
    # laughing at one's own story ("lol" alone softens anything, so it is not a cue)
    ("amused", r"(?:\b(?:lmao+\w*|lmfao|haha+\w*|hehe+|hilarious|so funny|cracking up|in stitches|"
               r"crying laughing|rofl)\b|\U0001F602|\U0001F923|\U0001F606|\U0001F605)"),
))
_NEGATED = re.compile(r"(?i)\b(?:didn'?t|did not|don'?t|do not|wasn'?t|weren'?t|no longer|not as|without|less)\s+(?:\w+\s+){0,3}$")
"""Words that undo a negative feeling named right after them."""
_NOT_GOOD = re.compile(r"(?i)(?:\bnot|n'?t|\bnever|\bno|\bhardly|\bnothing|\bnone of it)\s+"
                       r"(?:(?:a|an|the|so|that|very|really|too|particularly|exactly|all|been|be|being|feeling|feel|"
                       r"super|much|quite|overly|the\s+most)\s+){0,3}$")
"""A negation right before a good word ("not a great day", "wasn't that fun", "no fun", "not happy"): the
good word then says the day was bad, not good."""
_HAPPY_TOO = re.compile(r"(?i)^(?:cr(?:y|ied|ying)\b|can'?t stop thinking|worr\w* for nothing|scared than|"
                        r"nervous\b(?=.*\bexcit))")
"""Negative cue words that happy news uses too (happy tears, "can't stop thinking about it"); they, and any
worry word ("all that worrying for nothing", "scared to eat it, it's so pretty"), give way to a confident
happy reading.  Sadness, hurt and annoyance words do not ("he looked so sad with the burnt pan")."""
_LASTING = re.compile(r"(?i)\b(?:feel\w*|felt|been|lately|recently|always|all the time|every (?:day|night|morning)|"
                      r"for (?:weeks|months|ages|days|a while)|keep|kept|since|again|anymore|these days)\b")
"""A feeling or state that lasts: only then is "How long…?" a fitting question."""
_RHETORICAL = re.compile(r"(?i)^\W*(?:wait\W+|omg\W+|oh\W+)*(?:seriously|really|right|for real|"
                         r"can you believe (?:it|that|this)|how (?:cool|amazing|mad|crazy|great|lovely|weird) is that|"
                         r"isn'?t (?:it|that) (?:great|amazing|mad|crazy|lovely)|who knew|guess what)\W*$|"
                         r"^\W*(?:but |and |so |like |honestly |seriously )*(?:why (?:do|did|am|have|would|is it) i|"
                         r"how (?:did|do|have) i (?:\w+ ){0,2}(?:end up|manage|get|let))\b|"
                         r"\bwho (?:hires|would (?:hire|want|employ|date|have)|wants|cares|would care|even cares)\b")
"""Questions that are reactions ("can you believe it?") or asked of oneself ("why do I have three garlic
presses"): answered as news, not with "I don't want to guess"."""
LAUGHING = re.compile(r"(?i)\b(?:lol|lmao+|haha+\w*|rofl)\b|\U0001F602|\U0001F923")
"""Laughing at it: with a confident happy reading, a trouble word is part of the joke ("embarrassed her a
bit lol")."""
_TURN = re.compile(r"(?i)\s(?:but|except(?: that| now)?|only now|although)\s")
"""Where a message turns ("got promoted!! which is great. except now I feel like a fraud"): the feeling
after the last turn is the one that counts."""
_THING_DIED = re.compile(r"(?i)\b(?:phone|battery|laptop|car|charger|tablet|computer|tv|telly|engine|kindle|"
                         r"headphones|earbuds|ipad|iphone|watch|console|controller|printer|router|wifi|torch)"
                         r"(?:'s)? (?:has |had |just |literally |completely |finally )*(?:died|dead|passed)\b")
"""A thing that died ("my phone died so I couldn't text"): no loss, so no condolence."""
_CUE_BY_NAME = dict(_CUES)
_FROM_LABEL = {"sad": "low", "fearful": "worried", "angry": "angry", "disgusted": "hurt",
               "happy": "glad", "surprised": "surprised", "neutral": "neutral"}
NEGATIVE_FEELINGS = frozenset({"lonely", "grief", "tired", "overwhelmed", "worried", "angry", "grossed", "hurt",
                               "low"})
POSITIVE_FEELINGS = frozenset({"glad", "proud", "relieved"})
_GRIEF = _CUES[1][1]

# "That sounds {word}" / "which sounds {word}" per feeling and style.
_FEELING_WORDS: dict[str, tuple[str, ...]] = {
    "lonely": ("lonely", "really lonely", "isolating"),
    "grief": ("so hard", "really painful", "heavy to carry"),
    "tired": ("exhausting", "draining", "really wearing"),
    "overwhelmed": ("like a lot to carry", "overwhelming", "like a lot on your plate"),
    "worried": ("worrying", "nerve-racking", "unsettling"),
    "angry": ("frustrating", "really maddening", "understandably annoying"),
    "grossed": ("grim", "pretty grim", "revolting"),
    "hurt": ("hurtful", "upsetting", "painful"),
    "low": ("hard", "really tough", "heavy"),
    "surprised": ("unexpected", "like a surprise", "like quite a turn"),
}
_QUESTIONS: dict[str, tuple[str, ...]] = {
    "lonely": ("Is there anyone around you can lean on, even a little?",
               "What's been helping, if anything, when it gets quiet?",
               "When does it feel most lonely?"),
    "grief": ("How are you holding up day to day?",
              "What's been the hardest part lately?",
              "Is there anyone you can talk about it with?"),
    "tired": ("What's taking the most out of you right now?",
              "Is there anything you could set down, even for a day?",
              "How are you getting any rest at the moment?"),
    "overwhelmed": ("What feels most pressing right now?",
                    "Which part is weighing on you most?",
                    "Is there one small piece you could take off the pile?"),
    "worried": ("What's the part that worries you most?",
                "What would help you feel a bit steadier about it?",
                "How long has it been on your mind?"),
    "angry": ("What's bothering you most about it?",
              "What would help most right now?",
              "How are you feeling about it now?"),
    "grossed": ("What did you do?", "How did you get through it?", "Has it put you off?"),
    "hurt": ("How are you feeling about it now?",
             "What did you make of it?",
             "What would help right now?"),
    "low": ("What's been the hardest part?",
            "How are you holding up?",
            "How long have you been feeling like this?"),
    "neutral": ("How are you feeling about it?",
                "Tell me a bit more.",
                "How has that been for you?"),
    "surprised": ("How are you feeling about it?",
                  "What do you make of it?",
                  "Did you see that coming at all?"),
    "remembering": ("What else do you remember?", "How are you holding up today?",
                    "What do you miss most?"),
    "amused": ("Then what happened?", "What happened next?", "Ha, and then?"),
    "light": ("Tell me more!", "How are you feeling about it?", "How has that been for you?"),
    "glad": ("How does it feel?", "What's been the best part so far?", "What's next for you with it?"),
    "proud": ("How does it feel?", "What made the difference, do you think?", "How are you feeling about it now?"),
    "relieved": ("How are you feeling now it's over?", "What will you do with the extra headspace?",
                 "How does it feel to have that off your mind?"),
}
_GLAD_OPENERS: dict[Style, tuple[str, ...]] = {
    "checkin": ("That's really good to hear.", "I'm so glad to hear that.", "That's great."),
    "companion": ("Oh, that's lovely to hear.", "That's brilliant.", "I'm really glad."),
}
_PROUD_OPENERS = ("That's a real achievement.", "You should be proud of that.", "That's a big step.")
_RELIEF_OPENERS = ("What a relief.", "That must be such a relief.", "That's a weight off.")

_GREETING = re.compile(r"(?i)^\W*(?:hi|hello|hey|hiya|heya|good (?:morning|afternoon|evening)|yo|howdy)\b"
                       r"[\w\s,!.']{0,20}$")
_THANKS = re.compile(r"(?i)\b(?:thanks|thank you|thank u|thx|ty|cheers|appreciate (?:it|that|you))\b")
_BYE = re.compile(r"(?i)\b(?:bye|goodbye|good night|goodnight|night night|talk (?:soon|later|tomorrow)|"
                  r"that'?s all|gotta go|got to go|speak soon)\b")
_PLAN = re.compile(r"(?i)\b(?:" + I_WILL + r"|i will|i'?m going to|im going to|i'?m gonna|im gonna|"
                   r"i might|maybe i'?ll|maybe i (?:should|could|can)|i could (?:try|ask|go|look|stick|call|text|book)|"
                   r"i should (?:probably|try|ask|go|look|call|text|book)|might (?:try|give|go|just|book|ask|look|text|call)|i'?ve decided|"
                   r"i'?m planning|im planning|my plan is|going to try|i'?m (?:just |probably |definitely |actually )?going to|"
                   r"i'?m thinking (?:of|about) \w+ing|^(?:probably |maybe |just )?(?:going to|gonna)|off to (?:bed|sleep)|"
                   + ARRANGED + r")\b")
_WHAT_IF = re.compile(r"(?i)^\W*(?:but |and |so |like |um |i keep thinking )*what if\b")
_LUCK = re.compile(r"(?i)\b(?:wish me luck|fingers crossed|here goes|wish me well)\b")
_NOT_A_PLAN = re.compile(r"(?i)\b(?:worr\w+|scared|afraid|terrified|nervous|what if|in case|i'?ll be|ill be|"
                         r"i'?ll never|i'?ll probably (?:fail|mess|forget|lose|cry)|i might (?:fail|cry|lose|mess)|"
                         r"(?:going to|gonna|might) (?:miss|be late|fail|lose|cry|be an? |be the |"
                         r"get (?:fired|sacked|told off|in trouble|wet|soaked)))")
"""Not a plan: a worry, something one cannot help ("I'm going to miss the start") or news ("I'm going to
be an auntie")."""
_CONDITIONAL = re.compile(r"(?i)\b(?:if|unless|or else|otherwise)\b")
_SHORT_ACK = re.compile(r"(?i)^\W*(?:yeah|yes|yep|yh|ok|okay|k|true|i guess|i suppose|maybe|probably|"
                        r"sort of|kind of|kinda|not really|no|nah|dunno|idk|i don'?t know|hmm+|mm+|right|fair)"
                        r"[\W]*(?:\w+\W*){0,2}$")
_QUESTION_START = re.compile(r"(?i)^\W*(?:(?:so|and|ok|okay|but|anyway|also|random question|real question|quick question)"
                             r"\W+)*(?:how|what|why|where|which|who|when|is it|is that|are you|do you|"
                             r"did you|would you|could you|can you|should i|do i|am i|have you|any (?:tips|ideas))\b")
_ADVICE = re.compile(r"(?i)\b(?:what should i|what do i do|how do i|how can i|should i|any (?:tips|advice|ideas)|"
                     r"what would you)\b")
_NORMAL = re.compile(r"(?i)\b(?:is (?:it|that|this) (?:normal|weird|bad|ok|okay|silly|stupid|wrong)|"
                     r"am i (?:weird|overreacting|being|the only|wrong|crazy|mad))\b")
_TAG = re.compile(r"(?i)[,\s]*\b(?:you know|ya know|right|yeah|innit|lol|haha)\W*$")
_CAPABILITIES = re.compile(r"(?i)\b(?:what (?:can|do) you do|what you can do|what are you(?= *(?:\?|$|exactly))|"
                           r"who are you|what is this|"
                           r"how does this work|what'?s this for|are you a (?:bot|robot|person|human|real person))\b")
_RECOMMEND = re.compile(r"(?i)\b(?:recommend\w*|suggest(?:ion)?s?|what (?:should|could) i (?:watch|read|cook|eat|listen to|name|call|"
                        r"get|buy|play|make|do (?:tonight|this weekend))|anything good)\b")
_APOLOGY = re.compile(r"(?i)\b(?:sorry (?:for|about) (?:the |my |all the )?(?:typos|spelling|rambling|long message|"
                      r"essay|going on|bothering you|the late reply|late reply|writing so much)|excuse (?:the|my) "
                      r"(?:typos|spelling))\b")
_FIRST_TIME = re.compile(r"(?i)\b(?:set (?:this|it) up for me|set this up on my|set me up (?:with|on) this|"
                         r"thought i'?d (?:try|give) (?:this|it)|trying this (?:out|for the first time)|first time (?:using|trying) "
                         r"this|said i (?:might|could|should) (?:try|enjoy|use) (?:this|it|a chat))\b")
"""Someone trying the chat for the first time ("My daughter set this up for me"): a welcome, not a plan."""
_TO_BED = re.compile(r"(?i)(?:^|[.,!]\s*|\b(?:i'?m|im|i am|ok|okay|right|anyway|so|now)\s+)(?:going|off|heading|gonna go|"
                     r"about to go|going to go) to (?:bed|sleep)\b(?! (?:feels|is|seems|makes|scares|never))|\bnight night\b")
_KNOW_ABOUT = re.compile(r"(?i)\b(?:do|d'?) ?(?:you|u) know (?:much|anything|a lot|a bit) about\b")
_ABOUT_BOT = re.compile(r"(?i)\b(?:are you|do you(?! (?:think|reckon|consider|rate|happen to know|know (?:if|whether|what|"
                        r"how|where|why|when|which|any|a)))|have you|would you|what about you|and you|"
                        r"your (?:weekend|day))\b")


def _reads_as(estimate: EmotionEstimate | None, labels: tuple[str, ...]) -> bool:
    """The fused emotion is confidently one of ``labels``."""
    return estimate is not None and not estimate.uncertain and str(estimate.label) in labels \
        and float(estimate.confidence) >= 0.6


def _cue_gives_way(name: str, found: re.Match[str], text: str, estimate: EmotionEstimate | None) -> bool:
    """Whether the feeling word ``found`` does not carry the turn after all."""
    if name in NEGATIVE_FEELINGS and _NEGATED.search(text[:found.start()]):
        return True  # "didn't have that anxious feeling", "no longer scared": the feeling is gone
    happy_too = name in NEGATIVE_FEELINGS and (
        name == "worried" or _HAPPY_TOO.search(found.group(0) + text[found.end():found.end() + 14])
        or (LAUGHING.search(text) and name not in ("lonely", "grief")))
    if happy_too and _reads_as(estimate, ("happy",)):
        return True  # "I might cry a bit" (proud), "scared to eat it, it's so pretty"
    if name in POSITIVE_FEELINGS | {"amused"}:
        return _reads_as(estimate, ("sad", "fearful", "angry", "disgusted"))  # "great, another bill": sarcastic
    return False


def feeling_of(text: str, estimate: EmotionEstimate | None) -> tuple[str, bool]:
    """The feeling a turn carries and whether the words themselves name it.  After "but", the later
    feeling is the one that counts ("nervous but mostly excited" is glad, "excited but terrified" worried)."""
    text = _THING_DIED.sub(" ", text)  # "my phone died": no loss
    turns = list(_TURN.finditer(text))
    after = text[turns[-1].end():] if turns else ""
    if after and any(pattern.search(after) for _, pattern in _CUES):
        text = after
    for name, pattern in _CUES:
        found = pattern.search(text)
        if found and name in POSITIVE_FEELINGS and _NOT_GOOD.search(text[:found.start()]):
            return "low", True  # "not a great day today tbh": not good news
        if found and not _cue_gives_way(name, found, text, estimate):
            return name, True
    if estimate is None or estimate.uncertain:
        return "neutral", False
    return _FROM_LABEL.get(str(estimate.label), "neutral"), False


def pick(options: Sequence[str], key: str, avoid: Sequence[str]) -> str:
    """A stable choice from ``options``: one the earlier replies ``avoid`` never used, else the one used
    longest ago (so a long conversation rotates through them instead of repeating one)."""
    start = stable_index(key, len(options))
    ordered = [options[(start + k) % len(options)] for k in range(len(options))]

    def last_use(choice: str) -> int:
        return max((i for i, said in enumerate(avoid) if choice in said), default=-1)

    return min(ordered, key=last_use)


class ListenerResponder:
    """Reflect + feeling + at most one question (module docstring); deterministic, microseconds."""

    def __init__(self, style: Style = "checkin") -> None:
        spelling.warm()
        self.style: Style = style
        self.name = f"listener-{style}"

    def reply(self, history: Sequence[Turn], estimate: EmotionEstimate | None) -> str:
        text = user_text(history)
        users = [t for t in history if t.role == "user"]
        said_before = [t.text for t in history if t.role == "assistant"]
        feeling, cued = feeling_of(text, estimate)
        grieving = any(_GRIEF.search(_THING_DIED.sub(" ", t.text)) for t in users[:-1])
        untagged, last, is_question = question_parts(text, _TAG, _QUESTION_START)
        if is_question and _RHETORICAL.search(last):
            is_question = False  # "can you believe it?", "wait seriously?": a reaction, not a question to answer
        words = len(text.split())

        if owns_harm(text):  # "I hit him": met calmly, not as an annoyance or with "a lot of people do"
            return OWN_HARM_REPLY
        if _GREETING.search(text) and words <= 6:
            return {"checkin": "Hi, it's good to hear from you. How are you doing today?",
                    "companion": "Hello, it's lovely to hear from you. How are things with you today?"}[self.style]
        opening = re.sub(r"(?i)^\W*(?:(?:ok|okay|yeah|yes|right|alright|aw+|oh)\b\W*)+", "", text)
        closing = _BYE.search(text) or (_THANKS.search(text) and (words <= 8 or _THANKS.match(opening)))
        if (closing and not is_question and words <= 25) or signs_off(text):
            return {"checkin": "You're welcome, and thank you for talking it through with me. "
                               "I'm here whenever you want to check in again.",
                    "companion": "You're very welcome. Take care of yourself, and come back any time."}[self.style]
        if _FIRST_TIME.search(text) and words <= 30 and not is_question:
            return {"checkin": "Hello, and welcome. I'm glad you're giving it a go. How are you doing today?",
                    "companion": "Hello, it's lovely to meet you. What would you like to chat about?"}[self.style]
        if _CAPABILITIES.search(text):
            return {"checkin": "I'm here to listen while you check in on how you're doing; I'm not a therapist, "
                               "but you can tell me whatever's on your mind. How are you today?",
                    "companion": "I'm here to keep you company and listen: your day, what's on your mind, "
                                 "anything at all. What would you like to talk about?"}[self.style]
        if _APOLOGY.search(text) and words <= 14:
            return "No need to apologise at all. What's on your mind?"
        if _LUCK.search(text) and not is_question:
            return pick(("Good luck, I really hope it goes well. Let me know how you get on.",
                          "Good luck! I hope it goes well, and I'd love to hear how it went."), text, said_before)
        if _TO_BED.search(text) and not is_question:  # "ok, going to bed now": a goodnight, not a plan to praise
            return {"checkin": "Sleep well, and thank you for talking it through with me. I'm here whenever you want "
                               "to check in again.",
                    "companion": "Sleep well, and come back any time."}[self.style]
        if _WHAT_IF.search(last):  # "what if I go blank": a worry, not a question to answer
            return pick(("That's a really understandable worry. What would help you feel a bit steadier about it?",
                          "It makes sense that your mind goes there. What's the part that worries you most?"),
                         text, said_before)
        if is_question:
            return self._answer_question(untagged, feeling, said_before)
        asked = read_question(untagged)  # a question in the middle ("is it weird to join? I used to play")
        taken_up = answer(asked, "checkin" if self.style == "checkin" else "companion", text, said_before, pick,
                          self._question(feeling, text, said_before)) if asked is not None else None
        if taken_up is not None:
            return taken_up
        if feeling == "grief" and cued and not grieving:  # "My wife passed away last spring… I've decided to bake"
            loss = next((c for c in clauses(text) if _GRIEF.search(c)), None)
            said_loss = say_back(loss) if loss else None
            first = f"I'm so sorry to hear that {said_loss}." if said_loss and len(said_loss.split()) <= 14 else \
                "I'm so sorry for your loss."
            return f"{first} {pick(_QUESTIONS['grief'], text, said_before)}"
        plan = next((c for c in reversed(clauses(text)) if _PLAN.search(c) and not _CONDITIONAL.search(c)
                     and not _NOT_A_PLAN.search(c)), None)
        if plan is not None and words <= 40:
            return self._plan(text, say_back(plan), feeling, said_before)
        clause = best_clause(text)
        said = say_back(clause)
        if feeling == "amused" and self.style == "checkin" and DOWNSIDE.search(text):
            # "at this rate I'm gonna be the guy who fails orgo twice lmao": laughing at trouble, not a joke to
            # laugh along with in a check-in
            feeling = _FROM_LABEL.get(str(estimate.label), "low") if estimate is not None and not estimate.uncertain \
                and str(estimate.label) not in ("happy", "neutral", "surprised") else "low"
        if feeling == "amused":
            return self._amused(text, said_before)
        if feeling in POSITIVE_FEELINGS and cued and not grieving:  # "the vet was lovely about it": not good news
            pattern = _CUE_BY_NAME[feeling]
            news = next((c for c in clauses(text) if pattern.search(c)), None)
            return self._good_news(text, say_back(news) if news else said, feeling, said_before)
        if feeling == "grief" and said:
            first = pick((f"I'm so sorry to hear that {said}.", f"I'm so sorry; {said}."),
                          text, said_before)
            return f"{first} {pick(_QUESTIONS['grief'], text, said_before)}"
        if grieving and feeling not in NEGATIVE_FEELINGS:
            feeling = "remembering"
        elif grieving:
            feeling = "grief"
        if _SHORT_ACK.search(text) or said is None:
            question = self._question(feeling, text, said_before)
            if _SHORT_ACK.search(text):
                lead = pick(("Take your time.", "That's okay.", "Fair enough."), text, said_before)
            elif feeling in NEGATIVE_FEELINGS:
                lead = f"That sounds {self._word(feeling, text)}."
            else:
                lead = "That makes sense."
            return f"{lead} {question}"
        if feeling in POSITIVE_FEELINGS:
            said = upside(text, said)  # "my fingertips are destroyed though" is not the good news
        return self._reflect(text, said, feeling if cued or feeling not in POSITIVE_FEELINGS else "light", said_before)

    @staticmethod
    def _question(feeling: str, text: str, said_before: Sequence[str]) -> str:
        """One question for the feeling.  (Asking about plain news by its tense instead, "How did it go?",
        was tried for the companion and rated worse on the training conversations: it guessed the
        tense wrong too often.)"""
        return ListenerResponder._fitting(_QUESTIONS.get(feeling, _QUESTIONS["neutral"]), text, said_before)

    @staticmethod
    def _fitting(questions: Sequence[str], text: str, said_before: Sequence[str]) -> str:
        """One of ``questions`` that fits the turn: "How long…?" and "How has that been…?" only about a
        state that lasts (not about a flat loaf, a plan or a one-off)."""
        options = list(questions)
        lasting = bool(_LASTING.search(text))
        if not lasting:  # "How long have you been feeling like this?" about a flat loaf
            options = [q for q in options if not q.startswith("How long")] or options
        if tense_of(text) == "past" or not lasting:  # "How has that been?" about a one-off or a fact
            options = [q for q in options if "has that been" not in q] or options
        return pick(options, text, said_before)

    def _amused(self, text: str, said_before: Sequence[str]) -> str:
        """A joke or a funny story: laugh along, and keep a story going."""
        lead = pick(("Ha, that's brilliant.", "Ha! I love that.", "That's so funny.") if self.style == "companion"
                    else ("That made me smile.", "Ha, I love that.", "That's lovely to hear."), text, said_before)
        if tense_of(text) == "past":
            return f"{lead} {pick(_QUESTIONS['amused'], text, said_before)}"
        return lead

    def _word(self, feeling: str, text: str) -> str:
        options = _FEELING_WORDS.get(feeling, ("hard",))
        return options[stable_index(text, len(options))]

    def _reflect(self, text: str, said: str, feeling: str, said_before: Sequence[str]) -> str:
        question = self._question(feeling, text, said_before)
        capital = said[0].upper() + said[1:]
        if BRIGHT_SPOT.search(said):  # "rent's paid at least": the bright spot, not more trouble
            first = pick((f"{capital}, and that's something.", f"Well, {said}; that's something at least."),
                         text, said_before)
            return f"{first} {question}"
        if feeling in NEGATIVE_FEELINGS or feeling == "surprised":
            word = self._word(feeling, text)
            noun = word if not word.startswith("like ") else "a lot"
            shapes = (f"It sounds like {said}, and that's {noun}.",
                      f"{capital}, and that sounds {word}.",
                      f"So {said}, and that sounds {word}.")
            first = pick(shapes, text, said_before)
            return f"{first} {question}"
        shapes = (f"So {said}.", f"It sounds like {said}.", f"Okay, so {said}.")
        if feeling == "light":  # the fused emotion is happy, the words do not say so: warm, without judging the news
            shapes = (f"Oh nice, {said}!", f"Ah, {said}!", f"Aw, {said}!") if self.style == "companion" else \
                (f"Oh nice, {said}.", f"Ah, so {said}.", f"Okay, {said}.")
            question = self._fitting(_QUESTIONS["light"], text, said_before)
        return f"{pick(shapes, text, said_before)} {question}"

    def _good_news(self, text: str, said: str | None, feeling: str, said_before: Sequence[str]) -> str:
        openers = _PROUD_OPENERS if feeling == "proud" else _GLAD_OPENERS[self.style]
        if feeling == "relieved":
            openers = _RELIEF_OPENERS
        opener = pick(openers, text, said_before)
        question = pick(_QUESTIONS[feeling], text, said_before)
        if said and said.startswith("you") and 4 <= len(said.split()) <= 14:
            second = opener[:-1] if opener.startswith(("I ", "I'm")) else opener[0].lower() + opener[1:-1]
            return f"{said[0].upper() + said[1:]}; {second}. {question}"
        return f"{opener} {question}"

    def _plan(self, text: str, said: str | None, feeling: str, said_before: Sequence[str]) -> str:
        if said and len(said.split()) <= 14:
            first = pick((f"So {said}; that sounds like a good plan.",
                           f"{said[0].upper() + said[1:]}: that sounds like a really good step."),
                          text, said_before)
        else:
            first = pick(("That sounds like a good plan.", "That's a good step.", "That sounds sensible."),
                          text, said_before)
        tail = ("It's okay to feel nervous about it, too." if feeling in ("worried", "overwhelmed") else
                pick(("I hope it goes well; let me know how you get on.", "Let me know how it goes.",
                       "I'd love to hear how it goes."), text, said_before))
        return f"{first} {tail}"

    def _answer_question(self, text: str, feeling: str, said_before: Sequence[str]) -> str:
        said = say_back(best_clause(text))
        asked = read_question(text)
        if asked is not None and not (_RECOMMEND.search(text) and self.style == "companion"):
            taken_up = answer(asked, "checkin" if self.style == "checkin" else "companion", text, said_before, pick,
                              self._question(feeling, text, said_before))
            if taken_up is not None:
                return taken_up
        if _NORMAL.search(text) and not harmful(text):
            if said and len(said.split()) <= 14:
                return f"{said[0].upper() + said[1:]}; a lot of people go through that, so you're far from alone in it."
            return pick(("A lot of people feel that way, so you're far from alone in it. "
                          "What's been making you wonder?",
                          "That's a very common feeling, and it makes sense to ask. What's brought it up for you?"),
                         text, said_before)
        if _RECOMMEND.search(text) and self.style == "companion":
            return pick(("I'd rather not pick for you, but I'd love to hear what you go for. What are you in the mood for?",
                          "Ooh, that's your call more than mine. What kind of thing are you in the mood for?"),
                         text, said_before)
        if _ADVICE.search(text):
            return pick(("There isn't one right answer, and you know your situation best. "
                          "What feels like the most doable first step to you?",
                          "That's a fair thing to be unsure about. What options have you been weighing up?"),
                         text, said_before)
        if _KNOW_ABOUT.search(text):  # "Do you know much about Vimy Ridge?": the user wants to tell it
            return pick(("Only a little, and I'd much rather hear it from you. What draws you back to it?",
                         "Not as much as you, I suspect. I'd love to hear what you know."), text, said_before)
        if _ABOUT_BOT.search(text):
            return {"checkin": "This space is all about you, so let's keep it there. How are you doing yourself?",
                    "companion": "Nothing to report from me, I'd much rather hear about you. How are you doing?"}[self.style]
        if said and feeling in NEGATIVE_FEELINGS:
            return f"{said[0].upper() + said[1:]}, and that sounds {self._word(feeling, text)}. " \
                   "I don't want to guess at an answer, but what's your own sense of it?"
        return pick(("That's a fair question, and I don't want to guess. What's your own sense of it?",
                      "I don't want to give you a guess dressed up as an answer. What are you thinking yourself?"),
                     text, said_before)

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        return word_stream(self.reply(history, estimate))
