"""From the database to the panels and back: signed schedules into the outbox, the outbox over
MQTT, panels' reports in, and the jobs APScheduler runs."""
