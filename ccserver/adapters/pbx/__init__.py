"""The links to Asterisk: AMI and ARI, the translation of their messages into typed events, resync."""
