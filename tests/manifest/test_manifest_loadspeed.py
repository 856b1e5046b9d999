"""The manifest loader's shortcuts (issue 16) give what the generic paths give."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kxplan.manifest import load_manifest
from kxplan.manifest.vars import substitute_document
from kxplan.manifest.yaml_loader import _BaseLoader, _Loader, parse_document

SCALARS = [
    "Review",
    "Task 0.0",
    "true",
    "True",
    "yes",
    "no",
    "NO",
    "on",
    "Off",
    "null",
    "~",
    "",
    "1",
    "-1",
    "+1",
    "0x1F",
    "0o17",
    "1_000",
    "1.5",
    ".5",
    ".inf",
    "-.inf",
    ".nan",
    "1e3",
    "2027-01-04",
    "2027-01-04T10:00:00Z",
    "2027-02-30",
    "<<",
    "=",
    "l0-0",
    "level-3",
    "10:30",
]


def _tag(loader: type[yaml.SafeLoader], value: str, implicit: tuple[bool, bool]) -> str:
    one = loader("")
    try:
        tag: str = one.resolve(yaml.ScalarNode, value, implicit)
        return tag
    finally:
        one.dispose()


@pytest.mark.parametrize("value", SCALARS)
@pytest.mark.parametrize("implicit", [(True, False), (False, True), (False, False)])
def test_scalars_resolve_as_the_generic_resolver_does(
    value: str, implicit: tuple[bool, bool]
) -> None:
    assert _tag(_Loader, value, implicit) == _tag(_BaseLoader, value, implicit)


@given(st.text(max_size=12))
def test_any_plain_scalar_resolves_as_the_generic_resolver_does(value: str) -> None:
    assert _tag(_Loader, value, (True, False)) == _tag(_BaseLoader, value, (True, False))


def _generic_tree(text: str) -> object:
    return yaml.load(text, Loader=yaml.SafeLoader)


def test_documents_with_and_without_aliases_convert_alike() -> None:
    plain = "a: x\nb: [y, 'z', 1, true, null]\nc: {d: {e: f}}\n"
    doc, problems = parse_document(plain, "m.yaml")
    assert doc is not None and not problems
    assert doc.data == _generic_tree(plain)
    assert doc.locs[("b", 1)] == (2, 8)
    assert doc.key_locs[("c", "d")] == (3, 5)
    aliased = "a: &x x\nb: [*x, 'z', 1, true, null]\nc: {d: {e: f}}\n"
    doc2, problems2 = parse_document(aliased, "m.yaml")
    assert doc2 is not None and not problems2
    assert doc2.data == {**doc.data, "b": ["x", "z", 1, True, None]}
    assert doc2.locs[("b", 1)] == (2, 9)


def test_a_document_without_dollar_brace_skips_substitution() -> None:
    doc, _ = parse_document("version: 1\nname: n\ntasks: [{title: T}]\n", "m.yaml")
    assert doc is not None and doc.no_substitution
    assert substitute_document(doc, {}) == (doc.data, [])
    assert not doc.with_data({"name": "${x}"}).no_substitution


@pytest.mark.parametrize(
    "title", ['"${who} kickoff"', '"\\x24{who} kickoff"', '"$\\u007bwho} kickoff"']
)
def test_dollar_brace_written_or_escaped_is_substituted(tmp_path: Path, title: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(f"version: 1\nname: n\nvars:\n  who: Acme\ntasks:\n  - title: {title}\n")
    assert load_manifest(path).tasks[0].title == "Acme kickoff"


@pytest.mark.parametrize("kind", [yaml.SequenceNode, yaml.MappingNode])
def test_lists_and_mappings_resolve_as_the_generic_resolver_does(kind: type[yaml.Node]) -> None:
    for implicit in [(True, False), (False, True), (False, False)]:
        fast, generic = _Loader(""), _BaseLoader("")
        try:
            assert fast.resolve(kind, None, implicit) == generic.resolve(kind, None, implicit)
        finally:
            fast.dispose()
            generic.dispose()


_PLAIN_DOCUMENTS = [
    "a: x\nb: [y, 'z', 1, true, null]\nc: {d: {e: f}}\n",
    "title: a\nkey: k\ntitle: b\n",  # a duplicate key
    "? [a, b]\n: c\nd: e\n",  # a key that is a list
    "a: !!python/name:os.system\nb: !!set {x: null}\nc: !!omap [x: 1]\n",
    "d: 2027-01-04\nbad: 2027-02-30\nn: 5\nf: 1.5\nyes: no\n",
    "tasks:\n  - title: T\n    tags: [a, b]\n    checklist: [{name: c}]\n",
    "[" * 70 + "]" * 70 + "\n",  # too deep
    "{a: " * 63 + "[x, [y]]" + "}" * 63 + "\n",  # at the depth limit
]


@pytest.mark.parametrize("text", _PLAIN_DOCUMENTS)
def test_plain_documents_convert_as_the_generic_converter_does(text: str) -> None:
    """`convert_plain` (no aliases, no merge keys) records what `convert` records."""
    from kxplan.manifest.yaml_loader import _Converter, _Stop

    results = []
    for plain in (False, True):
        loader = _Loader(text)
        try:
            converter = _Converter("m.yaml", loader, aliases=False)
            node = loader.get_single_node()
            try:
                data = (converter.convert_plain if plain else converter.convert)(node, ())
            except _Stop:
                data = "stopped"
        finally:
            loader.dispose()
        results.append((data, converter.locs, converter.key_locs, converter.problems))
    assert results[0] == results[1]


def test_composition_words_are_the_composition_keys() -> None:
    from kxplan.manifest.compose import COMPOSE_KEYS
    from kxplan.manifest.yaml_loader import COMPOSE_WORDS

    assert COMPOSE_WORDS == COMPOSE_KEYS


@pytest.mark.parametrize(
    ("text", "simple"),
    [
        ("tasks:\n  - title: T\n", True),
        ("tasks:\n  - include: x.yaml\n", False),
        ('tasks:\n  - "\\x69nclude": x.yaml\n', False),  # an escaped key
        ("tasks:\n  - title: T\n    description: when ready\n", False),  # unsure: no
    ],
)
def test_a_document_without_composition_words_skips_the_composition_scan(
    text: str, simple: bool
) -> None:
    doc, _ = parse_document(text, "m.yaml")
    assert doc is not None and doc.no_composition is simple
    assert not doc.with_data({}).no_composition
