"""Operations the database server has served, by kind, from ``serverStatus`` opcounters.

Read before and after a phase, the difference divided by confirmed orders checks the round
trips counted in ``bench.model`` against what really reached the server (every client of the
server counts, so run the benchmark on a server nothing else uses).
"""

from __future__ import annotations

from pymongo.errors import PyMongoError

from runtime.mongo import make_client


async def opcounters(mongo_url: str) -> dict[str, int]:
    """Operations served so far by kind; empty if the server does not say."""
    client = make_client(mongo_url)
    try:
        status = await client.admin.command("serverStatus")
    except PyMongoError:
        return {}
    finally:
        await client.close()
    return {kind: int(count) for kind, count in status.get("opcounters", {}).items()}


def per_order(before: dict[str, int], after: dict[str, int], orders: int) -> dict[str, float]:
    spent = {kind: (after[kind] - before.get(kind, 0)) / max(1, orders) for kind in after}
    spent["total"] = sum(spent.values())
    return {kind: round(value, 1) for kind, value in spent.items()}
