"""Cost of the kit's request validation (puhui.kit.validation.check_request) per request:
the best of 15 repeats, beside ListFields alone for scale. Prints; writes nothing.

    .venv/bin/python -m bench.validation_cost
"""

from __future__ import annotations

import timeit

from puhui.data.v1 import data_pb2
from puhui.feedback.v1 import feedback_pb2
from puhui.kit import validation


def main() -> None:
    search = data_pb2.SearchPatentsRequest(query="知识产权 无人机", page_size=20)
    kiosk = feedback_pb2.SyncKioskRatingsRequest(kiosk_id="kiosk-1")
    for i in range(100):
        rating = kiosk.ratings.add(client_rating_id=f"r{i}")
        rating.rated_at.GetCurrentTime()
        rating.rating.comment = "服务很好"
        rating.rating.rating_token = "rt_x"  # noqa: S105 - a sample request value
    cases = [
        ("ListFields alone (reference)", lambda: search.ListFields(), 5000),
        ("SearchPatentsRequest", lambda: validation.check_request(search), 5000),
        ("SyncKioskRatingsRequest, 100 ratings", lambda: validation.check_request(kiosk), 50),
    ]
    for name, call, number in cases:
        best = min(timeit.repeat(call, number=number, repeat=15)) / number
        print(f"{name:<40}{best * 1e6:>10.1f} µs")


if __name__ == "__main__":
    main()
