"""Simple reflections: the clause of a message worth saying back, with its pronouns turned round.

``best_clause("Everything's fine really. It's just the evenings are really quiet.")`` picks the
clause that carries the user's own experience ("It's just the evenings are really quiet": a feeling
cue or a first-person statement, of a length that can be said back); ``reflect("i dont know anyone
here")`` returns ``"you don't know anyone here"``.  Nothing is added: every content word of a
reflection is the user's.  Clauses addressed to the listener ("you", "your") or asking a question are
not reflected, because turning them round would put words in the user's mouth.
"""

from __future__ import annotations

import re
from typing import overload

from emotion_agent.responders.spelling import correct

MAX_WORDS = 16
MIN_WORDS = 3

_SPLIT_SENTENCES = re.compile(r"(?<=[.!?])\s+|\s*[;\n]\s*|\s+[-–—]+\s+|\s*…\s*|\.{2,}\s*")
_SPLIT_CLAUSES = re.compile(r"(?i),?\s+(?:but|because|cos|cause|although|though|except)\s+|,\s+(?:and\s+)?so\s+")
_LEAD = re.compile(r"(?i)^(?:(?:um+|uh+|erm+|so|and|but|like|honestly|tbh|ok|okay|well|yeah|yes|no(?=\s*[,.!?;])|"
                   r"(?:ha+|haha+|lol|lmao+|no)\s+no|i mean|actually|"
                   r"oh my (?:god|gosh|days)|omg|oh god|my god|"
                   r"i guess|i suppose|i think(?=\s+(?:i'?m|im|i am|i'?ll|ill|i will|i feel|i just|i want|i need|maybe|"
                   r"i should|i could|i might|i'?d)\b)|also|plus|then|hi|hey|hello|hiya|alright|all right|sure|cool|that'?s true|thats true|true|fair enough|fair|good point|you'?re right|"
                   r"youre right|that'?s fair|thats fair|"
                   r"just|anyway|oh|lol|ha|haha+|nah|nope|right|basically|literally|it'?s just that|it'?s just|its just)"
                   r"\b[\s,]*)+")
_TRAIL = re.compile(r"(?i)(?:[\s,]*\b(?:lol|lmao|haha+|tbh|honestly|idk|really|though|tho|i guess|i think|i reckon|"
                    r"i suppose|"
                    r"or something|or whatever|you know|x+)\b)+[\s.!?,:)(]*$|[\s.!?,:;)(]+$")
DOWNSIDE = re.compile(r"(?i)\b(?:ridiculous|nightmare|broke|broken|lost|failed|fail|terrible|awful|rubbish|worst|hate|"
                       r"boring|sore|ruined|stuck|late|sad|cried|crying|scared|never|nothing|no one|nobody|can'?t|"
                       r"couldn'?t|didn'?t|won'?t|not|no idea|destroyed|wrecked|dead|knackered|exhausted|aching|"
                       r"hurts?|painful|burnt|burned|charcoal|lumpy|soggy|stale|mess|messy|disaster|gross|smells?|"
                       r"stinks?|evil|betrayed|overpriced|expensive|missing|sold out|cancel+ed|delayed|raining|rained|"
                       r"freezing|soaked|too (?:much|many|thick|hot|cold|long|late|early)|only|currently|still|though|mortified|"
                       r"embarrass\w*|awkward|cringe\w*|shaking|shaky|nervous|panick?\w*|terrified|worried|anxious|"
                       r"stress\w*|tears|wept)\b")
"""Words that make a said-back clause a downside even in good news ("the gravy was lumpy", "my legs are
destroyed"): no cheer after it, and the upside clause is said back when there is one."""

BRIGHT_SPOT = re.compile(r"(?i)\b(?:at least|thankfully|luckily|on the bright side|the good news is|"
                         r"(?:that|it|which|this) (?:really |kind of |kinda |sort of )?helped|cheered me up|"
                         r"made me (?:feel )?(?:a (?:bit|little|lot) )?better)\b")
"""A said-back clause that is the bright spot of the news ("rent's paid at least"), not more trouble."""
_FIRST_PERSON = re.compile(r"(?i)\b(?:i|i'm|im|i've|ive|i'd|i'll|me|my|myself|we|we're|our|us)\b")
_SECOND_PERSON = re.compile(r"(?i)\b(?:you|your|you're|youre|yours|u|ur)\b")
_QUESTION_LIKE = re.compile(r"(?i)^\W*(?:what if|what|why|how|where|when|who|which|is (?:it|that|this)|are (?:you|they)|"
                            r"do (?:you|i)|does|did (?:you|i)|should i|can i|could i|would you|am i)\b")
_CUE = re.compile(r"(?i)\b(?:feel\w*|felt|embarrass\w*|ashamed|guilty|jealous|left out|lonely|alone|tired|exhausted|worr\w+|nervous|anxious|scared|afraid|"
                  r"stress\w*|overwhelm\w*|sad|down|low|cry\w*|cried|angry|annoyed|fed up|hurt|proud|happy|"
                  r"excited|relieved|miss\w*|can'?t|cant|couldn'?t|don'?t|dont|never|always|keep|still|hate|"
                  r"love|dread\w*|panic\w*|quiet|hard|awful|gutted|struggl\w+)\b")

_SWAP = {
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself",
    "i'm": "you're", "im": "you're", "i've": "you've", "ive": "you've", "i'll": "you'll", "i'd": "you'd",
    "we": "you", "us": "you", "our": "your", "ours": "yours", "ourselves": "yourselves",
    "we're": "you're", "we've": "you've", "we'll": "you'll", "we'd": "you'd",
    "idk": "you don't know", "dunno": "you don't know",
}
_VERBISH = {"finally", "email", "message", "ring", "check", "sort", "write", "speak", "talk", "let", "stay", "keep",
            "wait", "head", "pop", "grab", "pick", "fix", "mention", "do", "go", "try", "text", "call", "book", "be",
            "have", "think", "see", "just", "probably",
            "ask", "tell", "look", "give", "get", "make", "start", "never", "rather", "like", "love", "say",
            "actually", "definitely", "maybe", "really", "still", "need", "want", "put", "take", "send"}
_ITS_NEXT = {"only", "been", "just", "not", "so", "like", "really", "a", "all", "fine", "ok", "okay", "too",
             "getting", "going", "the", "always", "never", "still", "hard", "nice", "good", "bad", "weird",
             "my", "your", "gonna", "literally", "actually", "kind", "sort", "easy", "late", "at", "in", "on",
             "when", "what", "because", "over", "mostly", "probably", "worse", "better"}
_AFTER_I = {"am": "are", "was": "were", "wasn't": "weren't", "wasnt": "weren't"}
_APOSTROPHES = {
    "dont": "don't", "cant": "can't", "wont": "won't", "didnt": "didn't", "doesnt": "doesn't",
    "isnt": "isn't", "wasnt": "wasn't", "havent": "haven't", "hasnt": "hasn't", "couldnt": "couldn't",
    "wouldnt": "wouldn't", "shouldnt": "shouldn't", "arent": "aren't", "werent": "weren't", "thats": "that's",
    "theres": "there's", "hadnt": "hadn't", "youve": "you've", "wouldve": "would've", "couldve": "could've",
    "shouldve": "should've", "whats": "what's", "theyre": "they're", "hes": "he's", "shes": "she's",
}
_LOWER_START = {"you", "your", "you're", "you've", "you'll", "you'd", "yourself", "the", "a", "an", "it", "it's",
                "its", "this", "that", "that's", "there", "there's", "these", "those", "everything", "nothing",
                "everyone", "everybody", "nobody", "no", "he", "she", "they", "he's", "she's", "they're", "his",
                "her", "their", "some", "all", "one", "work", "things", "people", "since", "not", "being",
                "having", "getting", "still", "even", "when", "after", "before", "now", "then", "today",
                "tonight", "yesterday", "last", "every", "never", "always", "just", "really", "actually",
                "already", "nearly", "almost", "totally", "completely", "only", "also", "too", "so", "very",
                "sometimes", "mostly", "everything's", "nothing's", "everyone's", "maybe", "probably"}
_PAST_VERBS = {"started", "finished", "booked", "bought", "went", "got", "made", "had", "did", "saw", "took", "ran",
               "found", "left", "came", "spent", "tried", "called", "rang", "cooked", "cleaned", "passed", "failed",
               "missed", "lost", "cried", "slept", "woke", "skipped", "forgot", "told", "sent", "managed", "decided",
               "applied", "signed", "joined", "quit", "walked", "texted", "messaged", "ate", "wrote", "read",
               "spoke", "talked", "moved", "broke", "burnt", "burned", "dropped", "snapped", "shouted", "stayed",
               "thought", "knew", "felt", "said", "wanted", "needed", "used", "kept", "realised", "realized",
               "noticed", "heard", "asked", "stopped", "gave", "paid", "won", "scored", "baked", "fixed"}
_ACRONYMS = {"CBT", "MOT", "NHS", "ADHD", "OCD", "PTSD", "USA", "BBC", "DBT", "PIP", "ESA", "SEN", "GCSE", "GCSEs",
             "DWP", "HMRC", "ICU", "CEO", "PhD", "MSc", "ASAP", "ATM", "PIN", "IVF", "MRI", "ECG", "A&E"}
_ADVERBS = {"finally", "never", "always", "just", "really", "actually", "still", "even", "already", "nearly",
            "almost", "totally", "completely", "literally", "basically", "honestly", "also", "only"}
_SUBJECTLESS = {"didn't", "can't", "couldn't", "don't", "haven't", "wasn't", "won't", "keep", "hate", "need", "want",
                "feel", "wish", "hope", "think"}
"""Words that start a clause whose "I" was dropped ("can't stop crying", "feel kind of stupid");
the apostrophes are already restored when this is checked."""
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|[^A-Za-z0-9\s]")


def _clean(clause: str) -> str:
    clause = clause.strip(" ,")
    for _ in range(3):
        clause = _LEAD.sub("", clause).strip(" ,")
        clause = _TRAIL.sub("", clause).strip(" ,")
    return clause


def clauses(text: str) -> list[str]:
    """The message's clauses, fillers trimmed, in order."""
    out: list[str] = []
    text = re.sub(r"\s*\((?=[A-Za-z])[^()]*\)", " ", text)  # "(very excited, we've been on camping chairs 😅)": an aside
    for sentence in _SPLIT_SENTENCES.split(text):
        if not sentence or sentence.strip().endswith("?") or _QUESTION_LIKE.search(sentence):
            continue
        for part in _SPLIT_CLAUSES.split(sentence):
            part = _clean(part)
            if part and not _QUESTION_LIKE.search(part):
                out.append(part)
    return out


_FUNCTION = {"i", "im", "i'm", "you", "know", "it", "its", "it's", "that", "thats", "that's", "is", "was", "a", "the",
             "and", "but", "so", "just", "like", "really", "yeah", "ok", "okay", "me", "my", "mean", "guess",
             "think", "to", "of", "be", "do", "not", "this", "well", "sure", "true", "right", "one",
             "maybe", "also", "probably", "perhaps", "too", "yes", "no", "lol", "thing", "stuff"}


_NO_SUBJECT = {"kind", "sort", "very", "so", "really", "mostly", "quite", "bit", "a", "pretty", "too", "not", "more",
               "less", "even", "only", "all", "maybe", "probably", "or", "with", "for", "to", "of", "in", "at", "on"}


_TO_THE_BOT = re.compile(r"(?i)^(?:pls |please )?(?:don'?t|do not|tell|give|hit|ask|help|show|let|remind|quiz|entertain)"
                         r"(?: \w+)? me\b")
"""An imperative to the bot ("don't lecture me pls", "hit me with another one"): said back it reads as an order
turned round ("you don't lecture you")."""


def _score(clause: str, index: int) -> float:
    words = re.findall(r"[a-z0-9']+", clause.lower())
    n = len(words)
    content = sum(w not in _FUNCTION for w in words)
    if n < MIN_WORDS or content < 2 or _SECOND_PERSON.search(clause) or _TO_THE_BOT.search(clause):
        return float("-inf")
    score = 0.1 * index + 0.1 * min(n, 12)
    score += 3.0 if _FIRST_PERSON.search(clause) else 0.0
    score += 3.0 if _CUE.search(clause) else 0.0
    score += 1.0 if n <= MAX_WORDS else -3.0 - 0.2 * (n - MAX_WORDS)
    if words[0] in _NO_SUBJECT:  # "kind of angry", "very loud": a fragment, not something the user did or felt
        score -= 4.0
    if re.search(r"[\"“”]", clause):  # "she kept saying "trust me"": quoted words would be turned round
        score -= 4.0  # ("trust you") or misattributed ("you ate two bites and said it's got a lovely flavour")
    return score


def _shorten(clause: str, max_words: int = MAX_WORDS) -> str | None:
    """``clause`` if short enough, else its longest prefix that ends where a new clause starts."""
    if len(clause.split()) <= max_words:
        return clause
    best: str | None = None
    for match in re.finditer(r",\s|\s(?:and|but|because|when|which|with|so|then|until|while)\s", clause):
        prefix = clause[:match.start()]
        if 4 <= len(prefix.split()) <= max_words and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def best_clause(text: str) -> str | None:
    """The clause worth saying back, or None when no clause can be (only questions, or too short)."""
    found = clauses(text)
    if not found:
        return None
    scored = sorted(((_score(c, i), i, c) for i, c in enumerate(found)), reverse=True)
    score, _, clause = scored[0]
    if score == float("-inf") or (score < 0 and len(clause.split()) < 5):
        return None
    return _shorten(clause)


@overload
def upside(text: str, said: str) -> str: ...
@overload
def upside(text: str, said: None) -> None: ...
def upside(text: str, said: str | None) -> str | None:
    """In good news, ``said`` (the clause said back) unless it is a downside ("legs are destroyed. but
    i'm so happy") and another clause is not: then that one, said back."""
    if said is None or not DOWNSIDE.search(said):
        return said
    better = [c for c in clauses(text) if not DOWNSIDE.search(c)]
    other = say_back(best_clause(". ".join(better))) if better else None
    return other if other is not None and len(other.split()) >= 3 else said


def _common(word: str) -> bool:
    """A common English word (so a capital on it only marked the start of the user's sentence), not a
    name the dictionary lacks ("Jess", "Danielle"); contractions of pronouns count ("She'd")."""
    if re.fullmatch(r"(?:he|she|they|we|it|there|that|who)(?:'d|'ll|'s|'re|'ve)", word):
        return True
    from emotion_agent.responders.spelling import is_common
    return is_common(word)


def reflect(clause: str) -> str | None:
    """``clause`` said back in the second person; None when it addresses the listener."""
    if _SECOND_PERSON.search(clause):
        return None
    shouting = sum(c.isupper() for c in clause) > 0.6 * max(1, sum(c.isalpha() for c in clause))
    tokens = [t for t in _TOKEN.findall(clause.replace("’", "'")) if t not in ("'", '"', "“", "”")]
    out: list[str] = []
    previous = ""
    for k, token in enumerate(tokens):
        low = token.lower()
        if low == "me" and previous == "excuse":
            out.append(token)
            continue
        following = tokens[k + 1].lower() if k + 1 < len(tokens) else ""
        if low in ("ill", "id") and following in _VERBISH:
            word = "you'll" if low == "ill" else "you'd"
        elif low == "its" and (following in _ITS_NEXT or following[:1].isdigit()):
            word = "it's"
        elif low in _SWAP:
            word = _SWAP[low]
        elif previous in ("i", "i'm", "im") and low in _AFTER_I:
            word = _AFTER_I[low]
        elif low in _APOSTROPHES:
            word = _APOSTROPHES[low]
        elif shouting or (token.isupper() and len(token) >= 3 and token not in _ACRONYMS):
            word = low
        else:
            word = token
        out.append(word)
        previous = low if low.isalpha() or "'" in low else previous
    if not out:
        return None
    object_next = len(out) > 1 and out[1].lower() in ("you", "yourself")  # "took me 3 weeks": the subject is "it"
    if len(out) > 2 and out[0].lower() == "let" and out[1].lower() == "you":  # "Let me tell the family group"
        out[0:2] = ["you'll"]
    if (out[0].lower() in _PAST_VERBS and not object_next) or out[0].lower() in _SUBJECTLESS or \
            (out[0].lower() in _ADVERBS and len(out) > 1 and out[1].lower() in _PAST_VERBS):
        out[0] = out[0].lower()
        out.insert(0, "you")  # "started learning guitar": the user dropped the "I"
    elif out[0].lower() in _PAST_VERBS and object_next:
        out[0] = out[0].lower()
        out.insert(0, "it")
    elif out[0].lower() in ("doesn't", "isn't") or (
            out[0].lower() in ("sounds", "seems", "looks", "feels") and len(out) > 1 and out[1].lower() in ("like", "as")):
        out[0] = out[0].lower()
        out.insert(0, "it")  # "Sounds like a waste of good beer": the subject is "it", not a capital mid-reply
    elif out[0].lower() == "were" and len(out) > 1 and out[1].lower().endswith("ing"):
        out[0] = "you're"  # "were thinking portugal": "we're" typed without its apostrophe
    elif out[0].lower() in ("gonna", "going") and len(out) > 2 and (out[0].lower() == "gonna" or out[1].lower() == "to") \
            and "be" not in (out[1].lower(), out[2].lower()):  # "gonna be rough": the subject is "it"
        out[0:1 if out[0].lower() == "gonna" else 2] = ["you're", "going", "to"]  # "gonna have a nap": "I'm" dropped
    first = out[0].lower()
    if first in _LOWER_START or (len(first) > 4 and first.endswith(("ing", "ed", "ly"))) or \
            (out[0] != "I" and out[0][:1].isupper() and out[0][1:].islower() and _common(first)):
        out[0] = first  # "Same three songs on repeat" said back mid-sentence: "Ugh, same three songs…"
    text = ""
    for word in out:
        numeral = len(text) > 1 and text[-1] in ".,:" and text[-2].isdigit() and word[0].isdigit()  # "8.40", "9:30"
        if text and (word[0].isalnum() or word[0] in "£$#(&") and text[-1] not in "£$#(-/'" and not numeral:
            text += " "
        text += word
    text = re.sub(r"\s+([,.!?:;%])", r"\1", text)
    return text.strip(" ,.;:!") or None


I_WILL = (r"i['’]ll|(?:^|(?<=[.,!?;:] )|(?<=\band )|(?<=\bso )|(?<=\bthen )|(?<=\byeah )|(?<=\bmaybe )|"
          r"(?<=\bthink )|(?<=\bbut )|(?<=\bok )|(?<=\bokay )|(?<=\bguess )|(?<=\bprobably )|(?<=\bnow )|"
          r"(?<=\btho )|(?<=\bthough ))ill (?=[a-z])|ill (?=(?:do|go|try|text|call|ring|book|ask|tell|look|give|get|"
          r"make|start|just|probably|see|have|think|send|check|email|message|talk|speak|sort|write|bring|definitely|"
          r"actually|put|fix|mention|pop|grab|pick|take|let|leave|stay|keep|wait|sleep|head)\b)")
""""I'll", also typed "ill": at the start of a clause or after "so", "and", "maybe"... ("ill fix the fence",
"so ill stay in"), or before a verb; never "ill" after "been", "was", "got" ("his dad has been ill" was
read as a plan)."""
_PAST_EVENT = re.compile(r"(?i)\b(?:was|were|went|did|had|got|saw|said|told|came|took|won|left|ate|made|met|"
                         r"tried|visited|finished|started|booked|called|rang|asked|turned up|showed up|walked|"
                         r"happened|ended up)\b")
_AHEAD = re.compile(r"(?i)\b(?:need to|have to|want to|going to|gonna|tomorrow|tonight|next|soon|this weekend|later|"
                    r"on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|planning|thinking of|will|"
                    + I_WILL + r"|can'?t wait|looking forward)\b")


ARRANGED = (r"i'?m \w+ing (?:\w+ ){0,5}(?:tomorrow|tonight|later|this (?:weekend|evening|afternoon)|next week|"
            r"on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))")
"""An arrangement in the present tense ("I'm calling pest control tomorrow"): a plan, for the listener
and the casual responder's plan patterns."""


def tense_of(text: str) -> str:
    """"ahead" (something coming up), "past" (something that happened) or "now", for choosing a question
    that fits ("How did it go?" only after something happened)."""
    past = _PAST_EVENT.search(text) or any(w in _PAST_VERBS for w in re.findall(r"[a-z]+", text.lower()))
    return "ahead" if _AHEAD.search(text) else "past" if past else "now"


_FILLERS = re.compile(r"(?i)^(?:um+|uh+|erm+|er|ah+|lol+|lmao+|lmfao+|rofl|haha+|hehe+|tbh|ngl|honestly|literally|"
                      r"basically|actually|kinda like|bro|dude|omg|omfg)$")
_PHRASE_FILLERS = re.compile(r"(?i),?\s*\b(?:hang on|to be honest|btw|fyi|if you'?re honest)\b,?|"
                             r",\s*\b(?:okay|ok|yeah|right|anyway|just saying)\W*$")
"""Spoken fillers of more than one word, and a trailing ", okay": not said back ("you've got it on video
hang on it's blurry", "she's fine btw, just looking very pleased with herself")."""
_AFTER_LINK = re.compile(r"(?i)^(?:and|but|so|or|just|um|then)$")
_LIKE_BEFORE = re.compile(r"(?i)^(?:\d[\w:.]*|[a-z]+ed|went|ran|saw|came|got|took|made|fell|threw|jumped|"
                          r"half|three|two|four|five|ten|twenty|fifty|hundred|every|all|totally|so|really)$")
_LIKE_KEEP = re.compile(r"(?i)^(?:feel|feels|felt|feeling|look|looks|looked|looking|sound|sounds|sounded|seem|"
                        r"seems|seemed|would|you'd|i'd|just|something|more|less|things|stuff|nothing|anything)$")

_BE = re.compile(r"(?i)^(?:is|was|were|are|am|be|been|it's|you're|they're|he's|she's|that's|we're)$")
_SIMILE = re.compile(r"(?i)^(?:a|an|the|that|this|being|it|him|her|them|you|me|when|if|my|your|his|their|"
                     r"someone|something|everyone|nothing|"
                     # "she was like no way": a quote follows
                     r"you're|i'm|i|we|they|he|she|no|yeah|yes|oh|what|wow|ok|okay|omg|ugh|um|why|how|"
                     r"\w+ing)$")  # "it's like sitting next to a cement mixer": a comparison


def tidy(said: str, max_words: int = MAX_WORDS) -> str | None:
    """A reflection fit to say back: fillers ("um", "lol", "like" before a number or a verb) and
    stutters ("the the") taken out, typos corrected (``responders.spelling``), cut at a clause boundary
    when longer than ``max_words``; None when a word cannot be corrected or no cut fits."""
    said = _PHRASE_FILLERS.sub(lambda m: ", " if "," in m.group(0) else " ", said).strip(" ,")
    words = said.split()
    out: list[str] = []
    for k, word in enumerate(words):
        core = word.strip(",.!?;:")
        low = core.lower()
        if _FILLERS.match(core):
            if word[-1:] in ",.;" and out:
                out[-1] = out[-1].rstrip(",") + word[-1]
            continue
        following = words[k + 1].strip(",.!?;:") if k + 1 < len(words) else ""
        before = out[-1].strip(",").lower() if out else ""
        someone_is = before.endswith("'s") and before not in ("it's", "that's", "what's", "there's", "here's")
        if low == "like" and ((_LIKE_BEFORE.match(following) and not _LIKE_KEEP.match(before)) or
                              (_BE.match(before) and not _SIMILE.match(following)) or
                              someone_is or _AFTER_LINK.match(before)):
            continue  # "left at like 9pm", "it's like fine", "my friend's like having": a filler
        if out and low == out[-1].strip(",.!?;:").lower() and low.isalpha() and low not in ("very", "so", "really", "had"):
            continue
        if core.islower() and core.isalpha():
            fixed = correct(core)
            if fixed is None:
                return None
            word = word.replace(core, fixed, 1)
        out.append(word)
    text = _shorten(" ".join(out), max_words) or ""  # cut at the last clause boundary that fits
    text = text.strip(" ,;:")
    if len(text.split()) < 2:
        return None
    return text


def say_back(clause: str | None) -> str | None:
    """``clause`` in the second person (``reflect``) and tidied (``tidy``): what the listener and the
    casual responder say back."""
    said = reflect(clause) if clause else None
    return tidy(said) if said else None
