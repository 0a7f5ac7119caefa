"""Feedback process: the app (parts and lifecycle) and its entry point."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from puhui.feedback import metrics, policy
from puhui.feedback.adapters.bursts import InProcessBurstCounter, RedisBurstCounter
from puhui.feedback.adapters.catalog import apply_catalog_event
from puhui.feedback.adapters.db import SqlUnitOfWork, metadata
from puhui.feedback.adapters.indices import apply_event
from puhui.feedback.adapters.persons import apply_identity_event
from puhui.feedback.config import FeedbackConfig
from puhui.feedback.domain import BurstCounter, Feedback, Settings, Ticket, china_date
from puhui.feedback.servicer import FeedbackServicer, OutboxEvents
from puhui.feedback.v1 import feedback_pb2, feedback_pb2_grpc
from puhui.kit import config as kit_config
from puhui.kit import kafka, server
from puhui.kit.inbox import EventConsumer
from puhui.kit.times import utcnow

logger = logging.getLogger(__name__)


def settings_of(config: FeedbackConfig) -> Settings:
    return Settings(
        invitation_days=config.invitation_days,
        deadline_working_days=config.deadline_working_days,
        province_deadlines=config.deadlines(),
        calendar=config.calendar(),
        burst_limit=config.burst_limit,
        burst_address_limit=config.burst_address_limit,
        burst_window_seconds=config.burst_window_seconds,
        duplicate_threshold=config.duplicate_threshold,
    )


class _LateBoundBursts:
    """Redis exists only after start(); the servicer is built before."""

    def __init__(self, fallback: BurstCounter) -> None:
        self.target: BurstCounter = fallback

    def hit(self, key: str) -> int:
        return self.target.hit(key)


class FeedbackApp(server.ServiceApp):
    name = "feedback"

    def __init__(self, config: FeedbackConfig, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config, metadata, **kw)
        self.feedback_config = config
        key = config.token_key.encode() if config.token_key else secrets.token_bytes(32)
        self.bursts = _LateBoundBursts(InProcessBurstCounter(config.burst_window_seconds))
        self.feedback = Feedback(
            node=config.node_id,
            token_key=key,
            uow=SqlUnitOfWork(self.db, lambda session: OutboxEvents(self.outbox, session)),
            bursts=self.bursts,
            settings=settings_of(config),
        )
        self.servicer = FeedbackServicer(self.feedback, config.node_id)
        # The day (China time) the deadline job checks against; tests may move it.
        self.today: Callable[[], date] = lambda: china_date(utcnow())
        self._stop_jobs = threading.Event()
        self._breach_job: threading.Thread | None = None

    def grpc_services(self) -> Sequence[server.GrpcService]:
        return [
            server.GrpcService(
                feedback_pb2.DESCRIPTOR.services_by_name["FeedbackService"].full_name,
                lambda s: feedback_pb2_grpc.add_FeedbackServiceServicer_to_server(self.servicer, s),
                policy.POLICY,
            )
        ]

    # -- consumers --------------------------------------------------------------------------
    def consumers(self) -> Sequence[EventConsumer]:
        if not self.feedback_config.run_consumers:
            return ()
        feedback_src: dict[str, Any]
        catalog_src: dict[str, Any]
        if self.config.is_hub:  # the hub folds every node's events into national figures
            feedback_src = {"pattern": kafka.topic_pattern("feedback")}
            catalog_src = {"pattern": kafka.topic_pattern("catalog")}
        else:
            feedback_src = {"topics": [kafka.topic_name(self.node, "feedback")]}
            catalog_src = {"topics": [kafka.topic_name(self.node, "catalog")]}
        return [
            self.consumer(
                group=f"puhui-{self.node}-feedback-indices", handler=apply_event, **feedback_src
            ),
            self.consumer(
                group=f"puhui-{self.node}-feedback-catalog-view",
                handler=apply_catalog_event,
                **catalog_src,
            ),
            self.consumer(
                group=f"puhui-{self.node}-feedback-persons",
                handler=apply_identity_event,
                topics=[kafka.topic_name(self.node, "identity")],
            ),
        ]

    def topics(self) -> Sequence[str]:
        return (
            self.outbox.topic(),
            kafka.topic_name(self.node, "catalog"),
            kafka.topic_name(self.node, "identity"),
        )

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        metrics.watch_tickets(self.node, self.db)
        metrics.watch_calendar(self.node, self.feedback.settings.calendar)
        if self.redis is not None:
            self.bursts.target = RedisBurstCounter(
                self.redis, self.node, self.feedback_config.burst_window_seconds
            )
        self._stop_jobs.clear()
        self._breach_job = threading.Thread(
            target=self._run_breach_job, name="ticket-deadlines", daemon=True
        )
        self._breach_job.start()

    def stop(self) -> None:
        self._stop_jobs.set()
        if self._breach_job is not None:
            self._breach_job.join(5)
        metrics.unwatch_tickets(self.node)
        metrics.unwatch_calendar(self.node)
        super().stop()

    def _run_breach_job(self) -> None:
        while not self._stop_jobs.wait(self.feedback_config.breach_check_seconds):
            try:
                self.check_deadlines()
            except Exception:
                logger.warning("deadline check failed; retrying next round", exc_info=True)

    def check_deadlines(self, today: date | None = None) -> list[Ticket]:
        """Emit TicketDeadlineBreached for every ticket past its due date (China time)."""
        found = self.feedback.check_deadlines(today or self.today())
        for _ in found:
            metrics.TICKET_DEADLINE_BREACHED.labels(node=self.node).inc()
        return found


def build(**overrides) -> FeedbackApp:  # type: ignore[no-untyped-def]
    verifier = overrides.pop("verifier", None)
    return FeedbackApp(kit_config.load(FeedbackConfig, **overrides), verifier=verifier)


def main() -> None:
    server.run(build)
