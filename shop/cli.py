"""`flask shop ...` commands: create-user and demo (more arrive with their issues).

Each command is one `transaction()`: it commits at the end, or nothing is kept. The sweeps are
`flask scheduler run` (on a timer) and `flask scheduler run --once` (shop/core/scheduler.py)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from inventory import catalog, imports, stock_events
from inventory.models import Product
from shop.accounts import service as accounts
from shop.core import events, plans
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.transactions import transaction
from shop.demo import data as demo
from stores.models import Store

IMPORT_CHUNK = 200

shop_cli = AppGroup("shop", help="Omnishop administration commands.")


@shop_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", required=True, type=click.Choice(["staff", "marketing", "admin"]))
@click.option("--store", "store_codes", multiple=True, help="Store code (repeat for several).")
def create_user(email: str, password: str, role: str, store_codes: tuple[str, ...]) -> None:
    """Make a staff, marketing or admin account."""
    from marshmallow import ValidationError

    from shop.accounts.contact import normalize_email

    try:
        email = normalize_email(email)
    except ValidationError as exc:
        raise click.UsageError(str(exc.messages[0])) from exc
    if len(password) < 8:
        raise click.UsageError("The password needs at least 8 characters.")
    with transaction():
        store_ids = []
        for code in store_codes:
            store = db.session.scalar(db.select(Store).where(Store.code == code))
            if store is None:
                raise click.UsageError(f"No store with code {code!r}.")
            store_ids.append(store.id)
        try:
            user = accounts.create_user(email, password, role, store_ids)
        except DomainError as exc:
            raise click.UsageError(exc.detail) from exc
    click.echo(f"Created {role} {user.email} (id {user.id}).")


@shop_cli.command("demo")
def load_demo() -> None:
    """Load the demo stores, catalog, stock and users (safe to run again)."""
    with transaction():
        logins = demo.load()
        events.demo_loaded.send(current_app._get_current_object())
    click.echo("Demo data loaded. Sign in with (email / password / role):")
    for email, password, role in logins:
        click.echo(f"  {email:32} {password:16} {role}")


def _report_and_fail(errors: list[tuple[int, str]]) -> None:
    """Raised inside the command's transaction, so nothing of the file is kept."""
    for line, message in errors:
        click.echo(f"line {line}: {message}", err=True)
    raise click.ClickException(f"{len(errors)} bad row(s): nothing was imported.")


@shop_cli.command("import-catalog")
@click.argument("file", type=click.File("rb"))
def import_catalog(file) -> None:
    """Create or update products from a CSV file (sku,name,price,currency[,gtin,active])."""
    with transaction():
        parsed = imports.parse_catalog(file.read())
        if parsed.errors:
            _report_and_fail(parsed.errors)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        errors = []
        with click.progressbar(parsed.rows, label="Importing products") as rows:
            for line, row in rows:
                existing = db.session.scalar(db.select(Product).where(Product.sku == row["sku"]))
                try:
                    if existing is None:
                        catalog.create_product(row)
                        counts["created"] += 1
                    elif any(getattr(existing, k) != v for k, v in row.items()):
                        catalog.update_product(existing, row)
                        counts["updated"] += 1
                    else:
                        counts["unchanged"] += 1
                except DomainError as exc:
                    errors.append((line, exc.detail))
        if errors:
            _report_and_fail(errors)
        plans.analyze("products")
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()) + ".")


@shop_cli.command("import-stock")
@click.argument("store_code")
@click.argument("file", type=click.File("rb"))
def import_stock(store_code: str, file) -> None:
    """Record a stock count for one store from a CSV file (sku,quantity) as `count` events."""
    with transaction():
        store = db.session.scalar(db.select(Store).where(Store.code == store_code))
        if store is None:
            raise click.UsageError(f"No store with code {store_code!r}.")
        parsed = imports.parse_counts(file.read())
        skus = {row["sku"] for _, row in parsed.rows}
        known = {p.sku: p for p in db.session.scalars(db.select(Product).where(Product.sku.in_(skus)))}
        errors = parsed.errors + [
            (line, f"unknown SKU {row['sku']}") for line, row in parsed.rows if row["sku"] not in known
        ]
        if errors:
            _report_and_fail(sorted(errors))
        chunks = [parsed.rows[i : i + IMPORT_CHUNK] for i in range(0, len(parsed.rows), IMPORT_CHUNK)]
        changed = 0
        with click.progressbar(length=len(parsed.rows), label="Recording counts") as bar:
            for n, chunk in enumerate(chunks):
                lines = {known[row["sku"]]: row["quantity"] for _, row in chunk}
                # The event id comes from the file's content: importing the same file twice is a no-op.
                result, _ = stock_events.record_event(
                    store.id, f"import:{parsed.digest[:24]}:{n}", "count", lines
                )
                changed += sum(1 for line in result["lines"] if line["delta_on_hand"])
                bar.update(len(chunk))
        plans.analyze("stock", "stock_ledger")
    click.echo(f"{len(parsed.rows)} SKUs counted at {store.code}, {changed} changed.")
