"""The runner: executes extensions' handlers (WebAssembly components of the
Alga world, or gRPC HandlerServices in any language) for their installs."""
