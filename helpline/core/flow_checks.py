"""Cross-checks of loaded flows: targets exist, every node is reachable, keywords do not collide,
every text exists in every language, SMS texts fit their budget and voice prompts hold no URLs.

Each check appends located problems (`flows/sms.yaml: node 'menu': ...`) instead of raising, so
one load reports them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from helpline.core.flow_model import (
    ACTION_OUTCOMES,
    BACK,
    RESUME,
    RUNTIME_SAMPLES,
    SMS_MAX_SEGMENTS,
    Flow,
    Message,
    Node,
)
from helpline.core.text import fill, is_gsm7, segment_count

_URL = re.compile(r"https?://|www\.", re.IGNORECASE)


def check_flow(where: str, flow: Flow, problems: list[str]) -> None:
    """Cross-checks that need the whole flow: targets, reachability, keywords, texts."""
    known = {*flow.nodes, BACK, RESUME}

    def target(at: str, name: str | None) -> None:
        if name is not None and name not in known:
            problems.append(f"{where}: {at}: goto {name!r} does not exist")

    target("start", flow.start)
    target("resume", flow.resume)
    target("after_misses", flow.after_misses)
    if flow.misses_limit and not flow.after_misses:
        problems.append(f"{where}: misses_limit needs after_misses, the node to go to")
    global_keys = {key for route in flow.globals for key in route.keys}
    for route in flow.globals:
        target("globals", route.goto)
    for node in flow.nodes.values():
        at = f"node {node.id!r}"
        for name in (node.next, node.otherwise, *(r.goto for r in node.options)):
            target(at, name)
        for key in sorted({k for r in node.options for k in r.keys} & global_keys):
            problems.append(f"{where}: {at}: option {key!r} collides with a global keyword")
        check_texts(where, at, (*node.say, *node.reprompt), flow.texts, flow.languages, flow.channel, problems)
        _check_outcomes(where, at, node, problems)
    flow_texts = ((flow.not_understood,), *(((flow.not_heard,),) if flow.not_heard else ()))
    check_texts(where, "flow", flow_texts, flow.texts, flow.languages, flow.channel, problems)
    if flow.channel in flow.crisis.say:
        crisis_say = flow.crisis.say[flow.channel]
        check_texts(where, "crisis say", crisis_say, flow.texts, flow.languages, flow.channel, problems)
    else:
        problems.append(f"{where}: crisis.yaml has no '{flow.channel}' emergency reply (say: {flow.channel}: [...])")
    _check_next_cycles(where, flow, problems)
    unreachable = set(flow.nodes) - _reachable(flow)
    problems += [f"{where}: node {n!r} cannot be reached" for n in sorted(unreachable)]


def check_texts(
    where: str,
    at: str,
    messages: Iterable[Message],
    texts: Mapping[str, Mapping[str, str]],
    languages: Iterable[str],
    channel: str,
    problems: list[str],
) -> None:
    """Every key exists in every language; SMS fits its budget, voice holds no URLs."""
    for language in languages:
        for message in messages:
            missing = [key for key in message if key not in texts.get(language, {})]
            problems += [f"{where}: {at}: text {key!r} is missing from text/{language}.yaml" for key in missing]
            if missing:
                continue
            text, name = " ".join(texts[language][k] for k in message), "+".join(message)
            if channel == "sms":
                problems += [f"{where}: {at}: text {name!r} ({language}): {p}" for p in sms_problems(text, language)]
            elif _URL.search(text):
                problems.append(f"{where}: {at}: text {name!r} ({language}): voice prompts must not hold URLs")


def sms_problems(text: str, language: str) -> list[str]:
    """Why `text` is not a good SMS: English must be GSM-7, everything must fit two segments."""
    sample = fill(text, {**RUNTIME_SAMPLES, "zip": "12345-6789"})
    encoding, segments = segment_count(sample)
    problems = []
    if language == "en" and not is_gsm7(sample):
        odd = sorted({ch for ch in sample if not is_gsm7(ch)})
        problems.append(f"uses non-GSM-7 characters {odd} (curly quotes, dashes or emoji triple the cost)")
    if segments > SMS_MAX_SEGMENTS:
        problems.append(f"is {segments} {encoding} segments ({len(sample)} characters); the limit is 2")
    return problems


def _check_outcomes(where: str, at: str, node: Node, problems: list[str]) -> None:
    """A node that dials or records routes every outcome; a node that checks routes at least one answer."""
    routed = {r.on for r in node.options if r.on}
    for action in node.do:
        missing = [name for name in ACTION_OUTCOMES.get(action, ()) if name not in routed]
        problems += [f"{where}: {at}: does {action!r} but has no option for outcome {m!r}" for m in missing]
    if node.check and not any(name.startswith(f"{node.check}:") for name in routed):
        problems.append(f"{where}: {at}: checks {node.check!r} but has no option 'on: {node.check}:<answer>'")
    if node.check and (node.next or {"dial", "record", "hangup"} & set(node.do)):
        problems.append(f"{where}: {at}: a node that checks waits for the answer: no next, dial, record or hangup")


def _check_next_cycles(where: str, flow: Flow, problems: list[str]) -> None:
    for node in flow.nodes.values():
        seen, current = {node.id}, node.next
        while current is not None and current in flow.nodes:
            if current in seen:
                problems.append(f"{where}: node {node.id!r}: 'next' loops without waiting for a reply")
                break
            seen.add(current)
            current = flow.nodes[current].next


def _reachable(flow: Flow) -> set[str]:
    todo = [flow.start, *(r.goto for r in flow.globals), *(n for n in (flow.resume, flow.after_misses) if n)]
    seen: set[str] = set()
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in flow.nodes:
            continue
        seen.add(node_id)
        node = flow.nodes[node_id]
        todo += [n for n in (node.next, node.otherwise) if n]
        todo += [r.goto for r in node.options]
    return seen
