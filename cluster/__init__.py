"""`make cluster`: Omnishop as several machines would run it (two gunicorn nodes, two scheduler
candidates, nginx, one PostgreSQL, Redis) on 127.0.0.1, checked and optionally soaked (docs/scaling.md)."""
