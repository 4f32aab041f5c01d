"""The audit service: a tamper-evident, queryable, exportable audit log (docs/audit.md)."""
