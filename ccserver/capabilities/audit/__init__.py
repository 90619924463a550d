"""The audit log: who did what to what, from where, as a tamper-evident chain (model.py); the
admins' viewer with filters, CSV export and the chain's status (web.py); the CLI is
ccserver/commands/audit.py and the repository ccserver/adapters/db/audit.py."""
