"""Organizations: members with roles, invitations by email, billing per organization.

A feature package (:class:`saaskit.orgs.wiring.OrgsFeature`), on by default; a host
switches it off with ``SAASKIT_ORGS__ENABLED=false``. Its tables come with saaskit's
packaged migration ``0007_organizations``. See ``docs/orgs.md``.
"""
