"""User administration: disabling accounts, resetting passwords, revoking sessions."""
