"""Witnesses: copies of every new checkpoint kept outside the service's reach.

A server that rewrites its log and re-signs it — even with its own, stolen
key — cannot rewrite what a witness already holds. Each checkpoint the
service stores is handed to every configured witness, never blocking the
log (publish.py): an append-only file or directory, or a remote `AuditSink`
(another extplane audit service, in another trust domain, that records the
checkpoint as an audit event of its own chain). `extplane audit verify
--witness …` then checks the service's checkpoints against the witnessed
ones (agreement.py).
"""
