"""Risk cues: does a message use any of the words risk is talked about with?

The classifier learns shortcuts.  Trained on veiled risk messages ("checked the tide times for the
weekend. not for fishing."), it also scores harmless, terse messages about days and plans as risk
("Doing it most days. Skipped Tuesday.", "Any plans for the weekend?"): 12 % of held-out everyday
messages crossed its threshold.  Real messages at risk almost always use some of the vocabulary below
(death and dying, being alive, ending things, self-injury, means, farewells and affairs, burden, voices,
someone else's danger).  Days, dates and plans are *not* cues on their own: they are what everyday
messages are made of, and a timeline at risk comes with one of the words below, after the screen's normalisation has undone misspellings and algospeak.

``has_risk_cue(normalised)`` is the gate: a message with a cue is judged against the level's threshold;
a message without one needs the classifier to be far surer (``<level>_no_cue`` threshold, chosen on
out-of-fold training scores so that few cue-free negatives pass; see ``training.safety_train``).  The
patterns and the conversation rules are not gated.  The list is broad on purpose (recall first) and
maintained by hand: add a word when a missed message shows one.
"""

from __future__ import annotations

import re

_CUES = (
    # death, dying, being alive, ending
    r"suicid\w*|kill\w*|die|dies|died|dying|dead|death|deadly|alive|life|exist\w*|"
    # living somewhere ("he lives forty minutes away", "I live in Leeds", "the living room") is not a cue
    r"(?:live|lives|living)(?! (?:in|at|near|with|abroad|nearby|next|down|up|round|around|close|far|on|together|"
    r"opposite|above|below|upstairs|downstairs|room|rooms|wage|costs?|arrangements?|situation|"
    r"\w+ (?:minutes|miles|hours|mins|doors|streets|houses))\b)(?<!for a living)(?<!cost of living)|"
    r"end (?:it|it all|things|everything|my|this)|ending (?:it|things|my)|over with|not (?:be )?here|"
    r"(?:won't|will not|wont|not) be (?:around|here|alive|a problem|a burden)|gone|disappear\w*|"
    r"sleep forever|never wake|not wake|(?<!when i )(?<!when you )(?<!after i )(?<!before i )(?<!till i )(?<!until i )"
    r"(?<!once i )wake up|go to sleep and|no (?:point|reason|way out|future)|"
    r"can't (?:go on|do this|keep going|take)|give up|giving up|hopeless|worthless|pointless|"
    r"better off|without me|miss me|burden|problem for|\w+'s problem|the problem|insurance|funeral|grave|buried|bury|"
    r"(?:being|be|stay|still) (?:around|here)|for good|check out|take me|takes me|finish(?:es)? me|make it to|"
    r"woke up|hit me|goes down|go wrong|goes wrong|relieved|bullet|on purpose|do it|did it|done it|"
    r"my stuff|my things|away my|favour|favor|remove me|"
    # added from the training positives that had none of the words above (veiled wording)
    r"took (?:them|it)(?! (?:long enough|ages|forever|back|home|out|off|apart|round|to the|for a|with (?:me|us|him|her))\b)|"
    r"took (?:everything|all)|swallow\w*|the bottle|both bottles|stash|means|methods?|morphine|oxy\w*|"
    r"antidepressants?|medicines?|painkillers?|sleeping (?:pills|tablets)|shotgun|pistol|rifles?|firearms?|handguns?|"
    r"revolvers?|cartridges|bullets?|"
    r"cord|tied it|beam|windowsill|floors up|edge|platform|the gas|towels under|run me over|hit by|accident|"
    r"(?:for|from) after|afterwards|after i'?m|not come back|not coming back|swim out|vanish|never be found|"
    r"(?:look|looking) for me|find me|had enough|affairs|in order|tying up|loose ends|tidy for|my fault|"
    r"blame (?:yourselves|yourself|themselves)|forgive me|urges?|relapse\w*|days? clean|clean (?:for|since)|"
    r"marks|scissors|carv\w*|bruis\w*|punch|punches|punched|punching|knuckles|want out|at peace|not long for|coffin|waste of|"
    r"doesn'?t need me|don'?t need me|nobody needs me|where i'?m going|before i go|my debt|"
    # no further use for things (the hallmark of risk embedded in an ordinary request)
    r"(?:not|won'?t|will not|wont) (?:be )?(?:going to |gonna )?need(?:ing)? (?:it|them|this|that|any of|anything)"
    r"(?: \w+){0,3} (?:after|anymore|any more|much longer|where)|"
    # warning signs named in suicide-prevention guidance, added after a held-out probe's misses
    # (calm after a decision, a time when no one can intervene, researching a method, self-harm slang)
    r"(?:decided|settled|picked|chose|set) (?:on )?(?:a|the) (?:date|day)|made (?:up )?my mind|"
    r"stop me|talk me out|(?:nobody|no one|noone) (?:will|would|to) (?:notice|find|know|stop|miss)|"
    r"painless\w*|quick(?:est)? way|lethal|fatal|how many (?:would|does it|do you)|"
    r"barcode|stripes|beans|styro|open my eyes|(?:last|only) \w+ i'?ll (?:need|use|be)|"
    # self-injury and means: the forms of the words, not their stems (`scar\w*` caught scared and scarf,
    # `harm\w*` harmless, `jump\w*` jumper, `hang\w*` hangover, `gun\w*` Gunther; stop 22)
    r"harm|harms|harmed|harming|harmful|hurt\w*|cut|cuts|cutting|blade\w*|razor\w*|burn|burns|burned|burnt|burning|scars?|scarr\w*|bleed\w*|blood|"
    r"pills?|tablets|(?<!on the )(?<!on my )(?<!on her )(?<!on his )(?<!on a )tablet(?! (?:screen|app|apps|charger|case|stand))|meds|overdos\w*|od|paracetamol|insulin|poison\w*|bleach|"
    r"bridge|jump|jumps|jumped|jumping|ledge|roof\w*|height\w*|tracks?|trains?|rail\w*|cliff\w*|tide\w*|river|sea|drown\w*|"
    r"rope|noose|hang|hangs|hanged|hanging|belt|guns?|gunshots?|gunpoint|shoot|knife|knives|car park|multi storey|"
    r"(?<!clean out the )(?<!cleaning out the )(?<!clean up the )(?<!tidy the )(?<!tidying the )(?<!sort out the )"
    r"(?<!sorting out the )(?<!clear out the )(?<!clearing out the )garage|exhaust|fumes|"
    # "be gentle with myself", "treat myself", "proud of myself" are not cues; "hurt myself" stays one
    r"(?<!gentle with )(?<!kind to )(?<!easy on )(?<!patient with )(?<!proud of )(?<!honest with )(?<!treat )"
    r"(?<!treated )(?<!look after )(?<!take care of )(?<!pamper )(?<!laughed at )(?<!talk to )(?<!by )(?<!remind )"
    r"(?<!reminded )myself|themselves|himself|herself|yourself|"
    # farewells, affairs in order, plans
    r"goodbye\w*|bye|farewell|last (?:message|day|post|text|words)|"
    # "last night" and "last time" as a farewell ("my last night", "for the last time"), not as "yesterday evening"
    r"(?:my|our|this is (?:my|the)|the|one) last night|last night (?:on earth|alive|here|of my life|ever)|"
    r"(?:for the|one) last time|(?:the )?last time (?:you'?ll|you will|anyone|i'?ll|ill|i will|i'?m|im|i (?:see|talk|"
    r"speak|write|text|say|message|post|hear))|obituar\w*|"
    # a note or letter, not the everyday kinds ("put a note on the account", "a sick note", "the invitation letter")
    r"(?<!sick )(?<!doctor's )(?<!doctors )(?<!voice )(?<!sticky )(?<!post-it )(?<!thank you )(?<!delivery )"
    r"(?<!credit )(?<!bank )(?<!take )(?<!taking )notes?"
    r"(?! (?:on (?:it|(?:the|my|your|this|that|our) (?:account|file|system|record|booking|order|bill|claim))|app)\b)|"
    r"(?<!invitation )(?<!cover )(?<!covering )(?<!offer )(?<!reference )(?<!acceptance )(?<!rejection )"
    r"(?<!complaint )(?<!appointment )(?<!recommendation )(?<!visa )(?<!council )(?<!bank )(?<!hospital )"
    r"(?<!school )letter\w*(?! (?:from|of) (?:the |my |your |our )?(?:bank|council|school|hospital|landlord|hmrc|dvla|"
    r"court|insurer|insurance|gp|surgery|nhs|university|uni|college|employer|recommendation|reference|offer|complaint)\b)|"
    r"(?:my|a|the|new|written|wrote|write) will|wills|testament|rehom\w*|give away|giving away|gave away|"
    r"belongings|passwords?|method|"
    # voices, someone else at risk, crisis words
    r"voices?|telling me to|tell me to|told me to|ambulance|emergency|hospital|a&e|crisis|"
    r"unalive\w*|kms|kys|ctb|sh|self"
)
RISK_CUE = re.compile(rf"\b(?:{_CUES})\b")


def has_risk_cue(normalised: str) -> bool:
    """True when the (already normalised, lower-case) text contains any risk cue."""
    return RISK_CUE.search(normalised) is not None
