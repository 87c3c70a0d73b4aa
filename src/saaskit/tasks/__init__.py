"""Background tasks: typed definitions, the in-process runner and the Celery runner."""
