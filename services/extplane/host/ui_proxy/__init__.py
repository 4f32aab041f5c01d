"""The `ui-proxy` host provider (`alga.extension.v1.UiProxyService`, docs/host.md):
`paths` checks a called route, `routing` selects the install's route and builds
the upstream URL, `upstream` sends it (HTTP through an `UpstreamDialer` of
`dialer`, or another install's handler through `handlers`), `answers` maps the
upstream's answer, `servicer` and `part` serve it on the host."""
