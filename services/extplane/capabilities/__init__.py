"""The capability service: `orloj.extensions.v1.CapabilityProvider`."""
