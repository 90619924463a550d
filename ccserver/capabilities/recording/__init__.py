"""Recording: MixMonitor by queue/campaign policy, pause/resume from the desk, files indexed with
their metadata (optionally encrypted at rest), playback with HTTP ranges and an audit trail,
retention purge, GDPR erasure of a customer, and quality review (grids, scores, averages)."""
