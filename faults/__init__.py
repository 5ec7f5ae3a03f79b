"""The fault suite (`make faults`, not part of `make test`): the app under gunicorn with PostgreSQL
and a Stripe stand-in behind proxies that refuse, black-hole or slow them, and scenarios judging what
users get. faults/proxy.py and faults/world.py are the reusable parts; faults/scenarios.py the cases."""
