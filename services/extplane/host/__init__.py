"""The `host` service: the Alga host providers' ground, starting with the install registry."""
