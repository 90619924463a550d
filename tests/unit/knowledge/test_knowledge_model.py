"""The knowledge base's pure rules: indexed words (French stems, accents folded), queries,
validation, tags from a call, who may edit, sanitised Markdown, diffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from ccserver.capabilities.knowledge.model import (
    Hit,
    Revision,
    Tag,
    call_tags,
    diff,
    fts5_match,
    may_edit,
    parse_tags,
    query_terms,
    rank_suggestions,
    render_markdown,
    search_text,
    snippet,
    terms,
    tsquery,
    validate_draft,
)
from ccserver.core.errors import InvalidInput

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_inflections_of_a_word_share_one_stem():
    assert len(set(terms("facturation factures facturé Facturer"))) == 1


def test_accents_and_ligatures_are_folded_before_stemming():
    assert terms("Électricité") == terms("electricite")
    assert terms("cœur") == terms("coeur")


def test_stop_words_are_not_indexed():
    assert terms("la facture de la box") == terms("facture box")


def test_query_keeps_each_meaningful_stem_once():
    assert query_terms("Les factures et la facturation") == (terms("facture")[0],)


@pytest.mark.parametrize("query", ["", "   ", "la le de", "!!!"])
def test_query_without_a_meaningful_word_is_refused(query):
    with pytest.raises(InvalidInput) as caught:
        query_terms(query)
    assert caught.value.details["field"] == "q"


def test_too_long_query_is_refused():
    with pytest.raises(InvalidInput, match="q: at most"):
        query_terms("mot " * 100)


def test_database_queries_quote_stems_and_prefix_the_last():
    stems = query_terms('facture "box" OR NEAR(x')
    assert fts5_match(stems) == '"factur" AND "box" AND "or" AND "near" AND "x"*'
    assert tsquery(stems) == "factur & box & or & near & x:*"


def test_title_weighs_twice_and_tags_are_indexed():
    words = search_text("Panne", "rien", (Tag("queue", "support-box"),)).split()
    assert words.count(terms("panne")[0]) == 2
    assert "support" in words and "box" in words


def test_draft_is_normalised():
    draft = validate_draft(
        {
            "title": "  Résilier\tun contrat ",
            "body": "Texte\r\n",
            "tags": "queue:ventes, ivr:accueil/menu:2\ndisposition:resolu",
        }
    )
    assert draft.title == "Résilier un contrat"
    assert draft.body == "Texte"
    assert [str(t) for t in draft.tags] == ["disposition:resolu", "ivr:accueil/menu:2", "queue:ventes"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "x" * 201, "body": "x"}, "title"),
        ({"title": "a\x00b", "body": "x"}, "title"),
        ({"title": "t", "body": ""}, "body"),
        ({"title": "t", "body": 3}, "body"),
        ({"title": "t", "body": "x", "tags": ["color:red"]}, "tags"),
        ({"title": "t", "body": "x", "tags": ["queue:Ventes Paris"]}, "tags"),
        ({"title": "t", "body": "x", "tags": ["ivr:accueil/menu"]}, "tags"),
        ({"title": "t", "body": "x", "tags": ["queue:${EXTEN}"]}, "tags"),
        ({"title": "t", "body": "x", "comment": "c" * 501}, "comment"),
    ],
)
def test_bad_draft_names_the_field(body, field):
    with pytest.raises(InvalidInput) as caught:
        validate_draft(body)
    assert caught.value.details["field"] == field


def test_duplicate_tags_are_kept_once():
    assert parse_tags(["queue:a", "queue:a", {"kind": "queue", "value": "a"}]) == (Tag("queue", "a"),)


QUEUE_A, QUEUE_B = Tag("queue", "ventes"), Tag("queue", "support")


@pytest.mark.parametrize(
    ("role", "scope", "tags", "allowed"),
    [
        ("admin", set(), (), True),
        ("admin", set(), (QUEUE_B,), True),
        ("agent", {"ventes"}, (QUEUE_A,), False),
        ("supervisor", {"ventes"}, (QUEUE_A,), True),
        ("supervisor", {"ventes"}, (QUEUE_A, Tag("ivr", "accueil")), True),
        ("supervisor", {"ventes"}, (QUEUE_A, QUEUE_B), False),
        ("supervisor", {"ventes"}, (QUEUE_B,), False),
        ("supervisor", {"ventes"}, (Tag("disposition", "resolu"),), False),  # every queue's: admins'
        ("supervisor", None, (), True),  # no scope source
    ],
)
def test_who_may_edit(role, scope, tags, allowed):
    assert may_edit(role, scope, tags) is allowed


def test_call_tags_from_queue_and_ivr_path():
    tags = call_tags("support", {"ivr_script": "accueil", "menu_path": "menu:2,facturation:1"})
    assert [str(t) for t in tags] == ["queue:support", "ivr:accueil", "ivr:accueil/menu:2", "ivr:accueil/facturation:1"]


def test_call_tags_leave_out_malformed_values():
    assert call_tags("Bad Queue", {"ivr_script": "a/b", "menu_path": "x"}) == ()
    assert [str(t) for t in call_tags("q", {"ivr_script": "s", "menu_path": "x y:1,n:1"})] == [
        "queue:q",
        "ivr:s",
        "ivr:s/n:1",
    ]


def test_suggestions_rank_ivr_choices_first_then_recent():
    wanted = call_tags("support", {"ivr_script": "accueil", "menu_path": "menu:2"})
    queue_only = Hit(1, "file", "", (Tag("queue", "support"),))
    queue_new = Hit(2, "file récent", "", (Tag("queue", "support"),))
    choice = Hit(3, "choix", "", (Tag("ivr", "accueil/menu:2"),))
    other = Hit(4, "autre", "", (Tag("queue", "ventes"),))
    ranked = rank_suggestions(
        [(queue_only, NOW), (queue_new, NOW + timedelta(hours=1)), (choice, NOW - timedelta(days=9)), (other, NOW)],
        wanted,
        5,
    )
    assert [h.id for h in ranked] == [3, 2, 1]
    assert ranked[0].matched == ("ivr:accueil/menu:2",)


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "[clic](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "![x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "<a href='javascript:alert(1)'>x</a>",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    ],
)
def test_markdown_never_yields_script(markdown):
    elements = _elements(render_markdown(markdown))
    assert "script" not in {tag for tag, _ in elements}
    for _tag, attrs in elements:
        for name, value in attrs:
            assert not name.startswith("on")
            if name in ("href", "src"):
                assert (value or "").split(":")[0].lower() in ("http", "https", "mailto", "tel")


def _elements(html: str) -> list[tuple[str, list]]:
    """The (tag, attributes) of every element the browser would build from `html`."""
    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_markdown_keeps_formatting_and_safe_links():
    html = render_markdown("# Titre\n\n**gras** [site](https://exemple.fr)\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<h1>Titre</h1>" in html and "<strong>gras</strong>" in html and "<table>" in html
    assert 'href="https://exemple.fr"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_snippet_is_plain_text():
    assert snippet("# Titre\n\n**gras** [lien](https://x.fr)") == "Titre gras lien"


def test_diff_shows_title_tags_and_body_changes():
    old = Revision(1, 1, NOW, "sup1", "create", "", "Titre", "ligne 1\nligne 2", (QUEUE_A,))
    new = Revision(1, 2, NOW, "sup1", "edit", "", "Titre", "ligne 1\nligne 2 modifiée", (QUEUE_B, QUEUE_A))
    text = diff(old, new)
    assert "-ligne 2" in text and "+ligne 2 modifiée" in text
    assert "+tags: queue:support, queue:ventes" in text
    assert diff(None, old).startswith("--- (vide)")
