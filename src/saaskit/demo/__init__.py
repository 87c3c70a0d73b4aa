"""The demo app that ``saaskit demo`` serves: the default models, every router, no host code.

Import :mod:`saaskit.demo.app` for the ASGI app (it reads the settings when imported).
"""
