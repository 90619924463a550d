"""What a user reads of an error, in their language: a title per stable code, and the message.

The JSON of an API error is ``{"error": code, "code": code, "title": ..., "message": ...,
"details": {...}}``: ``code`` is stable (clients test it, never the text); ``title`` says in the
user's language what kind of error it is; ``message`` is the server's message translated by the
``errors`` catalog when it holds it (the common ones), else as the server wrote it, in English.
"""

from __future__ import annotations

from typing import Any

from ...core.text import Text
from . import i18n
from .i18n import N_

# the title of each stable code (French msgids, translated by the messages catalog)
TITLES = {
    "already-on-call": N_("Déjà en communication"),
    "article-changed": N_("L'article a été modifié entre-temps"),
    "audit-chain-broken": N_("Journal d'audit altéré"),
    "authentication-required": N_("Connexion requise"),
    "call-forbidden": N_("Appel interdit"),
    "call-not-in-state": N_("Action impossible dans l'état de l'appel"),
    "callback-closed": N_("Rappel déjà clos"),
    "campaign-blocked": N_("Campagne bloquée"),
    "configuration-error": N_("Erreur de configuration"),
    "conflict": N_("Conflit"),
    "csrf-rejected": N_("Jeton de sécurité refusé"),
    "database-unavailable": N_("Base de données indisponible"),
    "dialplan-busy": N_("Dialplan occupé"),
    "dialplan-refused": N_("Dialplan refusé"),
    "dialplan-unavailable": N_("Dialplan indisponible"),
    "erasure-incomplete": N_("Effacement incomplet"),
    "forbidden": N_("Accès refusé"),
    "import-cancelled": N_("Import annulé"),
    "import-conflict": N_("Import en conflit"),
    "import-needs-confirmation": N_("Import à confirmer"),
    "internal-error": N_("Erreur interne"),
    "invalid-input": N_("Saisie invalide"),
    "ivr-hand-over-failed": N_("Transfert du SVI impossible"),
    "last-admin": N_("Dernier administrateur"),
    "media-in-use": N_("Son utilisé"),
    "method-not-allowed": N_("Méthode non autorisée"),
    "migration-failed": N_("Migration échouée"),
    "no-agent-phone": N_("Agent sans téléphone"),
    "no-browser-phone": N_("Pas de téléphone dans le navigateur"),
    "no-media-directory": N_("Dossier des sons introuvable"),
    "no-phone-number": N_("Aucun numéro de téléphone"),
    "no-such-agent": N_("Agent introuvable"),
    "no-such-article": N_("Article introuvable"),
    "no-such-article-revision": N_("Version d'article introuvable"),
    "no-such-attempt": N_("Tentative introuvable"),
    "no-such-call": N_("Appel introuvable"),
    "no-such-callback": N_("Rappel introuvable"),
    "no-such-campaign": N_("Campagne introuvable"),
    "no-such-contact": N_("Contact introuvable"),
    "no-such-customer": N_("Client introuvable"),
    "no-such-dialplan-version": N_("Version de dialplan introuvable"),
    "no-such-evaluation": N_("Évaluation introuvable"),
    "no-such-grid": N_("Grille introuvable"),
    "no-such-import": N_("Import introuvable"),
    "no-such-ivr-script": N_("Script SVI introuvable"),
    "no-such-ivr-version": N_("Version de SVI introuvable"),
    "no-such-music-class": N_("Musique d'attente introuvable"),
    "no-such-pause-code": N_("Code de pause introuvable"),
    "no-such-phone": N_("Téléphone introuvable"),
    "no-such-prompt": N_("Message vocal introuvable"),
    "no-such-provisioning": N_("Provisionnement introuvable"),
    "no-such-queue": N_("File introuvable"),
    "no-such-recording": N_("Enregistrement introuvable"),
    "no-such-skill": N_("Compétence introuvable"),
    "no-such-team": N_("Équipe introuvable"),
    "no-such-ticket": N_("Ticket introuvable"),
    "no-such-transfer-target": N_("Destinataire du transfert introuvable"),
    "no-such-user": N_("Utilisateur introuvable"),
    "no-such-wrapup-code": N_("Code de qualification introuvable"),
    "not-found": N_("Introuvable"),
    "payload-too-large": N_("Requête trop volumineuse"),
    "pbx-command-failed": N_("Commande refusée par le téléphone"),
    "pbx-timeout": N_("Le téléphone ne répond pas"),
    "pbx-unavailable": N_("Téléphonie indisponible"),
    "queue-setting-refused": N_("Réglage de file refusé"),
    "range-not-satisfiable": N_("Plage demandée invalide"),
    "recording-file-missing": N_("Fichier d'enregistrement manquant"),
    "server-busy": N_("Serveur occupé"),
    "skill-in-use": N_("Compétence utilisée"),
    "unknown-number": N_("Numéro inconnu"),
}
# a code without its own title gets its HTTP status class's
STATUS_TITLES = {
    400: N_("Saisie invalide"),
    401: N_("Connexion requise"),
    403: N_("Accès refusé"),
    404: N_("Introuvable"),
    409: N_("Conflit"),
}


def title(code: str, status: int, language: str) -> str:
    msgid = (
        TITLES.get(code) or STATUS_TITLES.get(status) or (TITLES["internal-error"] if status >= 500 else N_("Erreur"))
    )
    return i18n.translate(msgid, language)


def message(text: str, language: str) -> str:
    """The server's message in `language`: a `Text` (id + values) through the texts catalog;
    a plain message through the errors catalog when it has it, else as written."""
    if isinstance(text, Text):
        return i18n.render(text, language)
    return i18n.translate(text, language, domain="errors")


def as_dict(error, language: str) -> dict[str, Any]:
    return {
        "error": error.error_id,
        "code": error.error_id,
        "title": title(error.error_id, error.status, language),
        "message": message(error.message, language),
        "details": error.details,
    }
