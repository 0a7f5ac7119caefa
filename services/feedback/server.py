"""Feedback process: the app (parts and lifecycle) and its entry point."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from puhui.feedback.adapters.db import metadata
from puhui.feedback.config import FeedbackConfig
from puhui.feedback.domain import Feedback, Settings
from puhui.feedback.servicer import FeedbackServicer
from puhui.feedback.v1 import feedback_pb2, feedback_pb2_grpc
from puhui.kit import config as kit_config
from puhui.kit import server

logger = logging.getLogger(__name__)


def settings_of(config: FeedbackConfig) -> Settings:
    return Settings(
        invitation_days=config.invitation_days,
        deadline_working_days=config.deadline_working_days,
        province_deadlines=config.deadlines(),
        calendar=config.calendar(),
        burst_limit=config.burst_limit,
        burst_window_seconds=config.burst_window_seconds,
        duplicate_threshold=config.duplicate_threshold,
    )


class FeedbackApp(server.ServiceApp):
    name = "feedback"

    def __init__(self, config: FeedbackConfig, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config, metadata, **kw)
        self.feedback_config = config
        key = config.token_key.encode() if config.token_key else secrets.token_bytes(32)
        self.feedback = Feedback(node=config.node_id, token_key=key, settings=settings_of(config))
        self.servicer = FeedbackServicer(self.feedback, self.db, self.outbox)

    def grpc_services(self) -> Sequence[server.GrpcService]:
        return [
            server.GrpcService(
                feedback_pb2.DESCRIPTOR.services_by_name["FeedbackService"].full_name,
                lambda s: feedback_pb2_grpc.add_FeedbackServiceServicer_to_server(self.servicer, s),
            )
        ]


def build(**overrides) -> FeedbackApp:  # type: ignore[no-untyped-def]
    verifier = overrides.pop("verifier", None)
    return FeedbackApp(kit_config.load(FeedbackConfig, **overrides), verifier=verifier)


def main() -> None:
    server.run(build)
