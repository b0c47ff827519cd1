"""Structured replies for casual chat: react to the news in a few words, say it back, keep it going.

The reply model's casual replies were rated on-topic and fitting in 7 % of the dev scripts' turns
(blind round 7: echoes with nonsense questions, condolences for good news, misquoted numbers); in a
casual-only blind round this responder scored 14.5 % against 5.5 % for the model (better on every
criterion, still poor: flat echoes that do not react to the news).  A
friend's reply to news is mostly a reaction ("No way!", "Ugh, that's so annoying") tied to what was
said, and sometimes a question that keeps the story going.  ``CasualResponder.reply``:

* a greeting → hey and how it's going; thanks or a goodbye → a light sign-off;
* a story opener ("ok i have to tell someone this") → go on; a suggestion ("we should do a proper
  send-off") → yes, what are you thinking;
* a laugh at one's own story ("haha", "😂", "crying laughing") → laugh along;
* a question to the bot → nothing to report (no invented life, no "as a chatbot"), it asks back; a
  request for ideas or an opinion → back to what the user is leaning towards; "did you see / hear…"
  → fill me in;
* a plan → sounds good, have fun (no question);
* good news (the words say so) → glad, said back, one question about it;
* trouble → "Oh no" / "Ugh" with the user's words, one question;
* surprise → "No way" with the user's words, "then what?";
* otherwise → a short reaction with the user's words and a question that keeps it going.

Said-back words are tidied (``reflect.tidy``): no fillers ("like 9pm lmaooo"), stutters or typos
("last nigth"), the complaints of the blind round 8 raters.  Feelings and reflections come from the listener (``listener.feeling_of``, ``reflect``).  One or two
sentences, at most one question, nothing specific that the user did not say.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Turn
from emotion_agent.responders import spelling
from emotion_agent.responders.asked import OWN_HARM_REPLY, answer, find_question, owns_harm, read_question
from emotion_agent.responders.listener import LAUGHING, NEGATIVE_FEELINGS, POSITIVE_FEELINGS, feeling_of, pick
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
from emotion_agent.responders.structured import farewell, question_parts, signs_off, user_text, word_stream

_GREETING = re.compile(r"(?i)^\W*(?:hi|hello|hey|hiya|heya|yo|sup|morning|evening|good (?:morning|evening))\b"
                       r"[\w\s,!.']{0,20}$")
_CLOSE = re.compile(r"(?i)\b(?:thanks|thank you|thx|cheers|bye|night night|good ?night|talk (?:soon|later)|"
                    r"gotta go|got to go|speak soon|ttyl|laters|(?:right|ok|okay|anyway),? (?:i'?m|im) off)\b")
_PLAN = re.compile(r"(?i)\b(?:" + I_WILL + r"|i will|i'?m (?:\w+ )?going to|im (?:\w+ )?going to|i'?m gonna|im gonna|gonna|"
                   r"i might|might (?:go|try|just|do|get|head|book)|we'?re (?:\w+ )?going to|planning (?:to|on)|"
                   r"thinking (?:of|about) \w+ing|" + ARRANGED + r")\b")
_LUCK = re.compile(r"(?i)\b(?:wish me luck|fingers crossed|here goes)\b")
_IDIOM = re.compile(r"(?i)\b(?:i'?ll take it|i'?ll live|i'?ll never)\b")
_NOT_PLAN = re.compile(r"(?i)\b(?:if|unless|worr\w+|scared|what if|never|(?:going to|gonna) be)\b")
"""Not a plan: a condition, a worry, or a forecast ("I'm going to be useless tomorrow")."""
_QUESTION_START = re.compile(r"(?i)^\W*(?:(?:anyway|so|and|ok|okay|but|right|well|oh)\W+)*(?:how|what|why|where|which|who|when|is it|is that|are you|do you|did you|should we|shall we|"
                             r"would you|could you|can you|should i|have you|any (?:tips|ideas|recommendations))\b")
_ABOUT_BOT = re.compile(r"(?i)\b(?:are you|do you(?! (?:think|reckon))|have you|would you|what about you|and you|you up to|you been up to|"
                        r"your (?:week|weekend|day|night|evening|morning|plans)|any plans (?:for|this)|"
                        r"how(?:'s| is| are| have) (?:you|things|life|it going))\b")
_INVITE = re.compile(r"(?i)\b(?:fancy (?:a|an|coming|joining|grabbing|going|meeting)|wanna (?:come|join|grab|get|go|meet)|"
                     r"(?:want|like) to (?:come|join|grab|meet)|come with (?:me|us)|join (?:me|us)|you in\b|are you in\b|"
                     r"you coming\b|up for (?:a|it)\b)")
_CELEBRATE = re.compile(r"(?i)\b(?:celebrat\w*|party|toast|drinks?|bubbly|champagne|prosecco)\b")
_HOW_ARE_YOU = re.compile(r"(?i)\bhow(?:'s| is| are| have)? (?:are you|you doing|you been|it going|things|life)\b")
_FREE_TIME = re.compile(r"(?i)\bwhat would you do (?:with|on|if)\b")
_SEEN = re.compile(r"(?i)\b(?:did|have) you (?:see|seen|hear|heard|watch|watched|catch)\b")
_IDEAS = re.compile(r"(?i)\b(?:any (?:ideas|tips|recommendations|suggestions)|what should i|which (?:one|should)|"
                    r"should i|what would you)\b")
_STORY = re.compile(r"(?i)\b(?:(?:have|need|got|gotta) to (?:tell|talk to) (?:you|someone|somebody)|"
                    r"(?:need|have|got|gotta|want) to vent|(?:need|have|got|gotta) to rant|story ?time|"
                    r"(?:so )?you'?re getting (?:it|this|the story)|(?:hear|listen to) this|"
                    r"(?:have|need|got|gotta) to talk about|got(?:ta)? tell you|"
                    r"you'?ll never guess|guess what|guess who|wait till you hear|get this|listen to this|"
                    r"(?:you|u) (?:won'?t|will not|wont) believe|(?:you|u)'?ll never guess)\b")
_SUGGEST = re.compile(r"(?i)\b(?:we (?:should|need to|could|gotta|have to)|should we|shall we|let'?s|how about|"
                      r"what about (?:a|we|doing|going)|or something\W*$)")
_TAG = re.compile(r"(?i)[,\s]*\b(?:you know|right|yeah|innit|lol|haha|ngl|tbh)\W*$")

_GREAT = ("That's brilliant", "Amazing", "That's great news", "Love that")
_WIN = re.compile(r"(?i)\b(?:won|we won|(?:late|last[- ]minute|\d+(?:st|nd|rd|th) minute) winner|passed|nailed it|smashed it|got the (?:job|flat|house|place|part|offer)|got in|"
                  r"got accepted|engaged|promoted|promotion|got a (?:new )?job)\b")
_MY_WIN = re.compile(r"(?i)\b(?:we|i|we'?ve|i'?ve)\s+(?:just\s+|actually\s+|finally\s+|only\s+)?"
                     r"(?:won|passed|nailed it|smashed it|got the (?:job|flat|house|place|part|offer)|got accepted)\b")
"""The user's own win: it outweighs a fused reading the words do not name."""
_LATE_WINNER = re.compile(r"(?i)\b(?:late|last[- ]minute|\d+(?:st|nd|rd|th) minute|injury[- ]time) winner\b")
_LOST = re.compile(r"(?i)\b(?:lost|lose|losing|conceded|gutted|robbed|beat us|against us)\b")
"""A late winner with no word of losing ("DID YOU SEE THAT. 94th minute winner. I'm dead"): a win, whatever
the fused reading says ("I'm dead" read as sad)."""
_EXCLAIMED = re.compile(r"(?i)^\W*(?:\w+\W+){0,3}?(?:what an?|how) (?!do|does|did|is|are|was|were|can|could|would|"
                        r"should|will|much|many|long|often)\w+")
_YOUR_PICK = re.compile(r"(?i)\b(?:what(?:'s| is| would be| would)|which (?:is|would be)) (?:your|ur) "
                        r"(?:go-to|go to|favou?rite|fave|top|pick|choice|dream)\b")
_HEARD_OF = re.compile(r"(?i)\b(?:(?:have|has) (?:you|u) )?ever (?:heard of|seen) (?:a|an|anyone|anything|something|"
                       r"someone)\b|\b(?:funniest|best|worst|weirdest|craziest|maddest) \w+(?: \w+)? (?:you'?ve|u'?ve|you have) "
                       r"(?:ever )?(?:heard|seen)\b")
_EVER = re.compile(r"(?i)\b(?:have|has) (?:you|u) ever (?:frozen|blanked|forgotten|done|said|sent|made|fallen|"
                   r"dropped|burnt|burned|lost|broken|been embarrassed|had one of those)\b")
"""A "have you ever…" about a slip everyone makes: a friend says everyone has, without a story of its own."""
_WHO_DOES = re.compile(r"(?i)\b(?:who (?:does|would do|even does|says|orders|brings) (?:this|that)\b|who even\b|"
                       r"how rude\b|the audacity\b|the cheek\b)")
"""A complaint dressed as a question ("he ordered for me without asking?? Who does that these days"): agree,
do not answer it."""
_QUESTIONS = {
    "good": ("How does it feel?", "What happens next?", "Are you celebrating?"),
    "bad": ("That's so rubbish.", "Gutted for you.", "What a shame."),
    "distress": ("Are you okay?", "How are you doing now?", "Are you alright?"),
    "scared": ("That sounds so stressful.", "Eek, that's nerve-racking.", "Fingers crossed it's okay."),
    "annoyed": ("What a pain.", "Classic.", "What are you going to do?", "So annoying."),
    "gross": ("That's grim.", "Gross.", "I'm wincing for you."),
    "surprised": ("Then what?", "What did you do?", "How did that happen?"),
    "past": ("Then what?", "What happened next?", "Ha, and then?"),
}


_DISTRESS = re.compile(r"(?i)\b(?:devastated|heartbroken|crying|cried|in tears|hurt|injured|hospital|"
                       r"really upset|so upset|awful day|worst day)\b")
"""Trouble that deserves "are you okay?"; a small annoyance or a disappointment does not (the raters
marked "Are you okay?" after a disappointing film as not what a friend says)."""

_UNFOLDING = re.compile(r"(?i)^\W*(?:and|so|then|and then|so then|after that|next thing|anyway|but then)\b")
_ASKED_ON = re.compile(r"(?i)(?:then what|what happened next|and then\?|go on|tell me|all ears|fill me in|what happened\?)")
"""A story still unfolding: the message goes on from the last ("and then...") or answers "Then what?"."""
_CHEERS = ("Love that.", "Sounds amazing.", "That's brilliant.")
"""After good news said back; only for the turn's own feeling (carrying an earlier turn's mood over put
"Sounds amazing." after "my boyfriend says i'm a criminal" in the training conversations)."""


def _tail(text: str, feeling: str, lead: str, said_before: Sequence[str]) -> str:
    """What follows the said-back news: in a story still unfolding, "Then what?"; otherwise a reaction
    to good news ("Love that.") or nothing, rather than a question that may not fit ("How's that
    going?" to "there's a canal walk near me", which the raters marked off-topic)."""
    unfolding = _UNFOLDING.search(text) or (said_before and _ASKED_ON.search(said_before[-1]))
    if tense_of(text) == "past" and unfolding:
        options = [q for q in _QUESTIONS["past"] if not (lead.startswith("Ha") and q.startswith("Ha"))]
        return pick(options, text, said_before)
    if DOWNSIDE.search(lead):  # "Oh, you look ridiculous. That's brilliant." read as mocking
        return ""
    if feeling in POSITIVE_FEELINGS or feeling == "amused":
        return pick(_CHEERS, text, said_before)
    if _TRIED.search(lead):  # "you tried a durian for the first time": a friend asks how it was
        return pick(("How was it?", "And? How was it?"), text, said_before)
    return ""


_EXCITED = re.compile(r"!!|\b(?:i (?:literally |actually |just )?(?:screamed|squealed)|so excited|buzzing|over the moon|can'?t believe it|"
                      r"i can'?t wait|omg+)\b")
"""Excitement the words show without naming a feeling; with a neutral reading it is good news, not flat news."""
_COMPLAINT = re.compile(r"(?i)\b(?:where(?:'s| is| are)|why|meant to|supposed to|still|yet|again|wrong|missing|"
                        r"broken|cancel+ed|delayed|waiting)\b")
_IDEAS_ANYWHERE = re.compile(r"(?i)\b(?:any (?:ideas|suggestions|recommendations)|what should (?:i|we) (?:bake|cook|make|"
                             r"get|buy|watch|wear|do|bring|name)|give me (?:some )?ideas)\b")
_THOUGHTS_ON_MINE = re.compile(r"(?i)[\"“][^\"”]{3,}[\"”][^?]{0,30}\b(?:thoughts|what do (?:you|u) think|good\?|funny\?)")
"""The user's own line, quoted, put up for approval ("'the microwave is not an oven for the sea'. thoughts?")."""
_TROUBLE = re.compile(r"(?i)\b(?:burnt|burned|charcoal|ruined|broke|broken|smashed|cracked|lost|failed|fail|terrible|"
                      r"awful|worst|disaster|nightmare|overbooked|cancel+ed|delayed|missing|stuck|soaked|drenched|"
                      r"spilled|spilt|ripped|stolen|not helping|not speaking|mushroom|ugh|gutted|embarrass\w*|"
                      r"mortified|cringe|soggy|flooded|leak\w*|snapped|crashed|dented|scratched)\b")
"""A small disaster in plain news ("the burgers were charcoal"): "Oh no", not "Oh wow"."""
_LAUGHS = re.compile(LAUGHING.pattern + r"|\b(?:lmfao|hehe)\b|\U0001F480", re.I)
"""The listener's laughter, and the lol-like words and 💀 casual chat uses."""
_EITHER_OR = re.compile(r"(?i)\b(?:should|shall) we\b[^.?!]*\bor\b")
"""A choice put to the bot ("should we go back or just use tape"): taken up as a choice, not cheered as a plan."""
_VENT = re.compile(r"(?i)\b(?:vent|rant)\b")
_LOUD = re.compile(r"!|\b(?!(?:OK|LOL|OMG|UK|US|USA|TV|BBC|NHS|ID|PIN|DIY|IKEA|ICU|GP|PM|AM)\b)[A-Z]{3,}\b")
"""News told loudly: an exclamation mark or a shouted word (not an acronym)."""
_TRIED = re.compile(r"(?i)\byou (?:tried|went to|had your first|saw|watched|finally (?:tried|went|saw))\b")
"""A first go at something, said back: "How was it?" fits (the flat echo alone read as no reaction)."""

_WOW = ("That's wild.", "I did not see that coming.", "What are the odds!")
"""After surprising news that is not a story in progress ("my flatmate has started playing the bagpipes"):
a reaction, not "Then what?"."""


_SUBJECT_START = {"a", "an", "the", "i", "he", "she", "they", "we", "it", "my", "his", "her", "their", "our",
                  "someone", "somebody", "everyone", "everybody", "nobody", "this", "that", "there", "one"}


def _twist(text: str) -> str | None:
    """The surprising part of one-sentence news: what follows its last "and" when that has a subject of its
    own ("went to the beach today and a seagull took my chips": the seagull), said back; else None."""
    found = clauses(text)
    if len(found) != 1:  # several sentences: the best clause, as for any news
        return None
    head, sep, after = found[0].rpartition(" and ")
    if not sep or len(after.split()) < 4 or len(head.split()) < 3 or after.split()[0].lower() not in _SUBJECT_START:
        return None  # "...and set off the smoke alarm": no subject of its own
    said = say_back(after)
    return said if said and len(said.split()) >= 4 else None


def _trouble(text: str, feeling: str) -> str:
    """Which reaction a bit of trouble gets: a groan (annoyed), a wince (gross), worry for a scare, a
    check that they are okay for real distress, otherwise sympathy without a question."""
    if feeling == "grossed":
        return "gross"
    if feeling == "angry":
        return "annoyed"
    if _DISTRESS.search(text):
        return "distress"
    return "scared" if feeling == "worried" else "bad"


class CasualResponder:
    """React + say it back + at most one question (module docstring); deterministic, microseconds."""

    name = "casual"

    def __init__(self) -> None:
        spelling.warm()

    def reply(self, history: Sequence[Turn], estimate: EmotionEstimate | None) -> str:
        text = user_text(history)
        said_before = [t.text for t in history if t.role == "assistant"]
        feeling, cued = feeling_of(text, estimate)
        if not cued and feeling == "hurt" and estimate is not None and str(estimate.label) == "disgusted":
            feeling = "grossed"  # in casual chat disgust is mostly "ew" (fish in the microwave), not a moral hurt
        if _WIN.search(text) and (feeling not in NEGATIVE_FEELINGS or (not cued and _MY_WIN.search(text))
                                  or (not cued and _LATE_WINNER.search(text) and not _LOST.search(text))):
            feeling, cued = "proud", True  # "3-2 MATE WE WON" is a win whatever the fused reading says
        elif feeling == "neutral" and not cued and _EXCITED.search(text) and not DOWNSIDE.search(text) \
                and not _COMPLAINT.search(text):
            feeling, cued = "glad", True  # "I literally screamed in the middle of Tesco!!": not flat news
        elif feeling == "neutral" and not cued and _LOUD.search(text) and not DOWNSIDE.search(text) \
                and not _COMPLAINT.search(text):
            feeling = "surprised"  # "MY CAT HAS LEARNT TO OPEN DOORS.": news told loudly gets "No way", not a flat echo
        untagged, last, question = question_parts(text, _TAG, _QUESTION_START)
        if question and _EXCLAIMED.search(last) and not last.rstrip().endswith("?"):
            question = False  # "What a guy honestly": an exclamation, not a question
        words = len(text.split())

        if owns_harm(text):  # "I hit him": met calmly, not as an annoyance or with "a lot of people do"
            return OWN_HARM_REPLY
        if _GREETING.search(text) and words <= 6:
            return "Hey! How's it going?"
        if (_CLOSE.search(text) and not question and words <= 15) or signs_off(text):
            bye = pick(("Any time! Take care.", "Anytime, enjoy the rest of your day!", "Cheers, speak soon!"),
                       text, said_before)
            off = farewell(text)
            thanked = re.search(r"(?i)\b(?:thanks|thank you|thank u|thx|cheers)\b", text)
            return f"{off} {'Any time, speak soon!' if thanked else 'Speak soon!'}" if off else bye
        if _LUCK.search(text) and not question:
            return pick(("Good luck! Let me know how it goes.", "Good luck, you've got this!"), text, said_before)
        if _STORY.search(text) and words <= 20 and (feeling not in POSITIVE_FEELINGS or _VENT.search(text)):
            return pick(("Ooh, go on, tell me!", "Go on, I'm all ears!"), text, said_before)
        if _SUGGEST.search(text) and feeling not in NEGATIVE_FEELINGS and not _EITHER_OR.search(text):
            return pick(("Ooh yes, that sounds like a great idea! When are you thinking?",
                         "Yes, love that idea! What are you thinking?"), text, said_before)
        if _YOUR_PICK.search(text):  # "what would your go-to karaoke song be?": no invented taste, theirs asked
            return pick(("Ooh, tough one! What would yours be?", "Ha, that's a hard pick. What's yours?"), text, said_before)
        if _EVER.search(text):  # "have you ever frozen on something easy?": true of everyone, nothing invented
            return pick(("Ha, I think everyone has at some point!", "Ha, who hasn't, honestly!"), text, said_before)
        if _HEARD_OF.search(text):  # "what's the funniest thing you've heard a parrot say?": no made-up story
            return pick(("Ha, I'd only be making one up, and yours is hard to beat!",
                         "Ha, that's a new one on me, and it'll take some beating!"), text, said_before)
        if question:
            return self._question(untagged, feeling, said_before)
        asking = find_question(untagged)
        if asking is not None and _IDEAS_ANYWHERE.search(asking[0]):  # "what should I bake? I have flour, butter…"
            return pick(("Ooh, fun! What are you leaning towards?", "Ooh, tough one. What's tempting you?"),
                        text, said_before)
        asked = read_question(untagged)  # a question in the middle ("should I call security? I have a meeting at 9")
        taken_up = answer(asked, "casual", text, said_before, pick) if asked is not None else None
        if taken_up is not None:
            return taken_up
        plan = next((c for c in reversed(clauses(text)) if _PLAN.search(c) and not _NOT_PLAN.search(c)), None)
        if plan is not None and feeling not in NEGATIVE_FEELINGS and not _IDIOM.search(plan):
            said = say_back(plan)
            if said and said.startswith("you"):
                return pick((f"Ooh, {said}? Sounds like a plan.", f"Nice, {said}; sounds good to me.",
                             f"{said[0].upper() + said[1:]}? Love that plan."), text, said_before)
            return pick(("Sounds like a plan!", "Sounds good to me!", "Love that plan."), text, said_before)
        said = say_back(best_clause(text))
        if feeling in POSITIVE_FEELINGS:
            said = upside(text, said)  # "legs are destroyed. but i'm so happy": not the destroyed legs
        if feeling == "amused":
            lead = pick(("Ha, oh no!", "Stop, that's awful and hilarious.", "Ha, I'm wincing for you.")
                        if DOWNSIDE.search(text) or _COMPLAINT.search(text) else
                        ("Ha, that's brilliant!", "Stop, that's hilarious.", "Ha, I love that."), text, said_before)
            then = [q for q in _QUESTIONS["past"] if not (lead.startswith("Ha") and q.startswith("Ha"))]
            return f"{lead} {pick(then, text, said_before)}" if tense_of(text) == "past" else lead
        mine = said is not None and said.startswith(("you", "your"))
        if feeling in POSITIVE_FEELINGS and cued and (mine or said is None or _WIN.search(text)):
            great = pick(_GREAT, text, said_before)
            follow = pick(_QUESTIONS["good"], text, said_before)
            if said and said.startswith(("you", "your")) and len(said.split()) <= 14:
                return f"{great}, {said}! {follow}"
            return f"{great}! {follow}"
        if said is None:
            follow = pick(_QUESTIONS[_trouble(text, feeling)], text, said_before)
            lead = pick(("Oh no.", "Ugh, that's rough."), text, said_before) if feeling in NEGATIVE_FEELINGS else \
                pick(("Ha, fair.", "Oh nice.", "Ha, love it."), text, said_before) if feeling == "glad" and cued else \
                pick(("Ha, love it!", "Oh nice!", "Ha, brilliant!"), text, said_before) if feeling in POSITIVE_FEELINGS \
                else pick(("Ha, fair enough.", "Oh really?", "Ah, okay."), text, said_before)
            if feeling in POSITIVE_FEELINGS and not cued:
                return lead  # "Ah, okay. That's brilliant." read as filler: one warm reaction instead
            if feeling not in NEGATIVE_FEELINGS:
                follow = _tail(text, feeling, lead, said_before)
            return lead if lead.endswith("?") else f"{lead} {follow}".strip()
        if feeling in NEGATIVE_FEELINGS:
            if BRIGHT_SPOT.search(said):  # "my boss is understanding at least": the bright spot
                return pick((f"Well, {said}, that's something.", f"Ah, {said}; small mercies."), text, said_before)
            trouble = _trouble(text, feeling)
            lead = pick((f"Ew, {said}.", f"Eww, {said}.") if trouble == "gross" else
                        (f"Ugh, {said}.", f"Oh no, {said}.", f"Ugh, {said}; that's so annoying.")
                        if trouble == "annoyed" else
                        (f"Aw, {said}.", f"Oh, {said}.")  # a worry ahead is not "rough" ("I'm terrified")
                        if trouble == "scared" else
                        (f"Oh no, {said}.", f"Ugh, {said}; that's rough.", f"Oh no, that's rough: {said}."),
                        text, said_before)
            tails = [q for q in _QUESTIONS[trouble] if not (lead.startswith("Ugh") and q.startswith("Ugh"))]
            if "annoying" in lead:
                tails = [q for q in tails if "annoying" not in q]
            return f"{lead} {pick(tails, text, said_before)}"
        if feeling == "surprised":
            said = _twist(text) or said
            lead = pick((f"No way, {said}!", f"Wait, {said}?", f"Seriously, {said}?"), text, said_before)
            if lead.endswith("?"):
                return lead
            story = tense_of(text) == "past" and (_UNFOLDING.search(text) or " and " in text)
            return f"{lead} {pick(_QUESTIONS['surprised'] if story else _WOW, text, said_before)}"
        if feeling not in POSITIVE_FEELINGS:  # a flat "Okay, X." was the raters' commonest casual fault: react
            reaction = self._react(text, said)
            return f"{reaction} {_tail(text, feeling, reaction, said_before)}".strip()
        lead = pick((f"Ha, {said}.", f"Oh nice, {said}.", f"Ah, {said}.") if cued else
                    (f"Ha, {said}.", f"Ah, {said}.", f"Oh, {said}."), text, said_before)
        return f"{lead} {_tail(text, feeling, lead, said_before)}".strip()

    @staticmethod
    def _react(text: str, said: str) -> str:
        """Plain news said back with a friend's reaction (the blind raters marked "Okay, you got a haircut today."
        as not casual): a laugh when the user laughs, "Oh no" at a small disaster, otherwise interest."""
        if _TROUBLE.search(text):
            return f"Oh no, {said}."
        if _LAUGHS.search(text):
            return f"Ha, {said}!"
        return f"Ooh, {said}."  # interest, without guessing whether the news is good or bad

    @staticmethod
    def _question(text: str, feeling: str, said_before: Sequence[str]) -> str:
        if _INVITE.search(text):  # asked along: glad to be asked, honest that it cannot come, no invented plans
            if _CELEBRATE.search(text):
                return pick(("I'd be there in a heartbeat if I could! Raise one for me, you've earned it.",
                             "If only I could come! Have a brilliant time celebrating, you deserve it."),
                            text, said_before)
            return pick(("Ha, I'd be there if I could! Who else is going?",
                         "I wish I could come along! Where are you thinking?"), text, said_before)
        if _FREE_TIME.search(text):  # a friend answers a hypothetical with a general, harmless choice
            return pick(("If it were me, a lie-in, a long walk and a big lunch somewhere. What's tempting you?",
                         "Honestly, something slow: a lie-in and a good meal. What are you leaning towards?"),
                        text, said_before)
        if re.search(r"\b(?:HOW|WHY)\b", text):  # "HOW does he walk away with the money. HOW": outrage, agreed with
            return pick(("Honestly, it makes no sense!", "Right? I'd be asking the same."), text, said_before)
        if _THOUGHTS_ON_MINE.search(text):  # "ok im printing it. 'the microwave is not an oven for the sea'. thoughts?"
            return pick(("Ha, I love it!", "Ha, perfect. Print it!"), text, said_before)
        if _WHO_DOES.search(text):
            return pick(("Honestly, who does that.", "Right? Who even does that.", "The cheek of it, honestly."),
                        text, said_before)
        if _SEEN.search(text):
            return pick(("Go on, fill me in: what happened?", "Tell me everything. What happened?"), text, said_before)
        asked = read_question(text)
        taken_up = answer(asked, "casual", text, said_before, pick) if asked is not None else None
        if taken_up is not None:
            return taken_up
        if _IDEAS.search(text):
            return pick(("Ooh, tough one. What are you leaning towards?",
                         "Honestly, whatever sounds most fun to you. What's tempting you?"), text, said_before)
        if _HOW_ARE_YOU.search(text) and not _ABOUT_BOT.search(_HOW_ARE_YOU.sub("", text)):
            return pick(("All good on my side, thanks for asking! How are you doing?",
                         "Can't complain, thanks! How about you, how's it going?"), text, said_before)
        if _ABOUT_BOT.search(text):
            return pick(("Nothing to report from me, I'd much rather hear yours. What are you up to?",
                         "Ha, I'm all ears rather than news. How about you?"), text, said_before)
        if feeling in NEGATIVE_FEELINGS:
            return pick(("Honestly, no idea, but it sounds so annoying. What happened?",
                         "Good question, and I wish I knew. Are you okay?"), text, said_before)
        return pick(("Good question! What do you reckon?", "Ha, I couldn't tell you. What do you think?"),
                    text, said_before)

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        return word_stream(self.reply(history, estimate))
