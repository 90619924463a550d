"""Outbound campaigns under French law.

Pure rules:
- numbers.py: normalize French numbers (one or a million), kinds, NPV caller-ID ranges
- windows.py: consumer's area, time zone, holidays, calling windows (scalar and vectorized)
- compliance.py: `decide(...)`, every rule reported with its legal source
- pacing.py: predictive pacing under an abandon-rate cap
- dialer.py: outcomes, retries, blockers, the attempt tracker; dialplan.py, views.py
- imports.py: contact, consent and number files
- opposition.py: memory-mapped opposition bitmaps (file I/O)

Use cases (service.py assembles them; plugin.py wires them): campaigns.py, oppositions.py,
decisions.py, dialing.py, outcomes.py, preview.py; access.py (permissions, audit), ports.py,
errors.py. The CLI (`ccserver compliance ...`) is ccserver/commands/outbound.py.
"""
