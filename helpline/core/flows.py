"""Flows as data: load `flows/*.yaml`, validate them and build frozen Flow values.

A flow file holds nodes (what to say, which replies lead where, what to do); the words live in
per-language text catalogs (`flows/text/<lang>.yaml`, plus `<lang>.<part>.yaml` files such as
`en.voice.yaml`), so every flow is localisable. Loading is `yaml.safe_load`, a shape check,
building the dataclasses (flow_model.py), then cross-checks (flow_checks.py). Every problem found
is collected and raised together as one FlowError naming the file and the node.

Pure apart from reading the files: no Flask, Redis or Twilio. The only core module that reads YAML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from helpline.core import safety
from helpline.core.flow_checks import check_flow, check_texts, sms_problems
from helpline.core.flow_model import (
    ACTIONS,
    ANSWER_FIELDS,
    BACK,
    CHANNELS,
    RESUME,
    RUNTIME_SAMPLES,
    STATIC_FIELDS,
    Flow,
    Flows,
    Message,
    Node,
    Route,
)
from helpline.core.text import fill, normalise, placeholders
from helpline.errors import FlowError

__all__ = [
    "BACK",
    "RESUME",
    "RUNTIME_SAMPLES",
    "Flow",
    "FlowError",
    "Flows",
    "Message",
    "Node",
    "Route",
    "load_flows",
    "sms_problems",
]

_NODE_FIELDS = {"say", "do", "options", "otherwise", "next", "topic", "reprompt", "listen", "check"}
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
            check_flow(path.as_posix(), flow, problems)
    for channel, messages in crisis.say.items():
        check_texts(crisis_file.as_posix(), "say", messages, texts, ("en",), channel, problems)
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
