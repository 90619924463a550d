"""The agent desk as one piece: the whole state a desk shows, read again by a page that missed
live messages (hidden or frozen tab, dropped WebSocket, server restart)."""
