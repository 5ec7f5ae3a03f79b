"""Walk a list the way a client does: the first page, then each `Link: <...>; rel="next"` to the end."""

from __future__ import annotations

import re
from collections.abc import Callable

LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def walk(client, url: str, headers: dict | None = None, between: Callable[[int], None] = lambda n: None,
         limit: int | None = None) -> list[list]:
    """The pages of a list (each a list of items), following the Link header; `between(n)` runs
    after page n, so a test can change the list mid-walk. Array lists and {items, next_cursor}
    lists alike; the two next-page signals must agree."""
    pages: list[list] = []
    while url is not None:
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        body = resp.get_json()
        items = body["items"] if isinstance(body, dict) else body
        link = LINK_NEXT.search(resp.headers.get("Link", ""))
        cursor = resp.headers.get("X-Next-Cursor")
        assert (link is None) == (cursor is None), resp.headers
        if isinstance(body, dict):
            assert body["next_cursor"] == cursor
        if limit is not None:
            assert 0 < len(items) <= limit or (not pages and not items)
        pages.append(items)
        assert len(pages) < 50, "the walk does not end"
        url = link.group(1) if link else None
        if url is not None:
            between(len(pages))
    return pages


def flat(pages: list[list], key: str = "id") -> list:
    return [item[key] for page in pages for item in page]
