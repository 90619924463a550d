"""Pure state and rules of outbound campaigns (the design's fixed file name).

The rules live in numbers.py, windows.py, compliance.py and pacing.py; this module gathers
their public names so `from ccserver.capabilities.outbound.model import decide` works.
"""
from .compliance import (CONSENT_REGIME_START, Attempt, Basis, CallRequest, Decision,
                         OppositionFacts, Regime, RuleOutcome, Status, decide, parse_history,
                         parse_instant, regime_on)
from .numbers import (NPV_PREFIXES, FrenchNumber, NumberKind, check_caller_id, normalize_many,
                      parse_lines, parse_number, try_parse_number)
from .pacing import PacingDecision, PacingInput, PacingStats, calls_to_launch, plan
from .windows import (AREAS, Area, area_codes_for, area_for_number, area_for_postcode,
                      check_area, holidays_of, is_open, next_opening, open_mask, open_table,
                      resolve_area)

__all__ = [
    "AREAS", "Area", "Attempt", "Basis", "CONSENT_REGIME_START", "CallRequest", "Decision",
    "FrenchNumber", "NPV_PREFIXES", "NumberKind", "OppositionFacts", "PacingDecision",
    "PacingInput", "PacingStats", "Regime", "RuleOutcome", "Status", "area_codes_for",
    "area_for_number", "area_for_postcode", "calls_to_launch", "check_area", "check_caller_id",
    "decide", "holidays_of", "is_open", "next_opening", "normalize_many", "open_mask",
    "open_table", "parse_history", "parse_instant", "parse_lines", "parse_number", "plan",
    "regime_on", "resolve_area", "try_parse_number",
]
