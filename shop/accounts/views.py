"""Accounts endpoints: tokens, customer sign-up, own profile, email verification, customer look-up."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.security import check_password_hash

from shop.accounts import auth, privacy, timeline
from shop.accounts import service as accounts
from shop.accounts.models import User
from shop.accounts.schemas import (
    CustomerCreateSchema,
    CustomerQuerySchema,
    DataExportSchema,
    EmailVerificationSchema,
    ErasureRequestSchema,
    ErasureSchema,
    ProfilePatchSchema,
    ProfileSchema,
    SignUpAcceptedSchema,
    TimelinePageSchema,
    TimelineQuerySchema,
    TokenRequestSchema,
    TokenSchema,
)
from shop.core import rate_limits
from shop.core.errors import DomainError
from shop.core.extensions import db, limiter
from shop.core.http import problems
from shop.core.pagination import PAGE_HEADERS
from shop.core.transactions import transactional

blp = Blueprint("accounts", __name__, description="Sign-in tokens, customer accounts, profiles")


def _account_key() -> str:
    """Rate-limit key for token creation per account: the email asked for."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"account:{str(email).strip().lower()}" if email else "account:-"


@blp.route("/auth/tokens")
class Tokens(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT_PER_ADDRESS"], methods=["POST"]),
        limiter.limit(
            lambda: current_app.config["TOKEN_RATE_LIMIT_PER_ACCOUNT"],
            key_func=_account_key,
            methods=["POST"],
        ),
    ]

    @blp.arguments(TokenRequestSchema())
    @transactional
    @blp.response(201, TokenSchema)
    @problems("invalid_credentials", "rate_limited")
    def post(self, data):
        """Sign in: trade email and password for a bearer token."""
        user = auth.authenticate(data["email"], data["password"])
        plain, token = auth.issue_token(user)
        return {"token": plain, "expires_at": token.expires_at, "user": user}


@blp.route("/auth/tokens/current")
class CurrentToken(MethodView):
    @auth.login_required
    @transactional
    @blp.response(204)
    def delete(self):
        """Sign out: the token stops working at once."""
        auth.revoke(auth.current_token())


@blp.route("/customers")
class Customers(MethodView):
    decorators = [limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])]

    @blp.arguments(CustomerCreateSchema())
    @transactional
    @blp.response(202, SignUpAcceptedSchema)
    @problems("rate_limited")
    def post(self, data):
        """Shopper sign-up: the same answer whether or not the email has an account; then sign in.

        A new account gets a verification token by email; nothing says whether it was new.
        """
        accounts.request_sign_up(data["email"], data["password"], data["name"], data.get("phone"))
        return {"email": data["email"], "status": "verification_sent",
                "detail": "If this email can be used, an account is ready: sign in, and confirm the email we sent."}

    @auth.roles_required(*auth.STAFF_ROLES)
    @blp.arguments(CustomerQuerySchema(), location="query")
    @blp.response(200, ProfileSchema(many=True), headers=PAGE_HEADERS)
    def get(self, args):
        """Look a customer up by email, phone or name (staff at the counter, marketing, admin)."""
        page = accounts.find_customers(args["q"], args["limit"], args.get("cursor"))
        return page.items, page.headers


@blp.route("/me")
class Me(MethodView):
    @auth.login_required
    @blp.response(200, ProfileSchema)
    def get(self):
        """The signed-in user's own profile."""
        return auth.current_user()

    @auth.login_required
    @blp.arguments(ProfilePatchSchema())
    @transactional
    @blp.response(200, ProfileSchema)
    def patch(self, data):
        """Change own name or phone."""
        return accounts.update_profile(auth.current_user(), data)

    @auth.roles_required("customer")
    @blp.arguments(ErasureRequestSchema())
    @transactional
    @blp.response(200, ErasureSchema)
    @problems("wrong_password", "open_orders")
    def delete(self, data):
        """Erase my personal data (docs/security.md); orders stay for the accounts without it. Signs me out."""
        customer = auth.current_user()
        if not check_password_hash(customer.password_hash, data["password"]):
            raise DomainError("wrong_password", "The password is wrong: nothing was erased.")
        privacy.record(customer, "erasure", customer)
        return privacy.erase(customer)


@blp.route("/me/email-verification")
class EmailVerification(MethodView):
    @auth.login_required
    @blp.arguments(EmailVerificationSchema())
    @transactional
    @blp.response(200, ProfileSchema)
    @problems("token_expired", "token_invalid")
    def post(self, data):
        """Verify the account's email with the signed token that was sent to it."""
        return accounts.verify_email(auth.current_user(), data["token"])



@blp.route("/customers/<int:customer_id>/timeline")
class CustomerTimeline(MethodView):
    @auth.roles_required(*auth.STAFF_ROLES)
    @blp.arguments(TimelineQuerySchema(), location="query")
    @blp.response(200, TimelinePageSchema, headers=PAGE_HEADERS)
    @problems("customer_not_found")
    def get(self, args, customer_id):
        """Everything a customer did or was told, newest first, with the last contact on top."""
        customer = db.session.get(User, customer_id)
        if customer is None or customer.role != "customer":
            raise DomainError("customer_not_found", f"No customer {customer_id}.")
        return _timeline(customer.id, args)


@blp.route("/me/timeline")
class MyTimeline(MethodView):
    @auth.roles_required("customer")
    @blp.arguments(TimelineQuerySchema(), location="query")
    @blp.response(200, TimelinePageSchema, headers=PAGE_HEADERS)
    def get(self, args):
        """My own timeline."""
        return _timeline(auth.current_caller().id, args)


def _timeline(customer_id: int, args: dict):
    page = timeline.entries(customer_id, args["limit"], args.get("cursor"))
    return {**page.as_dict(), "last_contact": timeline.last_contact(customer_id)}, page.headers


# -- Data rights: a customer's export and erasure; an admin's, on the customer's request (recorded) --


def _customer(customer_id: int) -> User:
    customer = db.session.get(User, customer_id)
    if customer is None or customer.role != "customer":
        raise DomainError("customer_not_found", f"No customer {customer_id}.")
    return customer


def _export(customer: User):
    privacy.record(customer, "export", auth.current_user())
    return jsonify(privacy.export(customer))


@blp.route("/me/export")
class MyExport(MethodView):
    decorators = [rate_limits.limit("DATA_EXPORT_RATE_LIMIT", methods=["GET"])]

    @auth.roles_required("customer")
    @transactional
    @blp.response(200, DataExportSchema)
    @problems("rate_limited")
    def get(self):
        """Everything we hold about me, as JSON: profile, carts, orders, timeline, consents, sign-ins."""
        return _export(auth.current_user())


@blp.route("/customers/<int:customer_id>/export")
class CustomerExport(MethodView):
    @auth.roles_required("admin")
    @transactional
    @blp.response(200, DataExportSchema)
    @problems("customer_not_found")
    def get(self, customer_id):
        """A customer's data export, made by an admin on the customer's request (recorded)."""
        return _export(_customer(customer_id))


@blp.route("/customers/<int:customer_id>")
class CustomerErasure(MethodView):
    @auth.roles_required("admin")
    @transactional
    @blp.response(200, ErasureSchema)
    @problems("customer_not_found", "open_orders")
    def delete(self, customer_id):
        """Erase a customer's personal data on their request (an admin does it; recorded)."""
        customer = _customer(customer_id)
        privacy.record(customer, "erasure", auth.current_user())
        return privacy.erase(customer)
