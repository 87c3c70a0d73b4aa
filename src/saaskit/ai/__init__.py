"""AI chat over OpenAI-compatible APIs with per-user metering and monthly quotas.

Nothing here imports ``openai`` at import time: the metering works without the
``saaskit[ai]`` extra (a host can meter its own provider's calls), and the gateway asks
for the extra only when it first talks to a provider.
"""
