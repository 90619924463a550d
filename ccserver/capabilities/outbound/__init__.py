"""Outbound campaigns: the pure compliance core under French law.

- numbers.py: normalize French numbers (one or a million), kinds, NPV caller-ID ranges
- windows.py: consumer's area, time zone, holidays, calling windows (scalar and vectorized)
- compliance.py: `decide(...)`, every rule reported with its legal source
- pacing.py: predictive pacing under an abandon-rate cap
- opposition.py: memory-mapped opposition bitmaps (adapter: file I/O)
- commands.py: `ccserver compliance check|build-list`
"""
