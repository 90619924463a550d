"""The knowledge base's store on SQLite (FTS5) and PostgreSQL (tsvector): the same articles found
for the same query, revisions kept, a stale edit refused with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from ccserver.adapters.db.knowledge import KnowledgeRepository
from ccserver.capabilities.knowledge.errors import ArticleChanged, NoSuchArticle, NoSuchRevision
from ccserver.capabilities.knowledge.model import (
    Tag,
    fts5_match,
    query_terms,
    search_text,
    title_text,
    tsquery,
    validate_draft,
)

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


def test_an_article_whose_title_has_every_word_comes_before_those_that_only_mention_them(database):
    repo = KnowledgeRepository(database)
    repo.add_many(
        [
            _draft("Compteur communicant", "Le relevé de la facture. " * 30 + "Facture, factures, facturation.", ""),
            _draft("Facture", "Où la trouver.", ""),
            _draft("Relevé de compteur", "Comparer avec la dernière facture.", ""),
        ],
        "admin1",
    )
    assert search(repo, "facture") == ["Facture", "Compteur communicant", "Relevé de compteur"]
    # neither title has both words: both found in their text (their order is bm25's or ts_rank's)
    assert set(search(repo, "compteur facture")) == {"Compteur communicant", "Relevé de compteur"}
    assert search(repo, "relevé compteur") == ["Relevé de compteur", "Compteur communicant"]


def test_when_titles_do_not_fill_the_page_the_text_matches_follow(database):
    repo = KnowledgeRepository(database)
    repo.add_many(
        [_draft(f"Remboursement {i}", "Virement sous cinq jours.", "") for i in range(3)]
        + [_draft(f"Procédure {i}", "Le remboursement passe par un virement.", "") for i in range(3)],
        "admin1",
    )
    stems = query_terms("rembours")
    titles = [h.title for h in repo.search(fts5_match(stems), tsquery(stems), limit=5)]
    assert sorted(titles[:3]) == ["Remboursement 0", "Remboursement 1", "Remboursement 2"]
    assert len(titles) == 5 and all(t.startswith("Procédure") for t in titles[3:])


def test_articles_written_before_0027_get_their_title_words_indexed(empty_database):
    """0027 fills the title index from search_text (which starts with the title's words twice)."""
    db = empty_database
    db.upgrade(target=26)
    drafts = [_draft(*a) for a in ARTICLES] + [_draft("Le la les", "Titre sans mot à chercher.", "")]
    fts = {
        "sqlite": "INSERT INTO knowledge_fts (rowid, search_text) VALUES (:id, :words)",
        "postgresql": "INSERT INTO knowledge_fts (article_id, search_vector) VALUES (:id, to_tsvector('simple', :words))",
    }[db.dialect]
    now = datetime(2026, 1, 1)
    with db.engine.begin() as conn:
        for i, d in enumerate(drafts, 1):
            words = search_text(d.title, d.body, d.tags)
            conn.execute(
                text(
                    "INSERT INTO knowledge_articles (id, title, body, search_text, revision, created_at, created_by,"
                    " updated_at, updated_by) VALUES (:id, :title, :body, :words, 1, :now, 'a', :now, 'a')"
                ),
                {"id": i, "title": d.title, "body": d.body, "words": words, "now": now},
            )
            conn.execute(text(fts), {"id": i, "words": words})
    db.upgrade()
    column = {"sqlite": "rowid, title_text", "postgresql": "article_id, title_vector"}[db.dialect]
    with db.engine.connect() as conn:
        indexed = dict(conn.execute(text(f"SELECT {column} FROM knowledge_fts_title")).all())
    if db.dialect == "postgresql":
        expected = {i: " ".join(sorted(set(title_text(d.title).split()))) for i, d in enumerate(drafts, 1)}
        indexed = {i: " ".join(sorted(w.split(":")[0].strip("'") for w in v.split())) for i, v in indexed.items()}
        expected = {i: v for i, v in expected.items() if v}
        indexed = {i: v for i, v in indexed.items() if v}
    else:
        expected = {i: title_text(d.title) for i, d in enumerate(drafts, 1) if title_text(d.title)}
    assert indexed == expected
    repo = KnowledgeRepository(db)
    assert search(repo, "déménagement")[0] == "Déménagement"
    assert search(repo, "contester")[0] == "Contester une facture"


def test_a_search_answers_after_the_server_dropped_its_connection(repo, database):
    """PostgreSQL searches run alone on autocommit connections that are not pinged before use
    (one round trip): one found dropped is replaced and the search sent again."""
    assert search(repo, "déménagement") == ["Déménagement"]
    if database.dialect != "postgresql":
        return  # SQLite runs in-process
    with database._read_engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})").scalar_one()
    assert search(repo, "déménagement") == ["Déménagement"]


def test_a_result_shows_the_snippet_of_the_current_revision(repo):
    """Snippets are kept per article between searches: an edit shows at the next search."""
    before = repo.search(*(lambda s: (fts5_match(s), tsquery(s)))(query_terms("déménagement")))[0]
    assert before.snippet == "Résilier l'ancien contrat et ouvrir le nouveau."
    repo.update(before.id, _draft("Déménagement", "## Étapes\n\nTransférer **le** contrat.", ""), "sup1", 1)
    after = repo.search(*(lambda s: (fts5_match(s), tsquery(s)))(query_terms("déménagement")))[0]
    assert after.snippet == "Étapes Transférer le contrat."
    assert repo.articles()[0].snippet == "Étapes Transférer le contrat."
