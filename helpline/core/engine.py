"""Pure conversation engine: flow + conversation + event -> Turn.

No Flask, Redis, RQ or Twilio imports. No clock, no randomness, no phone numbers: `now` is an
argument and contact details are added by the glue (conversations.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from helpline.core import safety
from helpline.core.actions import (
    Action,
    Check,
    Dial,
    Hangup,
    Listen,
    Priority,
    Record,
    RequestCallback,
    Say,
    SendText,
)
from helpline.core.events import Event, KeysPressed, NoInput, Outcome, spoken_or_written
from helpline.core.flows import BACK, RESUME, Flow, Message, Node, Route
from helpline.core.state import Conversation
from helpline.core.text import fill, normalise

VOICE_LANGUAGES = {"en": "en-US", "es": "es-US"}
CRISIS_TOPIC = "crisis"


@dataclass(frozen=True)
class Turn:
    conversation: Conversation
    actions: tuple[Action, ...]
    crisis: bool = False


def advance(
    flow: Flow,
    conversation: Conversation | None,
    event: Event,
    *,
    now: datetime,
    idle_after: timedelta | None = None,
) -> Turn:
    """Apply one inbound event and return where the conversation goes next.

    Safety runs first, whatever the state. A new (or unusable) conversation starts at the flow's
    start, or goes straight to what the first message asked for. One idle for longer than
    `idle_after` is welcomed back at the flow's `resume` node.
    """
    fresh = conversation is None or conversation.flow != flow.id or conversation.node not in flow.nodes
    if fresh:
        conversation = Conversation.new(flow.id, flow.start, now)
    assert conversation is not None
    conversation = replace(conversation, step=conversation.step + 1)
    words = spoken_or_written(event)
    if words and not isinstance(event, KeysPressed) and safety.is_crisis(words, flow.crisis):
        return _crisis_turn(flow, conversation, now)
    if fresh:
        opening = _enter(flow, conversation, flow.start, now, remember=False)
        route = _match(flow, flow.nodes[opening.conversation.node], event)
        return _follow(flow, opening.conversation, route, event, now) if route else opening
    if idle_after is not None and flow.resume and now - conversation.updated_at > idle_after:
        paused = conversation.with_answers(resume=conversation.node)
        return _enter(flow, paused, flow.resume, now, remember=False)
    node = flow.nodes[conversation.node]
    route = _match(flow, node, event)
    if route is None:
        return _not_understood(flow, conversation, node, event, now)
    return _follow(flow, conversation, route, event, now)


def expects(flow: Flow, conversation: Conversation | None, outcome: str) -> bool:
    """Whether the node the conversation waits at routes `outcome` (e.g. `hangup`): the glue asks before feeding it."""
    if conversation is None or conversation.flow != flow.id or conversation.node not in flow.nodes:
        return False
    return any(route.on == outcome for route in flow.nodes[conversation.node].options)


def _crisis_turn(flow: Flow, conversation: Conversation, now: datetime) -> Turn:
    """Emergency guidance first, an urgent callback request, then the way back into the flow."""
    flagged = replace(conversation, flagged=True, misses=0, updated_at=now)
    actions: list[Action] = [_say(flow, flagged, m) for m in flow.crisis.say.get(flow.channel, ())]
    actions.append(
        RequestCallback(priority=Priority.URGENT, topic=CRISIS_TOPIC, preferred_time="asap", language=flagged.language)
    )
    if flow.channel == "voice":
        again = _enter(flow, flagged, flagged.node, now, remember=False)
        return Turn(again.conversation, (*actions, *again.actions), crisis=True)
    return Turn(flagged, tuple(actions), crisis=True)


def _match(flow: Flow, node: Node, event: Event) -> Route | None:
    """The route this event takes from `node`: exact keywords first, then patterns, then phrases."""
    if isinstance(event, Outcome):
        return next((r for r in node.options if r.on == event.name), None)
    if isinstance(event, NoInput):
        return next((r for r in node.options if r.on == "silence"), None)
    raw = spoken_or_written(event)
    if raw is None:
        return None
    words = raw if isinstance(event, KeysPressed) else normalise(raw)
    padded, stripped = f" {words} ", raw.strip()

    def by_key(route: Route) -> bool:
        return words in route.keys

    def by_pattern(route: Route) -> bool:
        return route.pattern is not None and route.pattern.fullmatch(stripped) is not None

    def by_phrase(route: Route) -> bool:
        return any(f" {phrase} " in padded for phrase in route.phrases)

    order: tuple[tuple[tuple[Route, ...], Callable[[Route], bool]], ...] = (
        (flow.globals, by_key),
        (node.options, by_key),
        (node.options, by_pattern),
        (flow.globals, by_pattern),
        (node.options, by_phrase),
        (flow.globals, by_phrase),
    )
    return next((route for routes, test in order for route in routes if test(route)), None)


def _follow(flow: Flow, conversation: Conversation, route: Route, event: Event, now: datetime) -> Turn:
    answers = dict(route.set)
    raw = spoken_or_written(event)
    if route.capture and raw is not None:
        answers[route.capture] = raw.strip()
    if isinstance(event, Outcome) and event.value:
        answers[event.name.split(":")[0]] = event.value
    conversation = replace(conversation.with_answers(**answers), misses=0)
    if "language" in answers:
        conversation = replace(conversation, language=answers["language"])
    if route.goto == BACK:
        target = conversation.history[-1] if conversation.history else flow.start
        conversation = replace(conversation, history=conversation.history[:-1])
        return _enter(flow, conversation, target, now, remember=False)
    if route.goto == RESUME:
        target = conversation.answers.get("resume", flow.start)
        return _enter(flow, conversation, target if target in flow.nodes else flow.start, now, remember=False)
    return _enter(flow, conversation, route.goto, now, remember=route.goto != conversation.node)


def _not_understood(flow: Flow, conversation: Conversation, node: Node, event: Event, now: datetime) -> Turn:
    missed = replace(conversation, misses=conversation.misses + 1, updated_at=now)
    if flow.after_misses and flow.misses_limit and missed.misses >= flow.misses_limit:
        return _enter(flow, replace(missed, misses=0), flow.after_misses, now, remember=False)
    if node.otherwise:
        return _enter(flow, missed, node.otherwise, now, remember=False)
    if isinstance(event, NoInput):  # silence: just ask again
        again = _enter(flow, missed, node.id, now, remember=False)
        if flow.not_heard is None:
            return again
        return Turn(again.conversation, (_say(flow, missed, (flow.not_heard,)), *again.actions))
    sorry = _say(flow, missed, (flow.not_understood,))
    prompt = [_say(flow, missed, message) for message in node.reprompt or node.say]
    listen = [_listen(flow, node, missed)] if flow.channel == "voice" else []
    return Turn(missed, (sorry, *prompt, *listen))


def _enter(flow: Flow, conversation: Conversation, node_id: str, now: datetime, *, remember: bool) -> Turn:
    """Move to `node_id`, say its texts and do its actions, following `next` until a node waits."""
    conversation = conversation.moved_to(node_id, now, remember=remember)
    actions: list[Action] = []
    while True:
        node = flow.nodes[conversation.node]
        if node.topic:
            conversation = conversation.with_answers(topic=node.topic)
        actions += [_say(flow, conversation, message) for message in node.say]
        actions += [_do(name, node, conversation) for name in node.do]
        if node.next is None:
            break
        conversation = conversation.moved_to(node.next, now, remember=False)
    if node.check:
        actions.append(Check(node.check))
    elif flow.channel == "voice" and not {"dial", "record", "hangup"} & set(node.do):
        actions.append(_listen(flow, node, conversation))
    return Turn(conversation, tuple(actions))


def _say(flow: Flow, conversation: Conversation, message: Message) -> SendText | Say:
    text = fill(flow.text(message, conversation.language), conversation.answers)
    if flow.channel == "voice":
        return Say(text, language=VOICE_LANGUAGES.get(conversation.language, "en-US"))
    return SendText(text)


def _listen(flow: Flow, node: Node, conversation: Conversation) -> Listen:
    hints = tuple(p for r in (*node.options, *flow.globals) for p in r.phrases)
    return Listen(
        digits=node.listen.get("digits", 1),
        speech=bool(node.listen.get("speech", True)),
        timeout_s=int(node.listen.get("timeout", 6)),
        hints=hints,
        language=VOICE_LANGUAGES.get(conversation.language, "en-US"),
    )


def _do(name: str, node: Node, conversation: Conversation) -> Action:
    answers = conversation.answers
    match name:
        case "request_callback":
            voicemail = answers.get("voicemail_ok")
            return RequestCallback(
                priority=Priority.URGENT if conversation.flagged else Priority.NORMAL,
                topic=answers.get("topic", ""),
                preferred_time=answers.get("preferred_time", "any"),
                voicemail_ok=None if voicemail is None else voicemail == "yes",
                language=conversation.language,
                recording_url=answers.get("recorded"),  # Outcome("recorded", url) from a Record
                confirmed=answers.get("confirmed", "yes") == "yes",
            )
        case "dial":
            return Dial(timeout_s=int(node.listen.get("timeout", 20)))
        case "record":
            return Record(max_length_s=int(node.listen.get("max_length", 120)))
        case "hangup":
            return Hangup()
    raise ValueError(f"unknown action {name!r}; load_flows() should have refused it")
