"""The Alga `secrets` interface and its admin side: install-scoped secrets,
encrypted at rest with a rotatable AEAD key ring (docs/host.md, "Secrets")."""
