"""The tenant catalogs: the `clients` and `services` host providers (read-only,
scoped to the install token's tenant) and the admin service that loads them."""
