"""The private Asterisk instance: build its root, render its configuration, start and stop it."""
