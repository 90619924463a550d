"""IVR (SVI): declarative scripts in ``ivr_scripts/``, their validator and a pure runtime.

- `loader`: YAML -> `IvrScript` with lines, `validate_script` (every error with file, line,
  node), `check_files`, `load_script`.
- `model`: the script dataclasses, the runtime `IvrCall` (inputs -> actions for the ARI
  adapter), the call data for CTI (`IvrCallData`) and the statistics (`IvrStats`).
- `registry`: `IvrRegistry`, the active versions and the DID / extension routes.
- `service`: `IvrService` (scripts, dialplan routes, statistics); `handlers`: `IvrEngine`, the
  calls on ARI (typed Stasis events from the intake, commands through `StasisCommands`);
  `plugin`: `setup`, the wiring. The CLI (``ccserver ivr check``) is `ccserver.commands.ivr`.
"""

from .errors import NoSuchIvrScript
from .loader import (
    ValidationContext,
    check_files,
    load_script,
    parse_script,
    prompt_checker,
    read_script,
    validate_script,
)
from .model import (
    AdapterError,
    CallerHungUp,
    CallInfo,
    CancelTimer,
    ContinueInDialplan,
    DialplanTarget,
    Dtmf,
    Hangup,
    IvrCall,
    IvrCallData,
    IvrScript,
    IvrStats,
    Lookup,
    LookupDone,
    Play,
    PlaybackFinished,
    RequestCallback,
    SendToQueue,
    SendToVoicemail,
    Started,
    StartTimer,
    StopPlayback,
    TimerExpired,
    Transfer,
    ValidationIssue,
)
from .registry import IvrRegistry

__all__ = [
    "AdapterError",
    "CallerHungUp",
    "CallInfo",
    "CancelTimer",
    "ContinueInDialplan",
    "DialplanTarget",
    "Dtmf",
    "Hangup",
    "IvrCall",
    "IvrCallData",
    "IvrRegistry",
    "IvrScript",
    "IvrStats",
    "Lookup",
    "LookupDone",
    "NoSuchIvrScript",
    "Play",
    "PlaybackFinished",
    "RequestCallback",
    "SendToQueue",
    "SendToVoicemail",
    "Started",
    "StartTimer",
    "StopPlayback",
    "TimerExpired",
    "Transfer",
    "ValidationContext",
    "ValidationIssue",
    "check_files",
    "load_script",
    "parse_script",
    "prompt_checker",
    "read_script",
    "validate_script",
]
