"""Flows as data: load `flows/*.yaml`, validate them and build frozen Flow values.

A flow file holds nodes (what to say, which replies lead where, what to do); the words live in
per-language text catalogs (`flows/text/<lang>.yaml`, plus `<lang>.<part>.yaml` files such as
`en.voice.yaml`), so every flow is localisable. Loading is
`yaml.safe_load`, a shape check, building the dataclasses, then cross-checks. Every problem found
is collected and raised together as one FlowError naming the file and the node.

Pure apart from reading the files: no Flask, Redis or Twilio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from helpline.core import safety
from helpline.core.text import fill, is_gsm7, normalise, placeholders, segment_count
from helpline.errors import FlowError

#: Special route targets: the node before this one, the node an expired conversation left off at.
BACK, RESUME = "$back", "$resume"
#: Placeholders filled from configuration when flows load.
STATIC_FIELDS = ("org", "call_number", "hours")
#: Filled by the engine from the conversation's answers.
ANSWER_FIELDS = ("zip",)
#: Filled by the glue once a callback request is stored; samples are the longest plausible values.
RUNTIME_SAMPLES = {
    "ref": "#9999999",
    "wait": "x" * 60,
    "request_state": "x" * 10,
    "opening": "Wednesday at 10:00 AM",
    "last_four": "0 0 0 0",
}
SMS_MAX_SEGMENTS = 2
CHANNELS = ("sms", "voice")
ACTIONS = ("request_callback", "dial", "record", "hangup")
#: What the edge reports after a voice action: a node that does it must route every one (`on:`).
ACTION_OUTCOMES = {
    "dial": ("dial:completed", "dial:answered", "dial:busy", "dial:no-answer", "dial:failed", "dial:canceled"),
    "record": ("recorded",),
}
_NODE_FIELDS = {"say", "do", "options", "otherwise", "next", "topic", "reprompt", "listen", "on_silence", "check"}
_ROUTE_FIELDS = {"keys", "phrases", "pattern", "capture", "on", "goto", "set"}
_FLOW_FIELDS = {
    "flow",
    "version",
    "channel",
    "languages",
    "start",
    "resume",
    "globals",
    "nodes",
    "not_understood",
    "not_heard",
    "misses_limit",
    "after_misses",
}
_KEYPAD = re.compile(r"^[0-9*#]+$")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)


@dataclass(frozen=True)
class Route:
    goto: str
    keys: frozenset[str] = frozenset()
    phrases: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    capture: str | None = None
    on: str | None = None
    set: Mapping[str, str] = field(default_factory=dict)


#: One outbound message (or spoken prompt): text keys joined with a space, e.g. a shared body
#: followed by an SMS-only "Reply MORE..." prompt.
Message = tuple[str, ...]


@dataclass(frozen=True)
class Node:
    id: str
    say: tuple[Message, ...] = ()
    do: tuple[str, ...] = ()
    options: tuple[Route, ...] = ()
    otherwise: str | None = None
    next: str | None = None
    topic: str | None = None
    reprompt: tuple[Message, ...] = ()
    listen: Mapping[str, Any] = field(default_factory=dict)
    on_silence: str | None = None
    #: A question for the edge (Check action); the answer comes back as an `on: "<check>:<answer>"` outcome.
    check: str | None = None

    @property
    def waits(self) -> bool:
        return self.next is None


@dataclass(frozen=True)
class Flow:
    id: str
    channel: str
    start: str
    nodes: Mapping[str, Node]
    texts: Mapping[str, Mapping[str, str]]  # language -> key -> text
    languages: tuple[str, ...] = ("en",)
    globals: tuple[Route, ...] = ()
    resume: str | None = None
    not_understood: str = "not_understood"
    version: int = 1
    crisis: safety.Crisis = field(default_factory=safety.Crisis)
    #: Voice: spoken before the prompt again when the caller said nothing.
    not_heard: str | None = None
    #: After this many consecutive misses (silence or input not understood) go to `after_misses`; 0 is never.
    misses_limit: int = 0
    after_misses: str | None = None

    def text(self, message: Message, language: str) -> str:
        """The text of `message` in `language`, falling back key by key to the flow's first language."""
        return " ".join(self.texts.get(language, {}).get(k) or self.texts[self.languages[0]][k] for k in message)


@dataclass(frozen=True)
class Flows:
    """Every flow by id, plus the crisis rules that apply before any of them."""

    flows: Mapping[str, Flow]
    crisis: safety.Crisis

    def __getitem__(self, flow_id: str) -> Flow:
        return self.flows[flow_id]


def load_flows(directory: Path, values: Mapping[str, str]) -> Flows:
    """Load and validate every flow in `directory`, with `values` for the static placeholders."""
    problems: list[str] = []
    texts = _load_texts(directory / "text", values, problems)
    crisis_file = directory / "crisis.yaml"
    crisis = safety.build_crisis(_read(crisis_file, problems) or {}, crisis_file.as_posix(), problems)
    flows = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "crisis.yaml":
            continue
        flow = _build_flow(path, _read(path, problems), texts, crisis, problems)
        if flow is not None:
            flows[flow.id] = flow
            _check_flow(path.as_posix(), flow, problems)
    for channel, messages in crisis.say.items():
        _check_texts(crisis_file.as_posix(), "say", messages, texts, ("en",), channel, problems)
    if problems:
        raise FlowError(problems)
    return Flows(flows=flows, crisis=crisis)


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        problems.append(f"{path.as_posix()}: cannot read: {error}")
        return None


def _load_texts(directory: Path, values: Mapping[str, str], problems: list[str]) -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read(path, problems)
        if not isinstance(data, dict):
            problems.append(f"{path.as_posix()}: must be a mapping of text keys to strings")
            continue
        # `en.yaml` and `en.voice.yaml` both feed the English catalog; a key lives in one file only.
        catalog = texts.setdefault(path.name.split(".")[0], {})
        for key, text in data.items():
            if not isinstance(text, str):
                problems.append(f"{path.as_posix()}: text {key!r} must be a string")
                continue
            if str(key) in catalog:
                problems.append(f"{path.as_posix()}: text {key!r} is already defined in another file")
            unknown = placeholders(text) - {*STATIC_FIELDS, *ANSWER_FIELDS, *RUNTIME_SAMPLES}
            if unknown:
                problems.append(f"{path.as_posix()}: text {key!r}: unknown placeholder {sorted(unknown)}")
            catalog[str(key)] = fill(text.strip(), dict(values))
    if "en" not in texts:
        problems.append(f"{directory.as_posix()}/en.yaml: the English text catalog is missing")
    return texts


def _build_flow(
    path: Path, data: Any, texts: Mapping[str, Mapping[str, str]], crisis: safety.Crisis, problems: list[str]
) -> Flow | None:
    where = path.as_posix()
    if not isinstance(data, dict):
        problems.append(f"{where}: must be a mapping with flow, start and nodes")
        return None
    problems += [f"{where}: unknown field {name!r}" for name in sorted(set(data) - _FLOW_FIELDS)]
    for name in ("flow", "start", "nodes"):
        if name not in data:
            problems.append(f"{where}: missing {name!r}")
    if data.get("channel", "sms") not in CHANNELS:
        problems.append(f"{where}: channel must be one of {CHANNELS}")
    nodes_data = data.get("nodes")
    if not isinstance(nodes_data, dict) or not nodes_data:
        problems.append(f"{where}: 'nodes' must be a non-empty mapping")
        return None
    nodes = {}
    for node_id, node_data in nodes_data.items():
        node = _build_node(f"{where}: node {node_id!r}", str(node_id), node_data, problems)
        if node is not None:
            nodes[node.id] = node
    languages = tuple(_strings(f"{where}: languages", data.get("languages", ["en"]), problems))
    return Flow(
        id=str(data.get("flow", path.stem)),
        channel=str(data.get("channel", "sms")),
        start=str(data.get("start", "")),
        nodes=nodes,
        texts=texts,
        languages=languages or ("en",),
        globals=tuple(_build_routes(f"{where}: globals", data.get("globals", []), problems)),
        resume=data.get("resume"),
        not_understood=str(data.get("not_understood", "not_understood")),
        version=int(data.get("version", 1)),
        crisis=crisis,
        not_heard=_optional_str(data.get("not_heard")),
        misses_limit=_count(f"{where}: misses_limit", data.get("misses_limit", 0), problems),
        after_misses=_optional_str(data.get("after_misses")),
    )


def _build_node(where: str, node_id: str, data: Any, problems: list[str]) -> Node | None:
    if not _ID.match(node_id):
        problems.append(f"{where}: node ids are snake_case")
    if not isinstance(data, dict):
        problems.append(f"{where}: must be a mapping")
        return None
    problems += [f"{where}: unknown field {name!r}" for name in sorted(set(data) - _NODE_FIELDS)]
    unknown_actions = [a for a in _strings(f"{where}: do", data.get("do", []), problems) if a not in ACTIONS]
    problems += [f"{where}: unknown action {a!r} (known: {', '.join(ACTIONS)})" for a in unknown_actions]
    listen = data.get("listen", {})
    if not isinstance(listen, dict):
        problems.append(f"{where}: listen must be a mapping")
        listen = {}
    return Node(
        id=node_id,
        say=_messages(f"{where}: say", data.get("say", []), problems),
        do=tuple(_strings(f"{where}: do", data.get("do", []), problems)),
        options=tuple(_build_routes(where, data.get("options", []), problems)),
        otherwise=_optional_str(data.get("otherwise")),
        next=_optional_str(data.get("next")),
        topic=_optional_str(data.get("topic")),
        reprompt=_messages(f"{where}: reprompt", data.get("reprompt", []), problems),
        listen=listen,
        on_silence=_optional_str(data.get("on_silence")),
        check=_optional_str(data.get("check")),
    )


def _build_routes(where: str, data: Any, problems: list[str]) -> Iterable[Route]:
    if not isinstance(data, list):
        problems.append(f"{where}: options must be a list")
        return
    for index, item in enumerate(data):
        at = f"{where}: option {index + 1}"
        if not isinstance(item, dict) or "goto" not in item:
            problems.append(f"{at}: must be a mapping with 'goto'")
            continue
        if True in item:  # YAML 1.1 reads a bare `on:` key as the boolean true
            problems.append(f'{at}: write the outcome key quoted, "on": (YAML reads a bare on as true)')
            item = {k: v for k, v in item.items() if k is not True}
        problems += [f"{at}: unknown field {name!r}" for name in sorted(set(item) - _ROUTE_FIELDS, key=str)]
        keys = _strings(f"{at}: keys", item.get("keys", []), problems)
        phrases = _strings(f"{at}: phrases", item.get("phrases", []), problems)
        pattern = None
        if "pattern" in item:
            try:
                pattern = re.compile(str(item["pattern"]))
            except re.error as error:
                problems.append(f"{at}: bad pattern: {error}")
        if not (keys or phrases or pattern or item.get("on")):
            problems.append(f"{at}: needs keys, phrases, pattern or on")
        settings = item.get("set", {})
        if not isinstance(settings, dict) or not all(isinstance(v, str) for v in settings.values()):
            problems.append(f"{at}: set must map names to quoted strings")
            settings = {}
        yield Route(
            goto=str(item["goto"]),
            keys=frozenset(k if _KEYPAD.match(k) else normalise(k) for k in keys),
            phrases=tuple(normalise(p) for p in phrases),
            pattern=pattern,
            capture=_optional_str(item.get("capture")),
            on=_optional_str(item.get("on")),
            set={str(k): v for k, v in settings.items()},
        )


def _strings(where: str, value: Any, problems: list[str]) -> list[str]:
    """A list of strings; YAML's bare yes/no/on/off (booleans) and numbers are refused."""
    if not isinstance(value, list):
        problems.append(f"{where}: must be a list")
        return []
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        problems.append(f"{where}: {bad!r} must be quoted strings (YAML reads bare yes/no/on/off as booleans)")
    return [v for v in value if isinstance(v, str)]


def _messages(where: str, value: Any, problems: list[str]) -> tuple[Message, ...]:
    """`[a, [b, c]]`: message a, then one message joining b and c."""
    if not isinstance(value, list):
        problems.append(f"{where}: must be a list")
        return ()
    return tuple(tuple(_strings(where, item if isinstance(item, list) else [item], problems)) for item in value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _count(where: str, value: Any, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f"{where}: must be a whole number, 0 or more")
        return 0
    return value


def _check_flow(where: str, flow: Flow, problems: list[str]) -> None:
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
        for name in (node.next, node.otherwise, node.on_silence, *(r.goto for r in node.options)):
            target(at, name)
        for key in sorted({k for r in node.options for k in r.keys} & global_keys):
            problems.append(f"{where}: {at}: option {key!r} collides with a global keyword")
        _check_texts(where, at, (*node.say, *node.reprompt), flow.texts, flow.languages, flow.channel, problems)
        _check_outcomes(where, at, node, problems)
    flow_texts = ((flow.not_understood,), *(((flow.not_heard,),) if flow.not_heard else ()))
    _check_texts(where, "flow", flow_texts, flow.texts, flow.languages, flow.channel, problems)
    if flow.channel in flow.crisis.say:
        crisis_say = flow.crisis.say[flow.channel]
        _check_texts(where, "crisis say", crisis_say, flow.texts, flow.languages, flow.channel, problems)
    else:
        problems.append(f"{where}: crisis.yaml has no '{flow.channel}' emergency reply (say: {flow.channel}: [...])")
    _check_next_cycles(where, flow, problems)
    unreachable = set(flow.nodes) - _reachable(flow)
    problems += [f"{where}: node {n!r} cannot be reached" for n in sorted(unreachable)]


def _check_texts(
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
        todo += [n for n in (node.next, node.otherwise, node.on_silence) if n]
        todo += [r.goto for r in node.options]
    return seen
