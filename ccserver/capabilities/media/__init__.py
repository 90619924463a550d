"""Media: the caller's language per queue, prompts uploaded by admins (converted to what Asterisk
plays), music on hold classes, and the queues' closed days."""
