"""The install registry: which extension is installed for which tenant, with what grants."""
