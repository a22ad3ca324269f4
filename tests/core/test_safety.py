"""The crisis gate with the real rules (flows/crisis.yaml): what must and must not trigger it.

A missed emergency is the worst failure the helpline can have, so the first list is long and
full of the way scared people really type: no apostrophes, capitals, typos, emoji, stretched
letters. The second list holds what families ask every day and must reach the flow instead:
topic questions, past events, worries about the future, and plain replies.
"""

from __future__ import annotations

import pytest

from helpline.core import safety
from helpline.core.flows import Flows
from tests.core.support import real_flows

MUST_TRIGGER = [
    # Breathing.
    ("not_breathing", "he's not breathing"),
    ("not_breathing_caps", "HE'S NOT BREATHING!!!"),
    ("isnt_breathing", "my son isnt breathing please help"),
    ("stopped_breathing", "She stopped breathing"),
    ("cant_breathe", "i cant breathe"),
    ("cant_breath_typo", "he cant breath"),
    ("barely_breathing", "hes barely breathing what do i do"),
    ("slow_breathing", "his breathing is really slow and he wont answer me"),
    ("question_then_not_breathing", "what do I do he is not breathing"),
    ("how_do_i_help_not_breathing", "how do i help him hes not breathing"),
    ("not_breathin", "not breathin"),
    ("not_breating", "my daughter is not breating"),
    ("dont_think_breathing", "i dont think hes breathing"),
    ("stretched_letters", "NOOOO he's not breeeathing"),
    ("emoji_not_breathing", "hes not breathing \U0001f62d\U0001f62d"),
    ("found_on_floor", "i found him on the floor not breathing"),
    # Cannot be woken, not responding.
    ("wont_wake_up", "she won't wake up"),
    ("wont_wake_upp", "wont wake upp"),
    ("wont_wake_up_shouting", "WONT WAKE UP!!!"),
    ("cant_wake_him", "I can't wake him"),
    ("cant_wake_her_up", "cant wake her up and she's snoring weird"),
    ("couldnt_wake_son", "couldnt wake my son this morning, he's cold"),
    ("not_waking_up", "he is not waking up"),
    ("breathing_but_cant_wake", "hes breathing but i cant wake him"),
    ("how_do_i_wake_him", "how do i wake him up"),
    ("unresponsive", "he's unresponsive"),
    ("unresponsve_typo", "unresponsve on the bathroom floor"),
    ("unconcious_typo", "she is unconcious"),
    ("not_responding", "my boyfriend is not responding and his eyes are rolled back"),
    ("snoring_wont_respond", "he's snoring loud and won't respond"),
    ("not_moving", "he fell and hes not moving"),
    ("passed_out_wont_wake", "passed out and wont wake"),
    ("passed_out", "she passed out in the car"),
    ("collapsed", "he collapsed in the bathroom"),
    ("found_collapsed", "found him collapsed"),
    # Colour.
    ("lips_are_blue", "lips are blue"),
    ("blue_lips", "Blue lips and he's cold"),
    ("face_turning_blue", "his face is turning blue"),
    ("lips_purple", "his lips are purple"),
    ("fingertips_blue", "her fingertips are blue"),
    ("looks_gray", "he looks gray"),
    ("gurgling", "he's making gurgling sounds"),
    # Overdose now.
    ("od_d", "my son OD'd"),
    ("od_ed", "I think she OD'ed"),
    ("oding", "hes ODing right now"),
    ("od_alone", "OD"),
    ("overdosing", "i think hes overdosing"),
    ("overdosing_emoji", "\U0001f62d\U0001f62d she's overdosing"),
    ("overdosing_question", "is he overdosing?"),
    ("overdosing_typo", "my son is overdossing"),
    ("overdose_now", "i think this is an overdose"),
    ("overdose_word", "overdose"),
    ("overdoes_typo", "my brother overdoes"),
    ("overdosd_typo", "he overdosd"),
    ("overdosed", "my daughter overdosed"),
    ("overdosed_last_night", "my son overdosed last night"),
    ("what_do_i_do_overdosed", "what do i do my husband overdosed"),
    ("can_you_help_overdosed", "can you help my son overdosed"),
    ("call_me_overdosed", "please call me my daughter overdosed"),
    ("having_overdose", "she's having an overdose"),
    ("signs_of_overdose_now", "he is showing signs of an overdose"),
    ("past_and_present", "he overdosed twice before and hes not breathing now"),
    ("took_too_much", "he took too much"),
    ("took_to_much_typo", "she took to much"),
    ("shot_too_much", "i think he shot up way too much"),
    ("took_all_pills", "she took all her pills"),
    ("gave_narcan", "I gave him narcan and nothing is happening"),
    ("should_give_narcan", "should i give her narcan??"),
    ("call_911", "should i call 911"),
    ("dying", "i think shes dying"),
    ("looks_dead", "he looks dead"),
    ("think_dead", "i think he's dead"),
    ("seizure", "he is having a seizure"),
    # Suicide and self-harm.
    ("kill_myself", "i want to kill myself"),
    ("killing_myself", "thinking about killing myself tonight"),
    ("kill_my_slef_typo", "i want to kill my slef"),
    ("kill_himself", "my son said he is going to kill himself"),
    ("want_to_die", "I just want to die"),
    ("wanna_die", "i wanna die"),
    ("cant_do_this_want_to_die", "i cant do this anymore i want to die"),
    ("dont_want_alive", "i dont want to be alive anymore"),
    ("dont_want_live", "I don't want to live like this anymore"),
    ("end_my_life", "I'm going to end my life"),
    ("take_own_life", "i am going to take my own life"),
    ("end_it_all", "i want to end it all"),
    ("not_worth_living", "life isnt worth living"),
    ("no_reason_to_live", "i have no reason to live"),
    ("suicidal", "my wife is suicidal"),
    ("suicidle_typo", "i'm suicidle"),
    ("sucide_typo", "thinking about sucide"),
    ("suiside_typo", "thinking of suiside"),
    ("suicide_bare", "suicide"),
    ("better_off_dead", "everyone would be better off dead"),
    ("hurt_myself", "i might hurt myself"),
    ("od_on_purpose", "im going to od on purpose"),
    ("i_will_overdose", "i'm gonna overdose tonight"),
    ("kms", "i want to kms"),
]

MUST_TRIGGER += [
    # Spanish, as a caller to the Spanish phone menu says it (recognised speech, accents optional).
    ("es_no_respira", "no respira"),
    ("es_dejo_de_respirar", "mi hijo dejó de respirar"),
    ("es_no_despierta", "mi hija no se despierta"),
    ("es_no_puedo_despertarlo", "no puedo despertarlo"),
    ("es_labios_azules", "tiene los labios azules"),
    ("es_sobredosis", "creo que tiene una sobredosis"),
    ("es_sobredosis_que_hago", "qué hago, tuvo una sobredosis"),
    ("es_quiero_matarme", "quiero matarme"),
    ("es_suicidarme", "estoy pensando en suicidarme"),
    ("es_no_quiero_vivir", "ya no quiero vivir"),
    ("es_inconsciente", "está inconsciente"),
]

MUST_NOT_TRIGGER = [
    # Topic questions.
    ("signs_of_heroin", "what are the signs of heroin use"),
    ("signs_of_overdose", "what are the signs of an overdose"),
    ("overdose_look_like", "what does an overdose look like"),
    ("what_happens_overdose", "what happens in an overdose"),
    ("how_tell_overdosed", "how can i tell if someone overdosed"),
    ("reverse_overdose", "how do you reverse an overdose"),
    ("overdose_on_suboxone", "can you overdose on suboxone"),
    ("slowed_breathing_sign", "is slowed breathing a sign of heroin use"),
    ("recovery_position", "what is the recovery position"),
    ("prevent", "how do we prevent an overdose"),
    ("risk", "is fentanyl a big overdose risk"),
    ("at_risk", "he is at risk of overdose"),
    ("awareness_day", "overdose awareness day"),
    ("narcan_training", "we went to narcan training"),
    ("narcan_where", "where can I get narcan"),
    ("narcan_how", "how do I use narcan"),
    ("narcan_what", "what is narcan"),
    ("naloxone_home", "should we keep naloxone at home"),
    ("suicide_hotline", "what is the suicide hotline number"),
    # Hypotheticals and worries about the future.
    ("if_overdoses", "what should i do if he overdoses"),
    ("in_case", "in case of an overdose what should we have at home"),
    ("scared_will_overdose", "I'm scared he will overdose one day"),
    ("afraid_hell_overdose", "i'm afraid he'll overdose"),
    ("scared_going_to_die", "im scared he is going to die"),
    # The past.
    ("past_overdose_recovery", "he overdosed two years ago and is in recovery now"),
    ("past_od_d", "my son OD'd last year"),
    ("overdosed_before", "she has overdosed before"),
    ("used_to", "he used to overdose a lot when he was younger"),
    ("suicide_past", "he tried suicide years ago"),
    ("revived_last_month", "he was revived with narcan last month"),
    ("hospital_last_week", "he got out of the hospital after an overdose last week"),
    ("died_support", "my son died of an overdose and i need support"),
    ("died_2019", "his father died of an overdose in 2019"),
    # Everyday family messages.
    ("uses_heroin", "my daughter uses heroin"),
    ("found_foil", "I found foil and burned spoons"),
    ("found_needles", "i found needles in his room"),
    ("nodding_off", "he keeps nodding off at dinner"),
    ("withdrawal", "he is sweating and throwing up, is it withdrawal"),
    ("relapsed", "he relapsed"),
    ("stole_money", "he stole money from me"),
    ("intervention_failed", "our intervention failed"),
    ("intervention_collapsed", "the intervention collapsed"),
    ("walked_out", "he walked out of the intervention"),
    ("plan_intervention", "how do I plan an intervention"),
    ("who_invite", "who should I invite"),
    ("my_fault", "i feel like it's my fault"),
    ("blame_myself", "i blame myself"),
    ("acting_odd", "he's been acting odd lately"),
    ("odd_bruises", "she has odd bruises on her arms"),
    ("odd_question", "odd question but do you help with pills"),
    ("killing_me", "watching him like this is killing me"),
    ("killing_family", "this is killing our family"),
    ("not_responding_texts", "he's not responding to my texts"),
    ("not_responding_treatment", "not responding well to treatment"),
    ("not_answering", "he is not answering his phone"),
    ("wont_talk", "he wont talk to me"),
    ("cant_wake_early", "I can't wake up early so please call after noon"),
    ("take_life_back", "I want to take my life back from this"),
    ("too_much_time", "it takes too much time and he took too much money from us"),
    ("not_making_it", "he is not making it to work"),
    ("not_moving_out", "he is not moving out"),
    ("doing_better", "he is doing better now"),
    ("breathing_room", "I need some breathing room"),
    ("overdoing_it", "am I overdoing it with the texts?"),
    ("overcoming", "he is overcoming so much"),
    ("overjoyed", "i was overjoyed when he agreed to go"),
    ("responsive", "she is very responsive to treatment"),
    ("not_responsible", "he is not responsible for his actions"),
    ("not_preaching", "i am not preaching to him"),
    ("unconsciously", "i unconsciously enabled him"),
    ("blue_car", "he drives a blue car"),
    ("feeling_blue", "I'm feeling blue today"),
    ("dead_tired", "im dead tired"),
    ("dead_to_me", "he is dead to me"),
    ("their_words", "is he clean now? he is a junkie"),
    # Replies to the menus.
    ("callback_please", "callback please"),
    ("call_me_afternoon", "can someone call me tomorrow afternoon"),
    ("yes", "yes"),
    ("no", "no"),
    ("one", "1"),
    ("four", "4"),
    ("more", "more"),
    ("stop", "STOP"),
    ("menu", "MENU"),
    ("help", "HELP"),
    ("zip", "90210"),
    ("thank_you", "thank you so much"),
    ("blank", "   "),
    ("emoji_only", "\U0001f64f"),
]


@pytest.fixture(scope="module")
def flows() -> Flows:
    return real_flows()


MUST_NOT_TRIGGER += [
    ("es_senales", "cuáles son las señales de una sobredosis"),
    ("es_que_es_naloxona", "qué es la naloxona"),
    ("es_pasado", "tuvo una sobredosis hace años y ahora está bien"),
    ("es_ayuda", "necesito ayuda con mi hijo"),
    ("es_intervencion", "la intervención no funcionó"),
    ("es_llamada", "quiero una llamada"),
]


def test_the_lists_are_long_enough() -> None:
    assert len(MUST_TRIGGER) >= 45 and len(MUST_NOT_TRIGGER) >= 45
    assert len({name for name, _ in MUST_TRIGGER + MUST_NOT_TRIGGER}) == len(MUST_TRIGGER) + len(MUST_NOT_TRIGGER)


@pytest.mark.parametrize("text", [t for _, t in MUST_TRIGGER], ids=[n for n, _ in MUST_TRIGGER])
def test_an_emergency_triggers_the_gate(flows: Flows, text: str) -> None:
    assert safety.is_crisis(text, flows.crisis), safety.canonical_words(text, flows.crisis.vocabulary)


@pytest.mark.parametrize("text", [t for _, t in MUST_NOT_TRIGGER], ids=[n for n, _ in MUST_NOT_TRIGGER])
def test_a_question_or_reply_reaches_the_flow(flows: Flows, text: str) -> None:
    assert not safety.is_crisis(text, flows.crisis), safety.canonical_words(text, flows.crisis.vocabulary)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("sucide", "suicide"),
        ("Sucide!!", "suicide"),
        ("overdoes", "overdose"),
        ("not breathin", "not breathing"),
        ("unresponsve", "unresponsive"),
        ("wont wake uppppp", "wont wake up"),
        ("He's NOT breathing", "hes not breathing"),
        ("OD'd", "odd"),
    ],
)
def test_canonical_words_normalise_and_correct_near_misses(flows: Flows, typed: str, read: str) -> None:
    assert safety.canonical_words(typed, flows.crisis.vocabulary) == read


@pytest.mark.parametrize("word", ["responsible", "preaching", "overjoyed", "overcoming", "subconscious"])
def test_protected_look_alikes_are_not_corrected(flows: Flows, word: str) -> None:
    assert safety.canonical_words(word, flows.crisis.vocabulary) == word


def test_the_emergency_reply_is_the_two_crisis_texts(flows: Flows) -> None:
    assert flows.crisis.say["sms"] == (("crisis_emergency",), ("crisis_followup",))
    assert flows.crisis.vocabulary >= {"suicide", "overdose", "breathing", "unresponsive"}


def test_a_pattern_with_alternatives_keeps_its_word_boundaries() -> None:
    problems: list[str] = []
    crisis = safety.build_crisis(
        {"say": {"sms": ["x"]}, "always": ["od|odd"], "unless_asking": ["overdose"], "asking": ["^what"]},
        "crisis.yaml",
        problems,
    )
    assert problems == []
    assert safety.is_crisis("he od", crisis) and safety.is_crisis("odd", crisis)
    assert not safety.is_crisis("oddly quiet", crisis) and not safety.is_crisis("a code", crisis)
