"""The active IVR scripts, their versions and the routes (DID / extension -> script).

`IvrRegistry.activate(script)` validates the script and refuses it (InvalidInput, every error in
the details) when it has any error: the previous version stays active. Activating a new version
never touches calls in progress: an `IvrCall` keeps the `IvrScript` object it started with.
Pure state (no file or network access except in `activate_file`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from ccserver.core.clock import Clock
from ccserver.core.text import Text

from .errors import NoSuchIvrScript
from .loader import (
    ValidationContext,
    invalid_script_error,
    normalize_did,
    parse_script,
    read_script,
    validate_script,
)
from .model import (
    DEFAULT_FALLBACK,
    CallInfo,
    DialplanTarget,
    IvrCall,
    IvrScript,
    IvrStats,
    ValidationIssue,
)

logger = logging.getLogger(__name__)


class IvrRegistry:
    def __init__(
        self,
        context: ValidationContext | None = None,
        *,
        stats: IvrStats | None = None,
        default_fallback: DialplanTarget = DEFAULT_FALLBACK,
    ) -> None:
        self.context = context or ValidationContext()
        self.stats = stats if stats is not None else IvrStats()
        self.default_fallback = default_fallback
        self._active: dict[str, IvrScript] = {}
        self._history: dict[str, list[IvrScript]] = {}
        self._dids: dict[str, str] = {}
        self._extensions: dict[str, str] = {}

    # -- activation ---------------------------------------------------------------------------

    def activate(self, script: IvrScript, context: ValidationContext | None = None) -> IvrScript:
        """Make `script` the active version of its name. Raises InvalidInput when it has any
        error (the active version, if any, stays)."""
        issues = validate_script(script, context or self.context)
        issues += self._route_conflicts(script)
        if issues:
            previous = self._active.get(script.name)
            logger.warning(
                "ivr script %s refused (%d errors); %s",
                script.name or script.file,
                len(issues),
                f"{previous.label} stays active" if previous else "nothing active under that name",
            )
            raise invalid_script_error(script, issues)
        current = self._active.get(script.name)
        if (
            current is not None
            and current.digest
            and (current.digest, current.revision) == (script.digest, script.revision)
        ):
            return current
        self._active[script.name] = script
        self._history.setdefault(script.name, []).append(script)
        self._rebuild_routes()
        logger.info("ivr script %s activated (%s)", script.label, script.file)
        return script

    def activate_text(self, text: str, file: str = "<string>") -> IvrScript:
        return self.activate(parse_script(text, file))

    def activate_file(self, path: str | Path) -> IvrScript:
        return self.activate(read_script(path))

    def deactivate(self, name: str) -> None:
        if name not in self._active:
            raise NoSuchIvrScript(Text("no active IVR script %(name)r", name=name), script=name)
        del self._active[name]
        self._rebuild_routes()

    def _route_conflicts(self, script: IvrScript) -> list[ValidationIssue]:
        issues = []
        for kind, values, table in (
            ("dids", script.dids, self._dids),
            ("extensions", script.extensions, self._extensions),
        ):
            for value in values:
                key = normalize_did(value) if kind == "dids" else value
                owner = table.get(key)
                if owner is not None and owner != script.name:
                    issues.append(
                        ValidationIssue(
                            script.file,
                            script.line_of(f"{kind}.{value}"),
                            None,
                            f"routes: {value!r} already maps to the active script {owner!r}",
                        )
                    )
        return issues

    def _rebuild_routes(self) -> None:
        self._dids = {normalize_did(did): s.name for s in self._active.values() for did in s.dids}
        self._extensions = {e: s.name for s in self._active.values() for e in s.extensions}

    # -- queries ------------------------------------------------------------------------------

    def active(self, name: str) -> IvrScript:
        try:
            return self._active[name]
        except KeyError:
            raise NoSuchIvrScript(Text("no active IVR script %(name)r", name=name), script=name) from None

    def names(self) -> list[str]:
        return sorted(self._active)

    def history(self, name: str) -> list[IvrScript]:
        """Every version activated under `name`, oldest first."""
        return list(self._history.get(name, ()))

    def resolve(self, *, did: str | None = None, exten: str | None = None, name: str | None = None) -> IvrScript | None:
        """The active script for a script name, a number called (DID) or an extension."""
        if name:
            return self._active.get(name)
        if did:
            script_name = self._dids.get(normalize_did(did))
            if script_name:
                return self._active[script_name]
        if exten:
            script_name = self._extensions.get(exten)
            if script_name:
                return self._active[script_name]
        return None

    def start_call(self, info: CallInfo, clock: Clock, *, name: str | None = None) -> IvrCall:
        """A new `IvrCall` on the active version for the script `name`, or else the one the
        call's DID, or its extension, maps to. Raises NoSuchIvrScript when none does."""
        script = (
            self.resolve(name=name)
            if name
            else self.resolve(did=info.did or None) or self.resolve(exten=info.exten or None)
        )
        if script is None:
            raise NoSuchIvrScript(
                "no IVR script for this call", script=name, did=info.did, exten=info.exten, uniqueid=info.uniqueid
            )
        return IvrCall(script, info, clock, stats=self.stats, default_fallback=self.default_fallback)
