"""The HTTP/JSON gateway: routes from `google.api.http` annotations to gRPC."""
