"""A sample feature package: notes a user keeps.

It adds a table, an error code with its status, an audit action, a hook event, a
settings section, a router and a migration, and edits no file of the kit: the kit
composes it from :class:`tests.features.sample.wiring.SampleFeature`.
"""
