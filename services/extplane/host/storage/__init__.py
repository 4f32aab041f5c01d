"""The Alga `storage` interface: namespaced key/value entries per tenant and
install, with revisions, kept in the host service's store (docs/host.md)."""
