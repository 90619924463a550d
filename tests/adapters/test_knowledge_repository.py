"""The knowledge base's store on SQLite (FTS5) and PostgreSQL (tsvector): the same articles found
for the same query, revisions kept, a stale edit refused with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from ccserver.adapters.db.knowledge import KnowledgeRepository
from ccserver.capabilities.knowledge.errors import ArticleChanged, NoSuchArticle, NoSuchRevision
from ccserver.capabilities.knowledge.model import Tag, fts5_match, query_terms, tsquery, validate_draft

ARTICLES = [
    ("Contester une facture", "Le client conteste sa facture : vérifier le relevé du compteur.", "queue:support"),
    ("Facturation en ligne", "La facturation électronique est envoyée chaque mois.", "queue:ventes"),
    ("Client facturé deux fois", "Un prélèvement facturé en double est remboursé sous 5 jours.", "queue:support"),
    ("Panne d'électricité", "En cas de coupure d'électricité, vérifier le disjoncteur.", "ivr:accueil/menu:2"),
    ("Déménagement", "Résilier l'ancien contrat et ouvrir le nouveau.", "disposition:resolu"),
]


def _draft(title, body, tags, comment=""):
    return validate_draft({"title": title, "body": body, "tags": [tags] if tags else [], "comment": comment})


@pytest.fixture
def repo(database):
    repository = KnowledgeRepository(database)
    repository.add_many([_draft(*a) for a in ARTICLES], "admin1")
    return repository


def search(repo, query, tag=None):
    stems = query_terms(query)
    return [h.title for h in repo.search(fts5_match(stems), tsquery(stems), tag)]


def test_inflected_forms_are_found_by_any_of_them(repo):
    found = set(search(repo, "facturation"))
    assert found == {"Contester une facture", "Facturation en ligne", "Client facturé deux fois"}
    assert set(search(repo, "factures")) == found


def test_accents_do_not_matter(repo):
    assert search(repo, "electricite") == ["Panne d'électricité"]
    assert search(repo, "ÉLECTRICITÉ") == ["Panne d'électricité"]


def test_all_words_must_match_and_the_last_may_be_a_prefix(repo):
    assert search(repo, "facture compteur") == ["Contester une facture"]
    assert search(repo, "remboursé prélèv") == ["Client facturé deux fois"]
    assert search(repo, "facture licorne") == []


def test_title_match_ranks_first(repo):
    assert search(repo, "déménagement")[0] == "Déménagement"
    assert search(repo, "contester")[0] == "Contester une facture"


def test_search_within_a_tag(repo):
    assert set(search(repo, "facture", Tag("queue", "support"))) == {
        "Contester une facture",
        "Client facturé deux fois",
    }


def test_tags_are_searchable_words(repo):
    assert search(repo, "accueil") == ["Panne d'électricité"]


def test_edit_keeps_every_revision_and_reindexes(repo):
    article = repo.search(*(lambda s: (fts5_match(s), tsquery(s)))(query_terms("déménagement")))[0]
    updated = repo.update(
        article.id, _draft("Déménagement", "Transférer le contrat.", "queue:ventes", "plus court"), "sup1", 1
    )
    assert updated.revision == 2 and updated.updated_by == "sup1" and updated.tags == (Tag("queue", "ventes"),)
    assert search(repo, "transférer") == ["Déménagement"]
    assert search(repo, "résilier") == []
    revisions = repo.revisions(article.id)
    assert [(r.number, r.author, r.action, r.comment) for r in revisions] == [
        (2, "sup1", "edit", "plus court"),
        (1, "admin1", "create", ""),
    ]
    assert repo.revision(article.id, 1).body == "Résilier l'ancien contrat et ouvrir le nouveau."
    assert [h.title for h in repo.articles(Tag("queue", "ventes"))] == ["Déménagement", "Facturation en ligne"]


def test_stale_edit_is_refused_and_writes_nothing(repo):
    first = repo.articles()[0]
    repo.update(first.id, _draft("Nouveau titre", "Texte", ""), "sup1", 1)
    with pytest.raises(ArticleChanged):
        repo.update(first.id, _draft("Autre titre", "Autre", ""), "sup2", 1)
    assert repo.article(first.id).title == "Nouveau titre"
    assert len(repo.revisions(first.id)) == 2
    assert search(repo, "autre") == []


def test_missing_article_and_revision(repo):
    with pytest.raises(NoSuchArticle):
        repo.article(999_999)
    with pytest.raises(NoSuchArticle):
        repo.update(999_999, _draft("t", "b", ""), "x", None)
    with pytest.raises(NoSuchRevision):
        repo.revision(repo.articles()[0].id, 9)


def test_tagged_returns_articles_with_any_tag(repo):
    found = repo.tagged((Tag("queue", "support"), Tag("ivr", "accueil/menu:2"), Tag("queue", "absente")))
    assert {h.title for h, _ in found} == {"Contester une facture", "Client facturé deux fois", "Panne d'électricité"}
    assert all(isinstance(at, datetime) and at.tzinfo == UTC for _, at in found)


def test_count(repo):
    assert repo.count() == len(ARTICLES)


def test_a_result_carries_its_snippet_and_every_tag(repo):
    draft = validate_draft(
        {
            "title": "Relevé de compteur",
            "body": "## Relevé\n\nDemander le **relevé** [en ligne](https://example.org).",
            "tags": ["queue:support", "ivr:accueil/menu:3", "disposition:resolu"],
        }
    )
    repo.add(draft, "admin1")
    stems = query_terms("relevé compteur")
    hit = repo.search(fts5_match(stems), tsquery(stems))[0]
    assert hit.title == "Relevé de compteur"
    assert hit.snippet == "Relevé Demander le relevé en ligne."
    assert hit.tags == (Tag("disposition", "resolu"), Tag("ivr", "accueil/menu:3"), Tag("queue", "support"))
    assert hit == repo.articles()[0]


def test_postgresql_searches_never_scan_a_pending_list(repo, database):
    """0026: the GIN index is written through (no pending list that each search scans)."""
    if database.dialect != "postgresql":
        return  # FTS5 has no such list
    with database.engine.connect() as conn:
        options = conn.execute(
            text("SELECT reloptions FROM pg_class WHERE oid = 'ix_knowledge_fts_search_vector'::regclass")
        ).scalar_one()
    assert options == ["fastupdate=off"]
