"""Users: the service, the user cache, schemas and the ``/users`` routes."""
