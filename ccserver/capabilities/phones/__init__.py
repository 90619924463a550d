"""Phones: a SIP account for any user (agents, supervisors who listen, admins), its password
shown once with what a softphone needs, regenerated on demand, applied to Asterisk live."""
