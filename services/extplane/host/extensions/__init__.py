"""The extension registry: the versions of each extension the runner can run
(WebAssembly components by content hash, or gRPC handler addresses), beside
the install registry on the host service."""
