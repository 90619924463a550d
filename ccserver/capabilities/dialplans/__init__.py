"""Dialplan editing for telecom admins: versions of the files of dialplans/, checked on a scratch
Asterisk and linted before they reach the live one, applied with a health probe, rolled back."""
