"""Knowledge-base search: p50/p99 of a search on 10,000 generated French articles, on SQLite
(FTS5) and on PostgreSQL (tsvector + GIN), through the service and repository the server uses.

Each timed search is what the server does for `GET /api/knowledge?q=...`: the web handler's
call `KnowledgeService.search(q)` awaited on an event loop (the query's words folded and stemmed,
then the repository in a worker thread: one statement that finds the articles whose title has
every word, ranks them, and ranks the other matches only when those do not fill the page; the
20 best come back with their titles, bodies (for the snippets) and tags). The queries mix one
to three words, inflected forms, words without accents and an unfinished last word (as typed in
the search box); a share of them match thousands of articles. Goal: p99 under 20 ms. Prints
the number of articles and searches, p50/p95/p99 and the load average (the figures depend on
what else the machine runs). PostgreSQL: $CCSERVER_TEST_POSTGRES_URL or 127.0.0.1:5432/test (a
private schema, dropped at the end), ANALYZEd after the load as autovacuum does on a server.
Usage: python bench/knowledge_search.py [--articles 10000] [--queries 2000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import percentile  # noqa: E402
from ccserver.adapters.db.database import Database  # noqa: E402
from ccserver.adapters.db.knowledge import KnowledgeRepository  # noqa: E402
from ccserver.capabilities.knowledge.model import ArticleDraft, Tag  # noqa: E402
from ccserver.capabilities.knowledge.service import KnowledgeService  # noqa: E402


class _NoAudit:
    def record(self, actor: str, action: str, target: str = "", **details: object) -> None:
        return None


# a call center's French: subjects, actions, objects, details (inflected forms on purpose)
SUBJECTS = [
    "client",
    "cliente",
    "abonné",
    "abonnée",
    "titulaire",
    "conseiller",
    "conseillère",
    "technicien",
    "livreur",
    "banque",
]
VERBS = [
    "conteste",
    "contesté",
    "vérifier",
    "vérifie",
    "résilier",
    "résilie",
    "rembourser",
    "remboursé",
    "facturer",
    "facturé",
    "activer",
    "réactiver",
    "suspendre",
    "suspendu",
    "transférer",
    "transféré",
    "modifier",
    "modifié",
    "envoyer",
    "envoyé",
    "annuler",
    "annulé",
    "signaler",
    "signalé",
    "payer",
    "payé",
    "prélever",
    "prélevé",
    "installer",
    "installé",
    "débloquer",
    "débloqué",
]
OBJECTS = [
    "facture",
    "factures",
    "facturation",
    "prélèvement",
    "prélèvements",
    "compteur",
    "compteurs",
    "relevé",
    "relevés",
    "contrat",
    "contrats",
    "abonnement",
    "abonnements",
    "échéancier",
    "mensualité",
    "mensualités",
    "électricité",
    "gaz",
    "box",
    "décodeur",
    "carte",
    "cartes",
    "code",
    "codes",
    "identifiant",
    "mot-de-passe",
    "adresse",
    "déménagement",
    "résiliation",
    "remboursement",
    "coupure",
    "panne",
    "pannes",
    "ligne",
    "lignes",
    "forfait",
    "forfaits",
    "option",
    "options",
    "colis",
    "livraison",
    "retour",
    "retours",
    "garantie",
    "réparation",
    "rendez-vous",
    "intervention",
    "virement",
    "chèque",
    "IBAN",
    "RIB",
    "espace-client",
    "application",
]
DETAILS = [
    "sous cinq jours ouvrés",
    "après vérification du dossier",
    "avec le numéro de contrat",
    "depuis l'espace client",
    "par courrier recommandé",
    "sans frais supplémentaires",
    "en cas de litige",
    "avant la date d'échéance",
    "selon les conditions générales",
    "pour les clients professionnels",
    "en heures creuses",
    "à la prochaine facture",
    "dès réception du paiement",
    "si le compteur est communicant",
]
QUEUES = ["support", "ventes", "facturation", "technique", "resiliation"]


def sentence(rng: random.Random) -> str:
    return f"Le {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(DETAILS)}."


def article(rng: random.Random, i: int) -> ArticleDraft:
    title = f"{rng.choice(VERBS).capitalize()} {rng.choice(OBJECTS)} {rng.choice(OBJECTS)} ({i})"
    paragraphs = ["\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(2, 5))) for _ in range(rng.randint(2, 4))]
    body = "\n\n".join(f"## {rng.choice(OBJECTS).capitalize()}\n\n{p}" for p in paragraphs)
    tags = (Tag("queue", rng.choice(QUEUES)), Tag("ivr", f"accueil/menu:{rng.randint(1, 9)}"))
    return ArticleDraft(title=title, body=body, tags=tags)


def queries(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        words = [rng.choice(OBJECTS + VERBS) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        kind = rng.random()
        if kind < 0.3:  # typed without accents
            words = [w.translate(str.maketrans("éèêàç", "eeeac")) for w in words]
        elif kind < 0.5:  # the last word not finished yet
            words[-1] = words[-1][: max(3, len(words[-1]) - 3)]
        out.append(" ".join(words))
    return out


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def timed(service: KnowledgeService, asked: list[str]) -> tuple[list[float], int]:
    for q in asked[:50]:  # warm the caches as a running server would be
        await service.search(q)
    times, found = [], 0
    for q in asked:
        t0 = time.perf_counter()
        hits = await service.search(q)
        times.append((time.perf_counter() - t0) * 1000)
        found += bool(hits)
    return times, found


def run(name: str, url: str, articles: int, count: int) -> None:
    db = Database(url)
    db.upgrade()
    repo = KnowledgeRepository(db)
    rng = random.Random(14)
    started = time.perf_counter()
    for first in range(0, articles, 500):
        repo.add_many([article(rng, i) for i in range(first, min(articles, first + 500))], "bench")
    loaded = time.perf_counter() - started
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    print(f"{name}: {repo.count()} articles loaded in {loaded:.1f} s")
    service = KnowledgeService(repo, _NoAudit())
    asked = queries(random.Random(5), count)
    before = loadavg()
    times, found = asyncio.run(timed(service, asked))
    print(
        f"{name}: {repo.count()} articles, {count} searches, {found} with results: p50 {percentile(times, 0.5):.2f} ms, "
        f"p95 {percentile(times, 0.95):.2f} ms, p99 {percentile(times, 0.99):.2f} ms, max {max(times):.2f} ms "
        f"(load average {before} before, {loadavg()} after)"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", f"sqlite:///{tmp}/kb.db", args.articles, args.queries)
    if args.only != "sqlite":
        from tests.support.db import postgres_schema_url

        with postgres_schema_url() as url:
            run("postgresql", url, args.articles, args.queries)


if __name__ == "__main__":
    main()
