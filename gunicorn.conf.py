"""gunicorn reads this file from the working directory: `make run`, `make fuzz`, `make bench` and a plain
`gunicorn wsgi:app` from the repository root.

A request line may be 8190 bytes (gunicorn's largest bounded value; its default is 4094): a list's
cursor or a stock query for 100 SKUs, percent-encoded, can pass 4094, and gunicorn's own 414 page is
HTML the API never documents. Longer lines still get that page.
"""

limit_request_line = 8190
