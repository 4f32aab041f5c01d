"""The metering service: durable, idempotent usage events with summaries and cost
(docs/metering.md)."""
