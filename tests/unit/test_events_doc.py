"""docs/events.md lists every event, its fields, who emits it and who consumes it: from the code.

Regenerate it after changing events, their emitters or their consumers:

    PYTHONPATH=. python tests/unit/test_events_doc.py

The test fails while the file differs from what the code says.

How it reads the code (AST, nothing imported): an event is a class with a string `topic` class
attribute deriving from an event class; its fields are its annotated attributes (ClassVar excepted,
inherited ones included); it is *emitted* where the class is called (`ev.AgentPaused(...)`);
it is *subscribed to* where `X.topic` (or the topic string in a `topics=` argument) appears; it is
*handled* where the class is otherwise referenced in code (intake handler tables, `isinstance`,
`match` cases, `add_handler(X, ...)`).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "ccserver"
DOC = ROOT / "docs" / "events.md"
ROOTS = {"Event", "PbxEvent", "DomainEvent"}
COMMAND = "PYTHONPATH=. python tests/unit/test_events_doc.py"
TRANSLATION = "ccserver.adapters.pbx.translate"


@dataclass
class EventClass:
    name: str
    module: str
    topic: str
    bases: list[str]
    doc: str
    fields: list[tuple[str, str, str]]  # name, type, default
    emitted: set[str] = field(default_factory=set)
    subscribed: set[str] = field(default_factory=set)
    handled: set[str] = field(default_factory=set)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _sources() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        out.append((_module_name(path), ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return out


def _is_classvar(annotation: ast.expr) -> bool:
    text = ast.unparse(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _class_info(module: str, node: ast.ClassDef) -> EventClass | None:
    topic = None
    fields: list[tuple[str, str, str]] = []
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            if item.target.id == "topic" and isinstance(item.value, ast.Constant):
                topic = item.value.value
            elif not _is_classvar(item.annotation):
                default = ast.unparse(item.value) if item.value is not None else ""
                if default.startswith("field("):
                    default = (
                        default.replace("field(default_factory=", "").rstrip(")") + "()"
                        if "default_factory" in default
                        else default
                    )
                fields.append((item.target.id, ast.unparse(item.annotation), default))
        elif (
            isinstance(item, ast.Assign)
            and isinstance(item.value, ast.Constant)
            and any(isinstance(t, ast.Name) and t.id == "topic" for t in item.targets)
        ):
            topic = item.value.value
    bases = [_base_name(b) for b in node.bases]
    doc = (ast.get_docstring(node) or "").strip()
    return EventClass(node.name, module, topic or "", bases, doc, fields)


def collect() -> list[EventClass]:
    sources = _sources()
    classes: dict[str, EventClass] = {}
    for module, tree in sources:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                info = _class_info(module, node)
                if info is not None and (info.topic or node.name in ROOTS):
                    classes[node.name] = info

    # keep the classes that derive (through the found ones) from an event root
    def is_event(name: str, seen=()) -> bool:
        if name in ROOTS:
            return True
        info = classes.get(name)
        return info is not None and name not in seen and any(is_event(b, (*seen, name)) for b in info.bases)

    events = {name: info for name, info in classes.items() if name not in ROOTS and info.topic and is_event(name)}
    # inherited fields (from non-root event bases)
    for info in events.values():
        inherited: list[tuple[str, str, str]] = []
        for base in info.bases:
            if base in events:
                inherited += [f for f in events[base].fields if f[0] not in {x[0] for x in info.fields}]
        info.fields = inherited + info.fields
    by_topic = {info.topic: info for info in events.values()}
    for module, tree in sources:
        _references(module, tree, events, by_topic)
    return sorted(events.values(), key=lambda e: (not _is_pbx(e, events), e.topic))


def _is_pbx(info: EventClass, events: dict[str, EventClass]) -> bool:
    if "PbxEvent" in info.bases:
        return True
    return any(b in events and _is_pbx(events[b], events) for b in info.bases)


class _Scope(ast.NodeVisitor):
    """Walks a module knowing the enclosing function/class (for `module:function` sites)."""

    def __init__(self, module: str, events: dict[str, EventClass], by_topic: dict[str, EventClass]):
        self.module, self.events, self.by_topic = module, events, by_topic
        self.stack: list[str] = []
        self.annotations: set[int] = set()
        self.calls: set[int] = set()
        self.topic_refs: set[int] = set()

    def site(self) -> str:
        return f"{self.module}:{'.'.join(self.stack)}" if self.stack else self.module

    def _named(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_FunctionDef(self, node):
        for arg in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
            if arg.annotation is not None:
                self.annotations.update(id(n) for n in ast.walk(arg.annotation))
        if node.returns is not None:
            self.annotations.update(id(n) for n in ast.walk(node.returns))
        self._named(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        if node.name in self.events and self.events[node.name].module == self.module:
            # the definition itself: only its bases are references (not consumers)
            return
        self._named(node)

    def visit_AnnAssign(self, node):
        self.annotations.update(id(n) for n in ast.walk(node.annotation))
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        return

    def visit_Call(self, node):
        name = _base_name(node.func)
        if name in self.events and isinstance(node.func, (ast.Name, ast.Attribute)):
            self.events[name].emitted.add(self.site())
            self.calls.add(id(node.func))
        for keyword in node.keywords:
            if keyword.arg == "topics":
                for inner in ast.walk(keyword.value):
                    if isinstance(inner, ast.Constant) and inner.value in self.by_topic:
                        self.by_topic[inner.value].subscribed.add(self.site())
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr == "topic" and _base_name(node.value) in self.events:
            self.events[_base_name(node.value)].subscribed.add(self.site())
            self.topic_refs.add(id(node.value))
            return
        if (
            node.attr in self.events
            and id(node) not in self.calls
            and id(node) not in self.annotations
            and isinstance(node.ctx, ast.Load)
        ):
            self._referenced(node.attr)
            return
        self.generic_visit(node)

    def visit_Name(self, node):
        if (
            node.id in self.events
            and id(node) not in self.calls
            and id(node) not in self.annotations
            and id(node) not in self.topic_refs
            and isinstance(node.ctx, ast.Load)
        ):
            self._referenced(node.id)

    def _referenced(self, name: str) -> None:
        if self.module.startswith(TRANSLATION):  # tables of classes the translation instantiates
            self.events[name].emitted.add(self.site())
        else:
            self.events[name].handled.add(self.site())


def _references(module, tree, events, by_topic) -> None:
    _Scope(module, events, by_topic).visit(tree)


def _sites(sites: set[str]) -> str:
    return ", ".join(f"`{s}`" for s in sorted(sites)) if sites else "—"


def render() -> str:
    events = collect()
    lines = [
        "# Events",
        "",
        "<!-- generated by tests/unit/test_events_doc.py: do not edit by hand; regenerate with",
        f"     {COMMAND} -->",
        "",
        "Every event that crosses the intake or the bus. **PBX events** are what the adapters make of",
        "Asterisk's AMI/ARI messages (each carries `node`, the Asterisk instance it came from); they go",
        "through the one ordered intake to the capabilities' handlers, then to the bus. **Domain events**",
        "are what the capabilities decide or compute, published on the bus. Subscribers filter on",
        "`topic`. Serialized (`to_dict()`), an event is its fields plus `topic`.",
        "",
        "- *emitted by*: where the event is constructed;",
        "- *subscribed by*: bus subscriptions naming its topic (`topics=[X.topic]`);",
        "- *handled by*: other code dispatching on the class (intake handler tables, `isinstance`, `match`).",
        "",
        "The AMI/ARI translation (`ccserver.adapters.pbx.translate*`) builds PBX events from tables",
        "of classes: a class it names is counted as emitted there. A subscription whose topics are",
        "computed elsewhere (the database writers: `subscribe_writer(bus, writer, topics)`) shows",
        "where the topics are named.",
        "",
    ]
    section = None
    for info in events:
        kind = "PBX events" if "Pbx" in _kind(info, events) else "Domain events"
        if kind != section:
            section = kind
            lines += [f"## {kind}", ""]
        lines.append(f"### `{info.topic}` — `{info.name}`")
        lines.append("")
        lines.append(f"Defined in `{info.module}`.")
        if info.doc:
            lines += ["", " ".join(info.doc.split())]
        lines.append("")
        if info.fields:
            lines += ["| field | type | default |", "|---|---|---|"]
            for name, typ, default in info.fields:
                lines.append(f"| `{name}` | `{typ}` | {f'`{default}`' if default else '—'} |")
        else:
            lines.append("No fields (the topic says it all).")
        lines += [
            "",
            f"- emitted by: {_sites(info.emitted)}",
            f"- subscribed by: {_sites(info.subscribed)}",
            f"- handled by: {_sites(info.handled)}",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _kind(info: EventClass, events: list[EventClass]) -> str:
    by_name = {e.name: e for e in events}
    return "Pbx" if _is_pbx(info, by_name) else "Domain"


def test_events_doc_is_current():
    expected = render()
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert current == expected, f"docs/events.md is stale: regenerate it with `{COMMAND}`"


def test_every_event_has_a_topic_and_an_emitter():
    events = collect()
    assert len(events) >= 20
    topics = [e.topic for e in events]
    assert len(topics) == len(set(topics)), "two event classes share a topic"


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)} ({len(collect())} events)", file=sys.stderr)
