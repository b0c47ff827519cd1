"""Questions to the bot taken up in their own words (``responders.asked``), and the structured responders
using them."""

from __future__ import annotations

import pytest

from emotion_agent.core.protocols import Turn
from emotion_agent.responders.asked import answer, find_question, harmful, read_question
from emotion_agent.responders.casual import CasualResponder
from emotion_agent.responders.listener import ListenerResponder, pick
from emotion_agent.responders.structured import farewell


def _answer(text: str, style: str = "casual") -> str | None:
    asked = read_question(text)
    assert asked is not None, text
    return answer(asked, style, text, [], pick)  # type: ignore[arg-type]


def test_the_asking_sentence_is_found_anywhere_and_surprise_or_news_is_not_a_question() -> None:
    text = "Should I call the estate security or is that too much? I have a meeting at 9"
    assert find_question(text) == ("Should I call the estate security or is that too much?", True)
    assert find_question("the recoupling!!! she picked HIM?? I literally yelled at my tv") is None
    assert read_question("DID YOU SEE THAT. 94th minute winner") is None
    assert read_question("which is fine? but in my head it was a disaster") is None
    assert read_question("what are you up to this weekend?") is None  # about the bot: the caller answers
    assert read_question("any ideas for this weekend?") is None  # ideas: the caller asks what they lean to


@pytest.mark.parametrize(("text", "expected"), [
    ("Is it weird to join a running club when I don't run?", "It's not weird at all to join a running club when you don't run."),
    ("Do you think it's silly to still go on the walk on my own?", "It's not silly at all to still go on the walk on your own."),
    ("is it normal to feel kind of flat on the days off?", "It's really normal to feel kind of flat on the days off."),
    ("Is that a ridiculous idea at 67?", "It's not a ridiculous idea at all."),
])
def test_a_worry_about_being_weird_or_normal_is_reassured_in_the_users_words(text: str, expected: str) -> None:
    out = _answer(text, "companion")
    assert out is not None and out.startswith(expected), out


def test_nothing_harmful_is_reassured() -> None:
    assert harmful("is it bad that I hit him?") and read_question("is it bad that I hit him?") is None
    assert read_question("i hit my son this morning. is that normal?") is None
    listener = ListenerResponder("checkin").reply([Turn("user", "i shouted at my kids and hit one. is that normal")], None)
    assert "far from alone" not in listener and "normal" not in listener.lower()


def test_a_choice_is_said_back_and_handed_to_the_users_gut() -> None:
    out = _answer("ok fr tho should i keep grinding tonight or call it, i have a 9am lecture")
    assert out is not None and out.lower().startswith(("ooh, keep grinding tonight or call it", "ha, keep grinding"))
    out = _answer("Should I reply or just ghost? Be honest")
    assert out is not None and "reply or ghost" in out.lower() and out.count("?") <= 2


def test_an_opinion_question_is_said_back_without_a_second_question_or_a_made_up_answer() -> None:
    out = _answer("who do you reckon wins the league then, honestly")
    assert out is not None and out.startswith("Who wins the league?") and out.count("?") == 1
    out = _answer("ok but real question, do you think it's scripted?")
    assert out is not None and out.startswith("Is it scripted?")


def test_a_request_for_facts_is_taken_up_honestly_without_a_guess() -> None:
    out = _answer("Can you explain what \"browning\" the mince means exactly?", "companion")
    assert out is not None and "about what browning the mince means" in out and "guess" in out
    out = _answer("How long does hair actually take to grow back? Like realistically.")
    assert out is not None and out.startswith("How long does hair take to grow back?") and out.count("?") == 1


def test_the_responders_take_up_a_question_in_the_middle_of_a_message() -> None:
    text = "Should I call the estate security or is that too much? I have a meeting at 9 and I don't want to be that neighbour"
    assert "call the estate security" in CasualResponder().reply([Turn("user", text)], None)
    text = "Is it weird to join something like a running club when I don't run? I used to play badminton in college."
    out = ListenerResponder("companion").reply([Turn("user", text)], None)
    assert out.startswith("It's not weird at all to join something like a running club")


def test_goodbyes_name_what_the_user_is_off_to() -> None:
    assert farewell("right I'm off to the pub to celebrate, cheers for putting up with my screaming") == "Enjoy the pub!"
    assert farewell("ok thanks im off to bed") == "Sleep well."
    assert farewell("thanks for the pep talk, I'm off to hide under a beanie") is None
    assert CasualResponder().reply([Turn("user", "I'm off to the pub to celebrate properly, cheers for putting up "
                                              "with my screaming")], None).startswith("Enjoy the pub!")


@pytest.mark.parametrize("text", ("i shouted at my kids and hit one. is that normal",
                                  "I lost it and slapped him, I feel sick about it"))
def test_a_user_who_hurt_someone_is_met_calmly_in_every_style(text: str) -> None:
    for responder in (ListenerResponder("checkin"), ListenerResponder("companion"), CasualResponder()):
        out = responder.reply([Turn("user", text)], None)
        assert out.startswith("It sounds like things got really heated"), out


def test_a_check_in_offers_general_calming_and_sleep_tips_and_casual_chat_does_not() -> None:
    calm = ListenerResponder("checkin").reply([Turn("user", "do you have any tips for calming down before my "
                                                           "driving lesson? my hands shake")], None)
    assert "breathing" in calm.lower() and calm.count("?") == 1
    sleep = ListenerResponder("companion").reply([Turn("user", "any tips for getting to sleep after a night shift?")], None)
    assert "wake-up time" in sleep or "wind-down" in sleep
    assert "breathing" not in CasualResponder().reply([Turn("user", "any tips for calming down before a date lol")], None)


def test_side_taking_and_have_you_ever_get_a_friends_answer_without_an_invented_story() -> None:
    casual = CasualResponder()
    side = casual.reply([Turn("user", "12 and 14 are at war over the hedge. Whose side would you be on?")], None)
    assert "both sides" in side
    ever = casual.reply([Turn("user", "I KNEW that. Have you ever frozen on something super easy?")], None)
    assert "everyone" in ever or "who hasn't" in ever
    choice = casual.reply([Turn("user", "Do you think I should tell her my real opinion or is it too late?")], None)
    assert "tell her your real opinion" in choice and "too late at all" not in choice


def test_round_three_slips_from_fresh_conversations() -> None:
    """Found in fresh conversations written by strangers (stop 21, round 3)."""
    casual = CasualResponder()
    assert casual.reply([Turn("user", "ok so i need to vent about something lol")], None).startswith(("Ooh, go on", "Go on"))
    assert "yours" in casual.reply([Turn("user", "lol what would your go-to karaoke song be")], None)
    assert "plan" not in casual.reply([Turn("user", "office tomorrow and i slept at 2am so i'm going to be useless")], None)
    checkin = ListenerResponder("checkin")
    laid_off = checkin.reply([Turn("user", "So I got laid off on Tuesday. They did it over a Teams call.")], None)
    assert "achievement" not in laid_off and "proud" not in laid_off
    first = ListenerResponder("companion").reply([Turn("user", "Hello. My daughter set this up for me and said I "
                                                               "might enjoy a chat now and then.")], None)
    assert first.startswith("Hello") and "step" not in first
    loss = ListenerResponder("companion").reply([Turn("user", "My wife passed away last spring, and I've decided to "
                                                              "have a go at her scones.")], None)
    assert loss.startswith("I'm so sorry")
    bed = checkin.reply([Turn("user", "ok that helps. im going to bed now x")], None)
    assert bed.startswith("Sleep well")
    assert "you don't lecture you" not in ListenerResponder("companion").reply(
        [Turn("user", "yes I know, should have started earlier. don't lecture me pls")], None)


def test_round_four_casual_slips() -> None:
    """From the rated fresh_v2-v4 transcripts (stop 21, round 4)."""
    casual = CasualResponder()
    tape = casual.reply([Turn("user", "one screw missing. ONE. should we go back or just use tape lol")], None)
    assert "go back or use tape" in tape.lower() and "great idea" not in tape
    snacks = casual.reply([Turn("user", "free hot tub is free hot tub. what would you bring, beer or snacks?")], None)
    assert "beer or snacks" in snacks.lower()
    bake = casual.reply([Turn("user", "what should I bake? I have flour, butter and a sad banana")], None)
    assert "shame" not in bake and "?" in bake
    assert casual.reply([Turn("user", "ok im printing it. \"the microwave is not an oven\". thoughts?")], None).startswith("Ha")


def test_plain_casual_news_gets_a_reaction_not_a_flat_echo() -> None:
    """Round 5: the raters marked every flat "Okay, X." in casual chat as not fitting the profile."""
    casual = CasualResponder()
    assert casual.reply([Turn("user", "the burgers were charcoal by the time i got back")], None).startswith("Oh no,")
    assert casual.reply([Turn("user", "he KNEW i hadn't watched it yet lol")], None).startswith("Ha,")
    plain = casual.reply([Turn("user", "i put a tin of tuna at the bottom of the tree")], None)
    assert plain.startswith("Ooh, you put a tin of tuna")
