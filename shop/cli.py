"""`flask shop ...` commands: create-user and demo (more arrive with their issues)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from shop import accounts, demo
from shop.errors import DomainError
from shop.extensions import db
from stores.models import Store

shop_cli = AppGroup("shop", help="Omnishop administration commands.")


@shop_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", required=True, type=click.Choice(["staff", "marketing", "admin"]))
@click.option("--store", "store_codes", multiple=True, help="Store code (repeat for several).")
def create_user(email: str, password: str, role: str, store_codes: tuple[str, ...]) -> None:
    """Make a staff, marketing or admin account."""
    from marshmallow import ValidationError

    from shop.contact import normalize_email

    try:
        email = normalize_email(email)
    except ValidationError as exc:
        raise click.UsageError(str(exc.messages[0])) from exc
    if len(password) < 8:
        raise click.UsageError("The password needs at least 8 characters.")
    store_ids = []
    for code in store_codes:
        store = db.session.scalar(db.select(Store).where(Store.code == code))
        if store is None:
            raise click.UsageError(f"No store with code {code!r}.")
        store_ids.append(store.id)
    try:
        user = accounts.create_user(email, password, role, store_ids)
    except DomainError as exc:
        db.session.rollback()
        raise click.UsageError(exc.detail) from exc
    db.session.commit()
    click.echo(f"Created {role} {user.email} (id {user.id}).")


@shop_cli.command("demo")
def load_demo() -> None:
    """Load the demo stores, catalog, stock and users (safe to run again)."""
    logins = demo.load()
    db.session.commit()
    click.echo("Demo data loaded. Sign in with (email / password / role):")
    for email, password, role in logins:
        click.echo(f"  {email:32} {password:16} {role}")
