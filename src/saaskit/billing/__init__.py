"""Billing with Stripe: plans, customers, checkout, portal, webhooks and gating."""
