"""Acme: a host app with its own user columns, a plan-gated route and a hook."""
