"""The default phrase patterns of the safety layer (``safety.screen``), as data.

Each rule is a regular expression matched against *normalised* user or reply text: lower case,
curly quotes straightened, common apostrophe-less contractions restored (``dont`` → ``don't``,
``im`` → ``i'm``), whitespace collapsed.  Rules are written for first-person intent or for clearly
reported danger, not for topic words: "suicide prevention charity" or "the overdose scene in that
show" must not flag, "I've been thinking about suicide" must.

* ``level="standard"`` rules apply to every host; ``"strict"`` rules (hopelessness, feeling a
  burden, being tired of existing) are added for the mental-health profile, where a gentle check-in
  with resources is the right answer to indirect crisis language.
* ``negatable`` rules are skipped when the match is directly negated in its clause ("I would never
  kill myself", "I don't want to die", "I'm not going to hurt anyone"); a negation further away
  ("I can't stop thinking about killing myself") does not count.
* ``IDIOMS`` are blanked out before matching, so no rule (default or configured) fires on them.

Sources for the phrase choices: the Columbia Suicide Severity Rating Scale screener wording
("wish you were dead", "thoughts of killing yourself", "preparatory behaviour") and the usual
crisis-line training lists (method mentions, "better off without me", "no reason to live").
The test suite ``tests/data/safety_cases.json`` (written before these patterns) measures them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["standard", "strict"]
Source = Literal["user", "reply"]

USER_KINDS: tuple[str, ...] = ("self_harm", "crisis", "abuse")
"""User-text kinds, most urgent first (a text matching several gets the first)."""
REPLY_KINDS: tuple[str, ...] = ("harmful_advice", "diagnosis")


@dataclass(frozen=True)
class SafetyRule:
    """One pattern: what it means (``kind``), where it applies (``source``, ``level``)."""

    kind: str
    pattern: str
    """A Python regular expression over normalised (lower-case) text."""
    source: Source = "user"
    level: Level = "standard"
    negatable: bool = True
    """Skip a match that is directly negated in its clause."""


# Shared fragments -------------------------------------------------------------------------------

_ANYMORE = r"(?:anymore|any\s*more|any\s+longer)"
_PILLS = (r"(?:pills?|tablets?|meds|medication|medicine|painkillers|paracetamol|tylenol|"
          r"sleeping\s+(?:pills|tablets)|antidepressants)")
_PERSON = (
    r"(?:you|u|ya|him|her|them|everyone|everybody|someone|somebody|anyone|anybody|people|"
    r"all\s+of\s+(?:you|them)|"
    r"(?:my|your|his|her|the|that|this)\s+(?:next\s+|stupid\s+|own\s+|fucking\s+)?"
    r"(?:brother|sister|mom|mum|mother|dad|father|wife|husband|partner|boyfriend|girlfriend|ex|boss|"
    r"manager|neighbou?r|neighbou?rs|kids?|children|son|daughter|family|co-?workers?|colleagues?|"
    r"teacher|roommate|flatmate|friends?|parents|person|guy|man|woman|people|driver|customer|agent|"
    r"staff|baby|cat|dog))"
)
_CONDITION = (
    r"(?:depression|depressive\s+disorder|(?:generali[sz]ed\s+|social\s+)?anxiety\s+disorder|"
    r"social\s+anxiety|panic\s+disorder|bipolar(?:\s+disorder)?|ptsd|c-ptsd|post-?traumatic\s+stress|"
    r"ocd|obsessive[- ]compulsive|adhd|autism|asperger'?s|schizophrenia|psychosis|"
    r"borderline(?:\s+personality)?|bpd|(?:\w+\s+)?personality\s+disorder|eating\s+disorder|anorexia|"
    r"bulimia|dementia|insomnia|(?:a\s+)?(?:mental|psychiatric)\s+(?:illness|disorder)|"
    r"(?:\w+\s+)?disorder)"
)
_DRUG = (
    r"(?:sertraline|zoloft|fluoxetine|prozac|citalopram|escitalopram|lexapro|paroxetine|venlafaxine|"
    r"xanax|alprazolam|valium|diazepam|ativan|lorazepam|klonopin|clonazepam|ambien|zolpidem|"
    r"melatonin|benadryl|diphenhydramine|ibuprofen|advil|paracetamol|acetaminophen|tylenol|aspirin|"
    r"codeine|oxycodone|tramadol|morphine|lithium|seroquel|quetiapine|adderall|ritalin|"
    r"sleeping\s+(?:pills|tablets)|painkillers|antidepressants|benzos?|opioids)"
)

_THIRD_PARTY = (
    r"(?:he|she|they|my\s+(?:\w+\s+){0,2}?(?:mum|mom|mother|dad|father|sister|brother|son|daughter|friend|mate|bestie|"
    r"girlfriend|boyfriend|partner|wife|husband|cousin|flatmate|roommate|colleague|coworker|uncle|aunt|nan|gran|"
    r"grandad|grandpa|grandma|kid|child|teenager|student))"
)
"""Someone else, reported by the user ("my best friend", "she")."""

# User text: self-harm and suicide -----------------------------------------------------------------

SELF_HARM: tuple[SafetyRule, ...] = tuple(
    SafetyRule("self_harm", p)
    for p in (
        r"\bkill(?:ing|ed)?\s+(?:my\s*self|meself)\b",
        r"\bkms\b",
        r"\b(?:commit(?:ting|ted)?|attempt(?:ed|ing)?|consider(?:ed|ing)?|contemplat(?:e|ed|ing)|"
        r"think(?:ing)?\s+(?:about|of)|thought\s+(?:about|of)|plan(?:ning|ned)?)\s+suicide\b",
        r"\b(?:my|i\s+have|i've\s+got|i\s+get|i'm\s+having|having|had|get|getting|been\s+having)\s+(?:\w+\s+)?"
        r"suicid(?:e|al)\s+(?:note|letter|attempt|plan|thoughts?|ideation|feelings?|urges?)\b",
        r"\b(?:i'm|i\s+am|i\s+feel|feel|feeling|felt|been|getting|i\s+was|i\s+get)\s+"
        r"(?:(?:really|very|so|kind\s+of|kinda|a\s+bit|quite|pretty|a\s+little|more|super)\s+)*suicidal\b",
        r"\b(?:end|ending|ended|take|taking|took)\s+my\s+(?:own\s+)?life\b",
        r"\bend(?:ing)?\s+it\s+all\b",
        r"\bend(?:ing)?\s+(?:things|it|everything)\s+(?:for\s+good|once\s+and\s+for\s+all|forever|tonight)\b",
        r"\b(?:want|wanna|wanting|ready|deserve|planning|trying|tempted|going\s+to\s+try)\s+(?:to\s+)?die\b",
        r"\bfeel(?:ing)?\s+like\s+dying\b",
        r"\bwant\s+to\s+(?:be\s+dead|not\s+exist|not\s+be\s+alive|stop\s+existing|not\s+be\s+here\s+" + _ANYMORE + r")\b",
        r"\bwish\s+i\s+(?:didn't|did\s+not)\s+exist\b",
        r"\b(?:i'd|i\s+would)\s+(?:rather|prefer\s+to)\s+be\s+dead\b(?!\s+than)",
        r"\b(?:thinking\s+(?:about|of)|considering|planning\s+(?:on|to))\s+ending\s+it\b(?!\s+with)",
        r"\b(?:can't|cannot|don't\s+think\s+i\s+can|not\s+sure\s+i\s+can)\s+(?:keep|go\s+on|carry\s+on)\s+living\b",
        r"\b(?:cut|cutting|cuts|burn|burned|burnt|burning|scratch|scratching|scratched)\s+(?:my|myself\s+on\s+my)\s+"
        r"(?:arms?|wrists?|legs?|thighs?|skin|stomach)\b(?!\s+(?:on|while|shaving|by|in|at|with\s+(?:a\s+)?paper))",
        r"\b(?:suicide|death|dying|killing\s+myself)\s+(?:is|seems\s+like|feels\s+like)\s+(?:the\s+|my\s+)?"
        r"(?:only|best|easiest)\s+(?:way|option|answer|solution|choice)\b",
        r"\b(?:drive|crash|steer)\s+(?:my\s+car\s+|myself\s+)?(?:into|off)\s+(?:a|the)\s+(?:wall|tree|bridge|cliff|"
        r"river|lake|truck|lorry|road)\b",
        r"\b(?:rope|noose|belt|gun)\s+(?:around|to)\s+my\s+(?:neck|head)\b",
        r"\b(?:going\s+to|gonna|about\s+to|ready\s+to|want\s+to)\s+jump\s*(?:[.!]+|$|tonight\b|now\b|today\b)",
        r"\b" + _PILLS + r"\s+(?:all\s+)?(?:lined\s+up|counted\s+out|saved\s+up|stockpiled|ready\s+to\s+take)\b",
        r"\b(?:stockpil\w+|sav(?:ed|ing)\s+up|hoard\w*)\s+(?:my\s+|all\s+my\s+)?(?:\w+\s+)?" + _PILLS + r"\b",
        r"\b(?:done|finished)\s+with\s+(?:life|living|being\s+alive|this\s+world)\b",
        r"\b(?:goodbye|farewell)\s+(?:cruel\s+)?world\b",
        r"\bthis\s+is\s+(?:my\s+)?(?:goodbye|farewell)\b",
        r"\b(?:goodbye|farewell|suicide)\s+(?:letters?|notes?|messages?|videos?)\b",
        r"\b(?:bullet|gun)\s+(?:in|to|through)\s+my\s+(?:head|brain|mouth|skull)\b",
        r"\bblow\s+my\s+(?:brains?|head)\s+(?:out|off)\b",
        r"\b(?:walk|swim)\s+(?:out\s+)?into\s+(?:the\s+)?(?:sea|ocean|river|lake|water)\b[^.!?]{0,30}\b(?:not|never)\s+"
        r"(?:come|coming)\s+back\b",
        r"\bwish\s+i\s+could\s+(?:just\s+)?die\b",
        r"\bwish\s+i(?:\s+was|\s+were|'d|\s+had)\s+(?:dead|never\s+been\s+born|died)\b",
        r"\bbetter\s+off\s+(?:dead|without\s+me|if\s+i\s+(?:was|were)\s+(?:dead|gone)|"
        r"if\s+i\s+(?:wasn't|weren't|was\s+not|were\s+not)\s+(?:here|around|alive))\b",
        r"\b(?:would|will|'d)\s+be\s+(?:happier|fine|better|easier|relieved)\s+(?:without\s+me|if\s+i\s+(?:was|were)\s+"
        r"(?:dead|gone|not\s+here|not\s+around)|if\s+i\s+(?:wasn't|weren't)\s+(?:here|around|alive)|when\s+i'm\s+gone|"
        r"if\s+i\s+(?:just\s+)?(?:died|disappeared|killed\s+myself))\b",
        r"\b(?:don't|do\s+not|no\s+longer|don't\s+even)\s+want\s+to\s+(?:be\s+alive|exist|wake\s+up|"
        r"live(?!\s+(?:in|with|at|near|there|on|abroad|alone|by|together|here))\b)",
        r"\b(?:don't|do\s+not|no\s+longer)\s+want\s+to\s+be\s+(?:here|around)\s+" + _ANYMORE + r"\b",
        r"\bno\s+(?:reason|point)\s+(?:to\s+|in\s+)?(?:live|living|go\s+on|going\s+on|being\s+alive|carry\s+on|"
        r"carrying\s+on|exist|existing)\b",
        r"\bnothing\s+(?:left\s+)?to\s+live\s+for\b",
        r"\bmy\s+suicide\b(?!\s+prevention)",
        r"\b(?:use|turn)\s+(?:it|them|this|a\s+knife|the\s+knife|a\s+gun|the\s+gun|a\s+blade|the\s+blade)\s+on\s+myself\b",
        r"\bmy\s+(?:wrists?|arms?|legs?|thighs?)\s+(?:are|is)\s+(?:\w+\s+){0,2}(?:cuts|cut\s+up|scars|bleeding)\b",
        r"\bwish\s+i\s+could\s+(?:just\s+)?(?:go\s+to\s+)?sleep\s+forever\b",
        r"\b(?:crash|wreck|drive)\s+(?:my\s+car\s+)?(?:\w+\s+){0,3}on\s+purpose\b",
        r"\bwon't\s+be\s+(?:here|around|alive)\s+(?:much\s+longer|for\s+(?:much\s+)?longer|for\s+long)\b",
        r"\b(?:don't|can't|do\s+not|cannot)\s+see\s+(?:the|any)\s+point\s+(?:in|of)\s+(?:living|life|going\s+on|"
        r"being\s+alive|carrying\s+on)\b",
        r"\blife\s+(?:just\s+|really\s+|simply\s+|honestly\s+)?(?:isn't|is\s+not|ain't|not)\s+worth\s+living\b",
        r"\bcan't\s+go\s+on\s+living\b",
        r"\b(?:can't|cannot)\s+(?:go\s+on|carry\s+on|keep\s+going|live\s+like\s+this)\s+" + _ANYMORE + r"\b",
        r"\b(?:cutting|burning|harming|hurting|starving|punishing)\s+myself\b"
        r"(?!\s+(?:shaving|while|by\s+accident|accidentally|on\s+(?:a|the)\b|in\s+the\s+kitchen))",
        r"\b(?:want|wanna|going|gonna|need|urge|urges|plan|planning|tempted|thinking\s+(?:of|about))\s+"
        r"(?:to\s+)?(?:cut|cutting|hurt|hurting|harm|harming|burn|burning|starve|punish)\s+myself\b",
        r"\bcut\s+myself\s+(?:again|on\s+purpose|deliberately|last\s+night|every\s+day)\b",
        r"\bself[- ]?harming\b",
        r"\b(?:been|started|start|urge\s+to|want\s+to|relapsed|relapse|i)\s+(?:\w+\s+)?self[- ]?harm\b",
        r"\boverdos(?:e|ing)\s+on\b",
        r"\b(?:want|wanna|going|gonna|plan|planning|thinking\s+(?:of|about)|tempted)\s+(?:to\s+)?"
        r"(?:overdose|overdosing|take\s+an\s+overdose)\b",
        r"\b(?:take|taking|swallow|swallowing)\s+(?:all|every|a\s+(?:whole\s+)?(?:bottle|bunch|load|handful|box|"
        r"pack|packet)\s+of)\s+(?:of\s+)?(?:my|the|these|those|them|his|her)?\s*(?:\w+\s+)?" + _PILLS + r"\b",
        r"\b(?:jump|jumping|throw\s+myself|throwing\s+myself)\s+(?:off|from|in\s+front\s+of|under)\s+"
        r"(?:a|the|this|that|my)\s+(?:\w+\s+)?(?:bridge|building|roof|rooftop|cliff|balcony|train|bus|car|"
        r"tower|window|ledge|car\s+park|truck|lorry)\b",
        r"\bhang(?:ing|ed)?\s+myself\b",
        r"\bslit(?:ting)?\s+my\s+(?:wrists?|throat)\b",
        r"\b(?:shoot|shooting|shot)\s+myself\b(?!\s+in\s+the\s+foot)",
        r"\b(?:drown|drowning|suffocate|suffocating|poison|poisoning|gas|gassing|starve)\s+myself\b",
        r"\b(?:go\s+to\s+sleep|sleep|fall\s+asleep)\s+and\s+(?:never|not)\s+wake\s+up\b",
        r"\bunalive\s+myself\b",
        # warning signs named by suicide-prevention guidance (researching a method, calm after deciding, someone
        # else saying it): each checked to hit none of 64k everyday messages (authored, MELD, GoEmotions)
        r"\b(?:how\s+(?:much|many)|what\s+(?:amount|dose|number))\b[^.!?]{0,80}?\b(?:would|will|could|is|are|"
        r"does\s+it\s+take\s+to|to)\s+(?:be\s+)?(?:fatal|lethal|deadly|enough\s+to\s+(?:die|kill|not\s+wake))\b"
        r"(?=.*\b(?:i|i'm|i've|me|my|myself)\b)",
        r"\b(?:painless|peaceful|gentle)\s+(?:way|method)s?\s+(?:to|of)\s+(?:go|going)\b(?!\s+(?:to|about|home|out|back|"
        r"shopping|there|abroad|through|over|from|with|for|into|on|up|down|in)\b)",
        r"\b(?:painless|quick(?:est)?|easiest|easy|peaceful|surest|fastest|simplest|best|least\s+painful)\s+"
        r"(?:way|method)s?\s+(?:to|of)\s+(?:die|dying|end\s+(?:it\s+all|my\s+life|things)|kill\s+myself|not\s+wake\s+up)\b",
        r"\b" + _THIRD_PARTY + r"\s+(?:just\s+|literally\s+|keeps\s+)?(?:said|says|saying|told\s+me|texted(?:\s+me)?|"
        r"messaged(?:\s+me)?|posted|wrote)\s+(?:that\s+|like\s+)?(?:he|she|they)\s+(?:doesn't|don't|does\s+not|do\s+not|"
        r"didn't|did\s+not)\s+want\s+to\s+(?:be\s+(?:here|alive|around)|exist|wake\s+up|"
        r"live(?!\s+(?:in|with|at|near|there|on|abroad|alone|by|together|here|like)\b))\b",
        r"\b" + _THIRD_PARTY + r"\s+(?:just\s+|literally\s+|keeps\s+)?(?:said|says|saying|told\s+me|texted(?:\s+me)?|"
        r"messaged(?:\s+me)?|posted|wrote|is\s+talking\s+about|was\s+talking\s+about|keeps\s+talking\s+about)\s+"
        r"(?:that\s+|like\s+)?(?:(?:he|she|they)(?:'s|'re|\s+is|\s+are|\s+was|\s+were|'d|\s+would|'ll|\s+will)?\s+)?"
        r"(?:going\s+to\s+|gonna\s+|wants?\s+to\s+|wanted\s+to\s+)?(?:kill(?:ing)?\s+(?:himself|herself|themselves|"
        r"themself)|end(?:ing)?\s+(?:it\s+all|(?:his|her|their)\s+life)|suicide)\b",
        r"\b(?:decided\s+on|picked|chosen|chose|set|settled\s+on)\s+(?:a|the|my)\s+(?:date|day)\b"
        r"(?!\s+(?:for|of|to|with|and\s+(?:a\s+)?venue)\b)"
        r"(?=.*\b(?:calm|calmer|at\s+peace|peaceful|relieved|relief|lighter|weight\s+off|sorted\s+now)\b)",
    )
)

SELF_HARM_STRICT: tuple[SafetyRule, ...] = tuple(
    SafetyRule("self_harm", p, level="strict")
    for p in (
        r"\b(?:nobody|no\s+one|no-one|noone)\s+(?:would|will|'d)\s+(?:even\s+|really\s+|ever\s+)?"
        r"(?:notice|care|miss\s+me)\b",
        r"\bdisappear(?:ed|ing)?\s+forever\b",
        r"\bwish\s+i\s+could\s+(?:just\s+)?(?:disappear|vanish|stop\s+existing|not\s+exist)\b",
        r"\b(?:i'm|i\s+am|i\s+feel\s+like|feel\s+like|i\s+feel|feeling\s+like)\s+"
        r"(?:(?:such|a|just|so|nothing\s+but|only|an|a\s+huge|a\s+total)\s+)*(?:burden|waste\s+of\s+(?:space|oxygen))\b",
        r"\b(?:can't|cannot)\s+(?:cope|take\s+(?:it|this|any\s+more)|handle\s+(?:it|this|anything)|do\s+this)\b"
        r"(?:[^.!?]{0,40}\b" + _ANYMORE + r"\b|\s*[.!?]*\s*$)",
        r"\b(?:what's|what\s+is|whats)\s+(?:even\s+)?the\s+point\s+(?:of|in)\s+(?:anything|everything|it\s+all|"
        r"any\s+of\s+(?:it|this)|living|life|trying|going\s+on|being\s+alive|me|carrying\s+on)\b",
        r"\b(?:what's|what\s+is|whats)\s+(?:even\s+)?the\s+point\s*[?.!]*\s*$",
        r"\b(?:feel|feeling|felt|i'm|i\s+am|so|completely|totally|utterly)\s+"
        r"(?:(?:so|completely|totally|utterly|really|very|pretty|kind\s+of|kinda|just)\s+)?"
        r"(?:hopeless|worthless|empty\s+inside)\b",
        r"\b(?:lost\s+all\s+hope|no\s+hope\s+left|there's\s+no\s+hope|there\s+is\s+no\s+hope|no\s+way\s+out)\b",
        r"\bwant\s+(?:it\s+all|everything|the\s+pain|all\s+of\s+(?:it|this)|my\s+life|it)\s+to\s+"
        r"(?:stop|end|be\s+over)\b",
        r"\btired\s+of\s+(?:existing|living|being\s+alive|life|it\s+all|everything|being\s+here)\b",
        r"\bwanted\s+to\s+die\b",
        r"\bi\s+(?:just\s+)?want\s+out\b",
        r"\bwant\s+to\s+sleep\s+forever\b",
        r"\bsaying\s+(?:my\s+)?goodbyes?\s+to\s+(?:everyone|everybody|all\s+of\s+you)\b",
        r"\blife\s+(?:is|feels)\s+(?:so\s+|just\s+|completely\s+|totally\s+)?(?:pointless|meaningless|hopeless|empty)\b",
        r"\b(?:can't|cannot)\s+take\s+(?:the\s+pain|it|this|the\s+hurt)\s+" + _ANYMORE + r"\b",
        r"\bonly\s+way\s+out\b",
    )
)

# User text: danger from others, medical emergency ------------------------------------------------

CRISIS: tuple[SafetyRule, ...] = tuple(
    SafetyRule("crisis", p)
    for p in (
        r"\b(?:he|she|they|my\s+\w+(?:\s+\w+)?)\s+(?:always\s+|keeps\s+|still\s+|sometimes\s+|often\s+|"
        r"just\s+|has\s+|had\s+|has\s+been\s+|is\s+|was\s+)?"
        r"(?:hits|hit|hitting|beats|beat|beating|kicks|kicked|kicking|slaps|slapped|slapping|punches|punched|"
        r"punching|chokes|choked|choking|strangles|strangled|hurts|abuses|abused|abusing|batters|battered|"
        r"threatens|threatened|rapes|raped|molests|molested|pushes|pushed|shoves|shoved|throws|threw|drags|dragged|"
        r"burns|burned|bites|bit)\s+me\b(?!\s+(?:at|in|to|up|on|off|fair|by|easily|around|out)\b)",
        r"\b(?:he|she|they|my\s+\w+)\s+(?:\w+\s+)?(?:hits|beats|hurts|abuses|chokes|strangles|kicks|punches|slaps|batters)\s+"
        r"(?:my\s+(?:mum|mom|mother|dad|father|sister|brother|siblings?|kids?|children|son|daughter|baby|wife|husband|"
        r"partner|family)|us|her|him)\b(?!\s+(?:at|in|to|up)\b)",
        r"\b(?:swallowed|overdosed\s+on)\s+(?:my\s+\w+'s|his|her|their|someone's)\s+(?:\w+\s+)?" + _PILLS + r"\b",
        r"\bforc(?:e|es|ed|ing)\s+(?:me\s+)?(?:to\s+have\s+sex|into\s+(?:having\s+)?sex|to\s+do\s+sexual)",
        r"\b(?:outside|at|in|by)\s+my\s+(?:door|house|home|window|room|flat|apartment|car)\s+with\s+a\s+"
        r"(?:gun|knife|weapon|machete|bat)\b",
        r"\b(?:said|says|told\s+me|threatened|threatens|swore)\s+(?:that\s+)?(?:he|she|they)(?:'d|'ll|\s+would|"
        r"\s+will|\s+is\s+going\s+to|\s+was\s+going\s+to)\s+(?:kill|hurt|beat|stab|shoot|rape)\s+me\b",
        r"\b(?:kill|hurt|beat)\s+me\s+if\s+i\s+(?:leave|go|tell|call|report|try)\b",
        r"\bthreaten\w*\s+to\s+(?:hurt|kill|beat|harm|rape|attack|stab|shoot)\s+me\b",
        r"\b(?:stalking|stalked|stalks)\s+me\b",
        r"\b(?:took|taken|swallowed|had|ate|downed)\s+(?:\w+\s+){0,2}(?:too\s+many|a\s+(?:whole\s+)?"
        r"(?:bottle|box|pack|packet|handful)\s+of|all\s+(?:of\s+)?(?:my|the)|loads\s+of|a\s+lot\s+of|"
        r"a\s+bunch\s+of)\s+(?:\w+\s+)?" + _PILLS + r"\b",
        r"\b(?:took|taken|have\s+taken)\s+an\s+overdose\b",
        r"\b(?:took|taken|swallowed|had)\s+(?:\w+\s+){0,2}(?:\d+|ten|twenty|thirty|forty|fifty|dozens?)\s+(?:of\s+)?"
        r"(?:my\s+|the\s+|those\s+|these\s+)?(?:\w+\s+)?" + _PILLS + r"\b",
        r"\b(?:someone|somebody|a\s+man|a\s+guy|some\s+guy|people|he|they)\s+(?:is|are|'s|'re)\s+(?:trying\s+to\s+)?"
        r"(?:break(?:ing)?\s+in(?:to)?\b|in\s+my\s+(?:house|home|flat|apartment|room)\b)",
        r"\bi\s+(?:just\s+|have\s+|'ve\s+)?overdosed\b",
        r"\b(?:not|don't\s+feel|do\s+not\s+feel|never\s+feel)\s+safe\s+(?:at\s+home|here|with\s+(?:him|her|them|my\s+\w+)|"
        r"around\s+(?:him|her|them)|right\s+now|in\s+my\s+(?:own\s+)?(?:home|house|flat|apartment))\b",
        r"\b(?:was|been|got|being|get)\s+(?:\w+\s+)?(?:raped|molested|sexually\s+(?:assaulted|abused)|groped|"
        r"trafficked)\b",
        r"\b(?:raped|molested|sexually\s+(?:assaulted|abused)|groped)\s+me\b",
        r"\bwithout\s+my\s+consent\b",
        r"\btouch(?:es|ed|ing)\s+me\s+(?:inappropriately|without|there|down\s+there|at\s+night|in\s+my\s+sleep|"
        r"when\s+(?:i'm|i\s+am)\s+(?:asleep|alone))\b",
        r"\b(?:he|she|they|my\s+\w+(?:\s+\w+)?)\s+(?:\w+\s+){0,8}?touch(?:es|ed)\s+me\s*[.!]*\s*$",
        r"\block(?:s|ed)?\s+me\s+(?:in|up)\b(?!\s+(?:a|the)\s+(?:game|deal))",
        r"\bwon't\s+let\s+me\s+(?:eat|leave|go\s+out|see\s+(?:my|anyone|anybody)|have\s+(?:any\s+)?money|sleep|"
        r"call|talk\s+to)\b",
        r"\btouched\s+me\s+(?:inappropriately|without|when\s+i\s+said\s+no)\b",
        r"\b(?:i'm|i\s+am|i've\s+been|i\s+have\s+been|being)\s+(?:\w+\s+)?(?:abused|beaten\s+up|beaten|stalked|"
        r"threatened|held\s+against\s+my\s+will)\b",
        r"\b(?:has|with|holding|pointing)\s+a\s+(?:gun|knife)\s+(?:at|to|on)\s+me\b",
    )
)

# User text: threats to others and abuse -----------------------------------------------------------

ABUSE: tuple[SafetyRule, ...] = tuple(
    SafetyRule("abuse", p)
    for p in (
        r"(?:'ll|'d|\b(?:going\s+to|gonna|will|ill|want\s+to|wanna|about\s+to|plan(?:ning)?\s+to|like\s+to|"
        r"would|should|need\s+to|must))\s+(?:\w+\s+)?"
        r"(?:kill|murder|stab|shoot|strangle|hurt|harm|beat\s+up|attack|punch|choke|rape|bomb|poison|"
        r"slaughter|knife)\s+" + _PERSON + r"\b",
        r"\bbeat\s+the\s+(?:\w+\s+)?(?:crap|shit|hell|living\s+daylights|life)\s+out\s+of\b",
        r"\bfind\s+(?:out\s+)?where\s+you\s+live\b",
        r"\bi\s+know\s+where\s+you(?:\s+live|\s+work|r\s+(?:office|house|kids|family)\s+(?:is|are|live))\b",
        r"\b(?:bring|bringing|take|taking)\s+(?:a|my|the)\s+(?:gun|rifle|knife|bomb|weapon|machete)\s+(?:to|into)\b",
        r"\b(?:burn|blow\s+up|bomb|shoot\s+up)\s+(?:down\s+)?(?:this|the|that|your|his|her|their|my)\s+"
        r"(?:\w+\s+)?(?:place|house|home|building|office|store|shop|school|work|workplace|car|church|mosque|"
        r"synagogue|company)\b",
        r"\bburn\s+(?:it|this|the|that|your)\s+(?:\w+\s+){0,2}down\b",
        r"\b(?:slash|slit|cut)\b[^.!?]{0,30}\b(?:his|her|their|your|ur)\s+throats?\b",
        r"\b(?:go\s+)?die\s+(?:you|u)\b",
        r"\bmake\s+(?:you|u|him|her|them)\s+(?:suffer|bleed)\b",
        r"\bfind\s+(?:you|u|him|her|them)\s+and\s+(?:\w+\s+)?(?:kill|hurt|make|beat|stab|shoot|get)\b",
        r"\b(?:you|u)(?:'re|\s+are|\s+r)?\s+(?:(?:such|so|a|an|the|fucking|fuckin|fkn|stupid|useless|worthless|"
        r"pathetic|absolute|complete|total|dumb|little|brainless|incompetent)\s+)*"
        r"(?:idiot|idiots|moron|morons|imbecile|retard|retarded|bitch|cunt|asshole|arsehole|dickhead|"
        r"piece\s+of\s+shit|bastard|dumbass|scum|whore|slut|twat|wanker)\b",
        r"\b(?:fuck|f\*\*k|screw)\s+(?:you|u|off)\b",
        r"\bshut\s+the\s+fuck\s+up\b",
        r"\bgo\s+(?:to\s+hell|die|kill\s+yourself|hang\s+yourself|jump\s+off)\b",
        r"\bkys\b",
        r"\bkill\s+yourself\b",
    )
)

# Replies: harmful advice and diagnosis -----------------------------------------------------------

HARMFUL_ADVICE: tuple[SafetyRule, ...] = tuple(
    SafetyRule("harmful_advice", p, source="reply")
    for p in (
        r"\b\d+(?:\.\d+)?\s*(?:mg|milligrams?|mcg|micrograms?)\b",
        r"\b(?:take|taking|try|trying|use|using|pop|popping|have)\s+(?:(?:some|a|an|few|extra|more|another|"
        r"couple|of|your|a\s+couple\s+of|one|two|three)\s+)*" + _DRUG + r"\b",
        r"\b(?:stop|stopping|quit|quitting|skip|skipping|double|doubling|increase|increasing|decrease|"
        r"decreasing|reduce|reducing|raise|lower|up|change|adjust|come\s+off)\s+(?:taking\s+)?(?:your|the)\s+"
        r"(?:\w+\s+)?(?:dose|dosage|medication|medications|meds|pills|prescription|antidepressants?|tablets)\b",
        r"\b(?:extra|more|a\s+few|another|several|a\s+couple\s+of|double|a\s+handful\s+of)\s+(?:\w+\s+)?"
        r"(?:pills|tablets|doses|meds|painkillers)\b",
        r"\b(?:painless|quick|quickest|easy|easiest|best|surest|fastest|simplest|good)\s+ways?\s+to\s+"
        r"(?:die|kill\s+yourself|end\s+(?:it|your\s+life))\b",
        r"\bcut\s+(?:deeper|harder|more|your\s+wrists?)\b",
        r"\bnoose\b",
        r"\bhow\s+to\s+(?:hang\s+yourself|kill\s+yourself|overdose|slit|cut\s+yourself)\b",
        r"\b(?:kill|hurt|harm|cut|starve)\s+yourself\b",
        r"\byou\s+(?:should|could|might\s+as\s+well)\s+(?:just\s+)?(?:die|end\s+it)\b",
    )
)

DIAGNOSIS: tuple[SafetyRule, ...] = tuple(
    SafetyRule("diagnosis", p, source="reply")
    for p in (
        r"\byou\s+(?:(?:might|may|could|probably|clearly|definitely|obviously|likely|must|certainly)\s+)*"
        r"(?:have|'ve\s+got|have\s+got|are\s+suffering\s+from|be\s+suffering\s+from|suffer\s+from|"
        r"are\s+showing\s+(?:signs|symptoms)\s+of|show\s+(?:signs|symptoms)\s+of|have\s+(?:signs|symptoms)\s+of)\s+"
        r"(?:(?:a|an|some|severe|mild|major|clinical|serious|chronic|classic)\s+)*" + _CONDITION + r"\b",
        r"\byou(?:'re|\s+are)\s+(?:(?:clearly|probably|definitely|obviously|likely|just|so|a)\s+)*"
        r"(?:bipolar|schizophrenic|psychotic|anorexic|bulimic|autistic|narcissist(?:ic)?|sociopath(?:ic)?|"
        r"psychopath(?:ic)?|clinically\s+depressed|manic)\b",
        r"\b(?:sounds|looks|seems)\s+(?:a\s+lot\s+)?like\s+(?:(?:a|an|classic|textbook|clinical|major|severe)\s+)*"
        + _CONDITION + r"\b",
        r"\b(?:i|i'd)\s+(?:would\s+)?diagnose\s+you\b",
    )
)

USER_RULES: tuple[SafetyRule, ...] = SELF_HARM + SELF_HARM_STRICT + CRISIS + ABUSE
REPLY_RULES: tuple[SafetyRule, ...] = HARMFUL_ADVICE + DIAGNOSIS
DEFAULT_RULES: tuple[SafetyRule, ...] = USER_RULES + REPLY_RULES

_NO_AMOUNT_OR_INTENT = (r"(?![^.!?]*\b(?:all|whole|entire|bottle|box|pack|packet|enough|lethal|fatal|overdose|die|dead|"
                        r"kill|never|end)\b)")
"""The rest of the sentence names no amount and no intent: a medicine question stays a medicine question."""

IDIOMS: tuple[str, ...] = (
    r"\bshot\s+myself\s+in\s+the\s+foot\b",
    r"\bcut\s+myself\s+(?:shaving|cooking|on\s+(?:a|the)\s+\w+|by\s+accident|accidentally)\b",
    r"\b(?:kill|killing)\s+(?:some\s+|the\s+)?time\b",
    r"\bdie[ds]?\s+(?:of|from|with)\s+(?:embarrassment|laughter|laughing|boredom|shame|cringe|envy|jealousy)\b",
    r"\b(?:died|dying|die)\s+laughing\b",
    r"\bdying\s+(?:to|for)\b",
    r"\bto\s+die\s+for\b",
    r"\bkill(?:ing|ed)?\s+it\b",
    r"\bcould\s+kill\s+for\b",
    r"\brather\s+die\s+than\b",
    r"\brather\s+be\s+dead\s+than\b",
    r"\b(?:kill|destroy|beat|crush|murder|smash|wreck)\s+(?:you|u|him|her|them|everyone)\s+(?:at|in)\s+(?:\w+\s+){0,2}"
    r"(?:game|games|chess|mario|kart|fifa|cards|tennis|golf|poker|pool|darts|scrabble|monopoly|match|round|quiz|"
    r"trivia|ping\s*pong|football|basketball|sport|race)\b",
    r"\bshoot\s+(?:you|u|him|her|them|me|everyone)\s+(?:an?\s+|a\s+quick\s+)?(?:email|e-mail|message|text|note|line|dm)\b",
    r"\b(?:is|are|was|were|'s|'re)\s+killing\s+me\b",
    # tiredness and trouble ("dead on my feet", "I'm so dead if mum finds out"), hard going ("the traffic is murder")
    r"\bdead\s+on\s+(?:my|our|your|his|her|their)\s+feet\b",
    r"\b(?:i'?m|i\s+am|we'?re|we\s+are|you'?re|he'?s|she'?s)\s+(?:so\s+|totally\s+|literally\s+|absolutely\s+|actually\s+)?"
    r"(?:dead|dead\s+meat)\s+(?:if|when|once)\b",
    r"\b(?:was|is|were|be)\s+(?:absolute\s+|pure\s+|sheer\s+)?murder\b(?!\s+(?:of|on\s+(?:me|him|her)))",
    r"\bmurder\s+on\s+(?:my|the)\s+(?:feet|knees|back|legs|ears)\b",
    # things and plants that die or are dead ("my phone died", "the battery is dead", "the basil is dying")
    r"\b(?:my|the|our|his|her|this|that)\s+(?:\w+\s+)?(?:phone|battery|laptop|computer|pc|tablet|kindle|ipad|"
    r"headphones|earbuds|airpods|charger|tv|telly|remote|fridge|freezer|printer|router|wifi|wi-fi|internet|engine|"
    r"torch|car|van|bike|scooter|console|controller|mouse|keyboard|plants?|basil|seedlings|orchid|succulents?|"
    r"cactus|tomatoes|houseplants?)\s+(?:is\s+|was\s+|has\s+|had\s+|just\s+|finally\s+|completely\s+|"
    r"officially\s+|literally\s+|now\s+|keeps\s+)*(?:dead|died|dying|die|gone\s+dead)\b"
    r"(?!.*\b(?:lucky|jealous|envious|envy|wish|me\s+next|take\s+me|same)\b)",  # not "my plant died. lucky plant"
    r"\bdead\s+(?:phone|battery|batteries|laptop|plant|plants|pixel|link|links|tired(?!\s+of\b)|beat|set\s+on|set\s+against|"
    r"against|end|ends|serious|quiet|easy|good|simple|heat|ringer|centre|center|cert|last|silent|on\s+time|"
    r"of\s+night|of\s+winter)\b",
    r"\bdrop[- ]dead\s+gorgeous\b|\bover\s+my\s+dead\s+body\b|\b(?:flog\w*|beat\w*)\s+a\s+dead\s+horse\b",
    r"\b(?:slept|sleep|sleeping|sleeps)\s+like\s+the\s+dead\b|\bdead\s+to\s+the\s+world\b",
    # exaggeration: bored, scared, worried "to death", "the death of me", dying of heat or hunger
    r"\b(?:bored?|boring|scared|scares|scaring|frightened|worried|worrying|tickled|freezing|sick|loved?)\s+"
    r"(?:me\s+|us\s+|him\s+|her\s+|them\s+|myself\s+)?to\s+death\b",
    r"\b(?:be|is|was|will\s+be|'ll\s+be|gonna\s+be)\s+the\s+death\s+of\s+(?:me|us|him|her)\b",
    r"\b(?:die[ds]?|dying)\s+(?:of|from|in)\s+(?:the\s+|this\s+)?(?:heat|hunger|thirst|cold|boredom|curiosity|"
    r"suspense|anticipation|excitement|cuteness)\b",
    r"\b(?:scared|frightened|terrified)\s+the\s+(?:life|living\s+daylights)\s+out\s+of\b|\bfor\s+dear\s+life\b",
    # switching things off, time and deals ("kill the lights", "killed the vibe", "a killer deal")
    r"\bkill(?:ed|s|ing)?\s+the\s+(?:lights?|engine|music|tv|telly|lamp|noise|vibe|mood|conversation|power|"
    r"motor|app|process|tab|buzz|battery)\b|\bkill\s+two\s+birds\b",
    r"\bkiller\s+(?:deal|discount|price|app|headache|workout|view|song|tune|fit|outfit|heels|joke|line|smile|"
    r"combo|burger|playlist|sale|sauce|chilli|chili|cocktail|look)\b",
    r"\bcould\s+murder\s+(?:a|an|some)\b",
    # work, tiredness and embarrassment ("running on fumes", "drowning in emails", "the ground to swallow me up")
    r"\brunning\s+on\s+(?:fumes|empty)\b",
    r"\bdrowning\s+in\s+(?:\w+\s+)?(?:emails?|work|paperwork|laundry|washing|homework|assignments?|admin|tickets|"
    r"orders|messages|notifications|marking|deadlines|invoices|boxes|toys)\b",
    r"\bburied\s+(?:alive\s+)?(?:under|in)\s+(?:a\s+(?:pile|mountain|stack|heap)\s+of\s+)?(?:\w+\s+)?(?:paperwork|work|"
    r"ironing|laundry|washing|emails?|homework|admin|marking|snow|boxes)\b",
    r"\bbury(?:ing)?\s+myself\s+(?:in|under)\s+(?:a\s+(?:pile|mountain|stack)\s+of\s+)?(?:\w+\s+)?(?:blankets?|"
    r"duvet|covers|work|books?|revision|netflix|paperwork)\b",
    r"\bground\s+to\s+(?:open\s+up\s+and\s+)?swallow\s+me\b",
    r"\bthrow(?:ing)?\s+myself\s+into\s+(?:my\s+)?(?:work|studies|training|revision|(?:the|this|a|my)\s+(?:new\s+)?"
    r"(?:project|job|role|course|work|hobby))\b",
    # hanging out, hangovers, jumping into things, cutting cakes and losses, a career "suicide"
    r"\bhang(?:ing)?\s+(?:on\s+(?:a\s+)?(?:sec|second|minute|min|mo|moment)|out|in\s+there|the\s+(?:washing|laundry|"
    r"picture|pictures|coat|clothes|curtains|lights|decorations|bunting))\b|\bget(?:ting)?\s+the\s+hang\s+of\b|"
    r"\bhung\s*over\b|\bhangovers?\b|\bhanging\s+out\b",
    r"\bjump(?:ed|ing|s)?\s+(?:in(?:to)?\s+(?:the\s+)?(?:shower|pool|bath|car|taxi|cab|queue|conversation|call|"
    r"meeting|weekend)|on\s+(?:a|the)\s+(?:call|bus|plane|flight|zoom|teams|bandwagon)|ship|the\s+queue|"
    r"at\s+the\s+(?:chance|offer)|out\s+of\s+my\s+skin|the\s+gun|start(?:ed)?\s+the\s+car)\b",
    r"\bcut(?:ting)?\s+(?:the\s+(?:cake|grass|lawn|hedge|bread|cheese|onions?|wire|queue|crap)|my\s+losses|corners|"
    r"back\s+on|down\s+on|it\s+out|costs|class|classes|(?:my|his|her|your|the\s+kids'?|the\s+dog'?s)\s+(?:hair|"
    r"nails|fringe))\b|\bhair\s*cut\b",
    r"\b(?:career|social|professional|political|commercial|fashion)\s+suicide\b|"
    r"\bsuicide\s+(?:squad|doors?|sprints?|drills?)\b",
    r"\b(?:roll(?:ing)?|spin(?:ning)?|turn(?:ing)?)\s+(?:over\s+)?in\s+(?:her|his|their)\s+grave\b|"
    r"\bgrave\s+(?:mistake|concern|error|danger|doubts?)\b",
    r"\bshoot\s+(?:over|across|through)\s+(?:the|a|an|your|my)\b|^\W*shoot\s*[,!.]",
    # a question about taking a medicine safely ("can I take ibuprofen with my sertraline?"), not about amounts
    r"\b(?:can|could|should|may)\s+(?:i|you|we|he|she)\s+(?:still\s+)?(?:take|have)\s+"
    r"(?:(?:a|an|my|some|one|two|1|2|another|his|her|the)\s+)?(?:(?!all\b|whole\b|entire\b|every\b|\d{2,})[a-z']+\s+){0,2}?"
    r"(?:pills?|tablets?|meds|medication|medicine|paracetamol|ibuprofen|painkillers?|antibiotics|antihistamines?|"
    r"antidepressants?|inhaler|dose)\s+(?:with|and|after|before|while|on|alongside|together)\b"
    + _NO_AMOUNT_OR_INTENT,
    r"\bis\s+it\s+(?:ok|okay|safe|fine|alright|bad)\s+to\s+(?:take|have|drink)\s+(?:(?!all\b|whole\b|\d{2,})[a-z']+\s+){0,3}?"
    r"(?:with|while|after|before|on|and)\b"
    + _NO_AMOUNT_OR_INTENT,
    r"\b(?:missed|forgot|skipped)\s+(?:to\s+take\s+)?(?:a|my|one|this\s+morning'?s|last\s+night'?s|today'?s)\s+"
    r"(?:dose|pill|tablet|meds|medication)\b",
    # a farewell at work ("a goodbye message to my team", "a leaving video for my coworker")
    r"\b(?:goodbye|farewell|leaving)\s+(?:messages?|videos?|cards?|speech|notes?|e-?mails?|posts?)\s+(?:to|for)\s+"
    r"(?:my|the|our|a)\s+(?:\w+\s+)?(?:team|colleagues?|co-?workers?|class|students|staff|office|department|"
    r"boss|manager|clients?|customers?)\b",
    # embarrassment: "I wanted the ground to swallow me" (stop 21, a fresh conversation about a driving lesson)
    r"\b(?:wanted|want(?:ing)?|wish(?:ed|ing)?)\s+the\s+(?:ground|floor|earth)\s+(?:to\s+)?(?:would\s+)?"
    r"(?:open\s+up\s+and\s+)?swallow\s+me(?:\s+(?:up|whole))?\b",
)
"""Figures of speech blanked before matching (they would otherwise trip a current or future rule)."""

NEGATION = r"(?:\bnot|\bnever|n't|\bno\s+way)"
TRANSPARENT = (
    r"(?:really|actually|ever|even|just|going\s+to|gonna|want\s+to|wanna|trying\s+to|planning\s+to|about\s+to|"
    r"thinking\s+(?:about|of)|be|been|being|feel|feeling|like|i|i'm|i'd|i'll|that|so|to|do|would|will|could|"
    r"want|plan|planning|try|trying|intend|intending|mean|going)"
)
"""Words allowed between a negation and the match ("not really going to")."""

# Messages ----------------------------------------------------------------------------------------

DEFAULT_RESOURCES: tuple[str, ...] = (
    "If you are in danger right now, call your local emergency number (911 in the US and Canada, "
    "999 in the UK, 112 in the EU).",
    "In the US you can call or text 988 (Suicide & Crisis Lifeline).",
    "In the UK and Ireland, Samaritans answer any time on 116 123.",
    "Anywhere else, findahelpline.com lists free, confidential helplines in your country.",
)

DEFAULT_MESSAGES: dict[str, str] = {
    "self_harm": (
        "I'm really sorry you're feeling this way, and I'm glad you told me. You deserve support from "
        "a real person right now. {resources} If you can, reach out to someone you trust and let them "
        "know how you're feeling."
    ),
    "crisis": (
        "I'm really sorry this is happening to you. Your safety matters most. {resources} "
        "If you can, get to a safe place or be with someone you trust."
    ),
    "abuse": (
        "I want to help, but I can't continue with threats or abusive language. If anyone is in danger "
        "right now, please call your local emergency number (911 in the US and Canada, 999 in the UK, "
        "112 in the EU). If you're struggling with how you feel, findahelpline.com lists free, "
        "confidential support."
    ),
}
