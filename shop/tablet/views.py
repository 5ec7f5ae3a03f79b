"""The pickup counter screen at /stores/<code>/tablet: thin views over the order services.

Pages are server-rendered; the page's script polls the queue fragment and sends the order steps as
JSON to the endpoints below, which call shop.orders.pickup as the staff API does (docs/tablet.md
says why the tablet has its own endpoints). Each view is one transaction (`with transaction()`).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from shop.accounts import auth, sign_in_pages
from shop.accounts.actors import Actor
from shop.core import errors
from shop.core.errors import DomainError
from shop.core.transactions import transaction
from shop.orders import handover, pickup
from shop.tablet import access, board, forms

bp = Blueprint("tablet", __name__, template_folder="templates", static_folder="static",
               static_url_path="/tablet/static")
STORE = "/stores/<string(maxlength=32):code>/tablet"


sign_in_pages.add_to(bp, "/tablet", sign_in_pages.SignInPage(access.COUNTER, "tablet/sign_in.html", "tablet.stores"))


@bp.context_processor
def _page_globals() -> dict:
    return {"poll_seconds": current_app.config["TABLET_POLL_SECONDS"]}


def _wants_json() -> bool:
    """The page's script (it says so in X-Requested-With), not a person navigating."""
    return request.is_json or "X-Requested-With" in request.headers


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    """JSON calls get problem+json; a person gets a page (or the sign-in form)."""
    if _wants_json():
        return errors.handle_domain_error(exc)
    if exc.code == "unauthorized":
        return sign_in_pages.to_sign_in()
    stores = []
    if exc.code == "wrong_store":
        with transaction():
            stores = access.stores_of(access.signed_in())
    return render_template("tablet/error.html", problem=exc, stores=stores), exc.status


@bp.get("/tablet")
def stores():
    """The stores a clerk works at; one store goes straight to its counter."""
    with transaction():
        user = access.signed_in()
        choices = access.stores_of(user)
    if len(choices) == 1:
        return redirect(url_for("tablet.queue_page", code=choices[0].code))
    return render_template("tablet/stores.html", stores=choices, user=user)


@bp.get(STORE)
def queue_page(code: str):
    with transaction():
        here = access.counter(code)
        queue = board.queue(here.store)
    return render_template("tablet/queue.html", here=here, queue=queue)


@bp.get(STORE + "/queue")
def queue_fragment(code: str):
    """What the page polls: the groups alone. Not activity, so a tablet left alone still signs out."""
    with transaction():
        here = access.counter(code, activity=False)
        queue = board.queue(here.store)
    return render_template("tablet/_queue.html", here=here, queue=queue)


@bp.get(STORE + "/pick-list")
def pick_list(code: str):
    with transaction():
        here = access.counter(code)
        rows = board.pick_list(here.store)
    return render_template("tablet/pick_list.html", here=here, rows=rows)


@bp.get(STORE + "/find")
def find(code: str):
    """Hand over: find the order by the number the shopper reads out (or their QR code gives)."""
    number = request.args.get("number", "").strip()[:40]
    with transaction():
        here = access.counter(code)
        order = board.find_by_number(here.store, number) if number else None
    if order is not None:
        return redirect(url_for("tablet.order_page", code=code, order_id=order.id))
    return render_template("tablet/find.html", here=here, number=number, missing=bool(number))


@bp.get(STORE + "/orders/<int:order_id>")
def order_page(code: str, order_id: int):
    with transaction():
        here = access.counter(code)
        view = board.order_view(here.store, access.order_here(here, order_id))
    return render_template("tablet/order.html", here=here, view=view)


def _step(code: str, order_id: int, act, message: str):
    """Lock the order, check it is this store's, act through the order service, answer with the
    order's panel as it now is (the page swaps it in)."""
    with transaction():
        here = access.counter(code)
        order = access.order_here(here, order_id, lock=True)
        act(order, here)
        view = board.order_view(here.store, order)
    return _panel(here, view, message)


def _panel(here: access.Counter, view: board.OrderView, message: str):
    html = render_template("tablet/_order.html", here=here, view=view)
    return jsonify(message=message.format(order=view.order), status=view.order.status, html=html)


@bp.post(STORE + "/orders/<int:order_id>/picking")
def start_picking(code: str, order_id: int):
    return _step(code, order_id, lambda order, here: pickup.start_picking(order, here.actor),
                 "Picking {order.number}.")


@bp.post(STORE + "/orders/<int:order_id>/lines/<int:line_id>/pick")
def pick_line(code: str, order_id: int, line_id: int):
    picked = forms.body(forms.PICK)["picked_quantity"]
    return _step(code, order_id, lambda order, here: pickup.pick_line(order, line_id, picked, here.actor),
                 "Saved.")


@bp.post(STORE + "/orders/<int:order_id>/ready")
def ready(code: str, order_id: int):
    return _step(code, order_id, lambda order, here: pickup.mark_ready(order, here.actor),
                 "{order.number} is ready for pickup.")


@bp.post(STORE + "/orders/<int:order_id>/handover")
def hand_over(code: str, order_id: int):
    pickup_code = forms.body(forms.HANDOVER)["pickup_code"]
    with transaction():
        here = access.counter(code)
        order = handover.hand_over(lambda: (access.order_here(here, order_id, lock=True), here.actor), pickup_code)
        view = board.order_view(here.store, order)
    return _panel(here, view, "{order.number} handed over.")


@bp.post(STORE + "/orders/<int:order_id>/unlock")
@sign_in_pages.per_address
@sign_in_pages.per_account
def unlock(code: str, order_id: int):
    """A manager types their own sign-in on the tablet after checking the shopper's ID."""
    data = forms.body(forms.UNLOCK)
    with transaction():
        here = access.counter(code)
        manager = auth.authenticate(data["email"], data["password"])  # the slow check before the order's lock
        order = access.order_here(here, order_id, lock=True)
        pickup.unlock(order, Actor("staff", manager, "store", here.store.id), here.actor)
        view = board.order_view(here.store, order)
    return _panel(here, view, "{order.number} unlocked: type the code again.")
