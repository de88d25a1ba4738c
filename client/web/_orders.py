"""An order's page (live while the saga moves it), its event stream, history, cancel, and the
admin's status change.

The page renders the order as it is now and works without JavaScript (reload to see a
change). ``/orders/{id}/events`` is a server-sent event stream fed by the client's
``watch_order``: the order now, then each change; ``static/order-live.js`` applies each to the
page. The stream asks the order service first, so another customer's order is a 404 here too.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from client._errors import BookstoreClientError, FailedPreconditionError, InvalidArgumentError
from client._models import FINAL_STATUSES, ORDER_STATUSES, Order, status_name
from client._parsing import format_cents
from client.web._render import client_for, field, form, page, redirect, require_admin, require_login

HISTORY_PAGE_SIZE = 10
#: Statuses whose reason explains a refusal, worth showing as such.
REFUSED = frozenset({"REJECTED", "CANCELLED"})
#: Statuses a customer may still cancel from (the order has not shipped).
CANCELLABLE = frozenset({"PENDING", "CONFIRMED"})
#: A comment line now and then keeps proxies from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0


def order_view(order: Order) -> dict[str, Any]:
    """What the page shows of an order, as plain data: the template's and the stream's."""
    status = status_name(order.status)
    return {
        "id": order.id, "user_id": order.user_id, "status": status,
        "reason": order.reason if status in REFUSED else "",
        "final": order.status in FINAL_STATUSES, "cancellable": status in CANCELLABLE,
        "total": format_cents(order.total_cents),
        "lines": [{"book_id": line.book_id, "title": line.title, "quantity": line.quantity,
                   "unit_price": format_cents(line.unit_price_cents),
                   "total": format_cents(line.line_total_cents),
                   "rejection_reason": line.rejection_reason} for line in order.lines],
        "history": [{"status": status_name(change.status), "reason": change.reason,
                     "at": change.at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S UTC")
                     if change.HasField("at") else ""} for change in order.history],
        "created": order.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M UTC")
        if order.HasField("created_at") else "",
    }


async def show(request: Request) -> Response:
    who = require_login(request)
    order = await client_for(request).get_order(request.path_params["order_id"])
    return page(request, "order.html", order=order_view(order), is_admin=who.is_admin,
                statuses=[name.upper() for name in ORDER_STATUSES])


async def events(request: Request) -> Response:
    require_login(request)
    client = client_for(request)
    order_id = request.path_params["order_id"]
    await client.get_order(order_id)  # not found (or not yours) answers 404 before streaming

    async def stream() -> AsyncIterator[str]:
        yield f"retry: 3000\n: watching order {order_id}\n\n"
        updates = client.watch_order(order_id)
        try:
            async with contextlib.aclosing(updates):
                async for order in updates:
                    yield f"event: order\ndata: {json.dumps(order_view(order))}\n\n"
        except BookstoreClientError as exc:  # the page keeps what it has; say why it stopped
            yield f"event: problem\ndata: {json.dumps({'message': exc.message})}\n\n"
        yield "event: end\ndata: {}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


async def history(request: Request) -> Response:
    """Your own orders; for an admin, ``?user_id=`` shows that customer's."""
    who = require_login(request)
    params = request.query_params
    token = params.get("page", "")
    user_id = params.get("user_id", "").strip() if who.is_admin else ""
    try:
        result = await client_for(request).order_history(
            user_id or None, page_size=HISTORY_PAGE_SIZE, page_token=token)
    except InvalidArgumentError:
        return redirect("/orders")
    orders = [order_view(order) for order in result.orders]
    kept = {"user_id": user_id} if user_id else {}
    next_url = ("/orders?" + urlencode({**kept, "page": result.next_page_token})
                if result.next_page_token else "")
    first_url = ("/orders?" + urlencode(kept)) if token else ""
    return page(request, "history.html", orders=orders, next_url=next_url,
                first_url=first_url, user_id=user_id, is_admin=who.is_admin)


async def find(request: Request) -> Response:
    """An admin opens any order by its id (customers have their history)."""
    require_admin(request)
    order_id = request.query_params.get("order_id", "").strip()
    return redirect_get(f"/orders/{quote(order_id, safe='')}" if order_id else "/orders")


async def cancel(request: Request) -> Response:
    await form(request)
    who = require_login(request)
    order_id = request.path_params["order_id"]
    try:
        await client_for(request).cancel_order(order_id)
        who.flash("Your order is cancelled.")
    except FailedPreconditionError as exc:
        who.flash(f"This order cannot be cancelled: {exc.message}")
    return redirect(f"/orders/{order_id}")


async def set_status(request: Request) -> Response:
    data = await form(request)
    who = require_admin(request)
    order_id = request.path_params["order_id"]
    try:
        order = await client_for(request).update_order_status(
            order_id, field(data, "status").lower(), reason=field(data, "reason"))
        who.flash(f"The order is now {status_name(order.status)}.")
    except (FailedPreconditionError, InvalidArgumentError) as exc:
        who.flash(f"The status was not changed: {exc.message}")
    return redirect(f"/orders/{order_id}")


def redirect_get(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=302)
