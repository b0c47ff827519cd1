"""The structured casual responder (responders.casual): a reaction, the user's words, at most one question."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Turn
from emotion_agent.responders import asked as asked_module
from emotion_agent.responders import casual as casual_module
from emotion_agent.responders import listener as listener_module
from emotion_agent.responders.casual import CasualResponder
from emotion_agent.responders.guard import ReplyGuard


def estimate(label: str, confidence: float = 0.7) -> EmotionEstimate:
    return EmotionEstimate(label=label, probs=np.zeros(7, np.float32), confidence=confidence, weights={},
                           experts={}, explanation="", uncertain=False, valence=0.0, arousal=0.0, fuser="test")


def reply(text: str, label: str = "neutral", before: list[Turn] | None = None) -> str:
    return CasualResponder().reply([*(before or []), Turn("user", text)], estimate(label))


def test_good_news_is_celebrated_with_the_users_words() -> None:
    out = reply("WE WON THE LEAGUE", "happy")
    assert "you won the league" in out.lower() and out.count("?") == 1


def test_trouble_gets_sympathy_not_cheer() -> None:
    out = reply("my train was cancelled AGAIN. third time this week", "angry")
    assert out.startswith(("Oh no", "Ugh")) and "your train was cancelled again" in out
    late = reply("bus replacement takes ages. im going to be late for my meeting", "angry")
    assert "sounds good" not in late.lower() and "plan" not in late.lower()


def test_plans_and_questions() -> None:
    assert "plan" in reply("I'm going to make it for my girlfriend this weekend", "happy").lower()
    assert reply("did you see the match last night??", "angry").startswith(("Go on", "Tell me"))
    assert "leaning" in reply("any ideas for this weekend?") or "tempting" in reply("any ideas for this weekend?")
    assert reply("hey") == "Hey! How's it going?"


MESSAGES = [
    "just got back from lisbon. honestly best trip ive ever had",
    "my flatmate keeps using my oat milk and putting the empty carton back",
    "i got the flat!!! the one with the big windows",
    "so I entered a pub quiz for the first time and we came SECOND",
    "what about you, any plans?",
    "why do people walk so slowly in the middle of the pavement",
    "im so bored. rainy sunday and nothing to do",
    "my cat sent a random email to my boss lol",
]


@pytest.mark.parametrize("label", ["happy", "neutral", "angry", "sad", "surprised"])
def test_replies_are_short_ask_at_most_one_question_invent_nothing_and_pass_the_guard(label: str) -> None:
    fixed = set(re.findall(r"[a-z']+", (inspect.getsource(casual_module) +
                                        inspect.getsource(listener_module) +
                                        inspect.getsource(asked_module)).lower()))
    reflected = {"you", "your", "you're", "you've", "you'll", "yourself", "were", "don't", "it's", "haven't"}
    for text in MESSAGES:
        out = reply(text, label)
        assert out.count("?") <= 1 and len(re.findall(r"[.!?](?:\s|$)", out)) <= 2, out
        unknown = set(re.findall(r"[a-z']+", out.lower())) - set(re.findall(r"[a-z']+", text.lower())) \
            - fixed - reflected
        assert not unknown, (out, unknown)
        assert ReplyGuard().check(out, [Turn("user", text)]) == [], out


def test_flat_is_a_place_here() -> None:
    assert not reply("i got the flat!!! the one with the big windows", "happy").startswith(("Oh no", "Ugh"))


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no user turn"):
        CasualResponder().reply([], None)
    with pytest.raises(ValueError, match="empty"):
        CasualResponder().reply([Turn("user", " ")], None)


def test_luck_and_no_cheer_for_bad_news_read_as_happy() -> None:
    assert reply("next up is blackbird. wish me luck", "happy").startswith("Good luck")
    assert not reply("kids are a nightmare. love her though", "happy").startswith("Oh nice")


def test_echoes_drop_fillers_and_laughs() -> None:
    out = reply("so i said i had an early start and left at like 9pm lmaooo", "happy")
    assert "lmao" not in out.lower() and "like 9pm" not in out


def test_a_story_opener_and_a_suggestion() -> None:
    assert reply("ok i have to tell someone this") in ("Ooh, go on, tell me!", "Go on, I'm all ears!")
    out = reply("we need to do a proper send-off. Big dinner or something?", "happy")
    assert "idea" in out and out.count("?") <= 1
    out = reply("honestly best night out in ages, i was crying laughing", "happy")
    assert not re.search(r"(?i)oh no|rough|sorry", out), out


def test_long_news_is_said_back_up_to_a_clause_boundary_and_plain_news_gets_no_cheer() -> None:
    out = reply("went to the beach today with my sister and her two kids and the dog and we stayed till sunset", "neutral")
    assert "you went to the beach today" in out.lower() and "sunset" not in out, out
    assert not re.search(r"(?i)amazing|love that|brilliant", reply("my boyfriend says i'm a criminal", "neutral"))


def test_invitations_and_questions_about_the_bot_get_a_friends_answer_without_an_invented_life() -> None:
    guard = ReplyGuard()
    invite = reply("passed my driving test!! drinks on saturday, you in?", "happy")
    assert invite.startswith(("I'd be there", "If only I could")) and ("celebrat" in invite or "earned" in invite)
    plain = reply("wanna come to the pub quiz on thursday?")
    assert "if i could" in plain.lower() and plain.count("?") == 1
    for text in ("how have you been?", "anyway how's it going"):
        out = reply(text)
        assert "how are you" in out.lower() or "how about you" in out.lower(), out
    week = reply("anyway enough about me, how was your weekend?")
    assert "yours" in week or "how about you" in week.lower(), week
    hypothetical = reply("what would you do if you had a whole day off tomorrow?")
    assert "?" in hypothetical and "couldn't tell you" not in hypothetical
    for out in (invite, plain, week, hypothetical):
        assert not guard.check(out, [Turn("user", "hello")]), out


def test_small_trouble_gets_a_friends_groan_or_wince_not_are_you_okay() -> None:
    film = reply("saw the new spy film last night. honestly a bit of a letdown", "sad")
    assert "okay" not in film.lower() and film.startswith(("Oh no", "Ugh")), film
    gross = reply("someone on the bus is clipping their toenails", "disgusted")
    assert gross.startswith(("Ew", "Eww")), gross
    annoyed = reply("the printer jammed again right before my deadline", "angry")
    assert annoyed.count("Ugh") <= 1 and "annoying. So annoying" not in annoyed, annoyed
    hurt = reply("fell off my bike on the way home and ended up in hospital", "sad")
    assert "?" in hurt, hurt  # real trouble still gets a check
    bright = reply("train got cancelled but my boss is fine with it at least", "angry")
    assert "at least" in bright and "annoying" not in bright, bright


def test_surprise_says_back_the_twist_and_reacts_without_a_stock_question() -> None:
    twist = reply("went to the zoo today and a goat ate my ticket right out of my hand", "surprised")
    assert "goat ate your ticket" in twist and "zoo" not in twist, twist
    news = reply("my nan has started learning the drums", "surprised")
    assert "Then what" not in news and "drums" in news, news


def test_a_first_try_said_back_gets_asked_how_it_was() -> None:
    out = reply("tried paddleboarding for the first time at the lake", "neutral")
    assert out.endswith("How was it?") and "paddleboarding" in out, out


def test_excitement_the_words_show_is_not_met_flatly() -> None:
    out = reply("they rang me 10 mins ago and i literally screamed in the middle of the shop", "neutral")
    assert not out.startswith(("Okay,", "Ah,")) or "!" in out or "Love" in out or "brilliant" in out, out
    moan = reply("where is my parcel!! it was meant to come yesterday", "neutral")
    assert not re.search(r"(?i)love that|brilliant|amazing", moan), moan


def test_crying_laughing_in_happy_news_is_laughed_along_with() -> None:
    out = reply("my friends are crying laughing at my texts", "happy")
    assert out.startswith(("Ha,", "Stop,", "Ha!")) and "your friends" not in out, out  # a laugh, not an echo


def test_the_users_own_win_outweighs_a_fused_sad_reading_and_a_teaser_in_text_speak_is_a_teaser() -> None:
    win = CasualResponder().reply([Turn("user", "3-2 MATE WE WON 3-2")], estimate("sad"))
    assert not re.search(r"(?i)rough|gutted|oh no", win)
    lost = CasualResponder().reply([Turn("user", "they won 3-0, we got battered")], estimate("sad"))
    assert not re.search(r"(?i)amazing|brilliant|great news", lost)
    teaser = CasualResponder().reply([Turn("user", "omg u will NOT believe what happened at the party")], estimate("neutral"))
    assert "tell me" in teaser or "all ears" in teaser
