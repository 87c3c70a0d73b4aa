"""The audit log: who did what to which account, from where (table, service, admin route)."""
