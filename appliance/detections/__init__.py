"""Detections: reports from Frigate, motion detection and other add-ons, stored idempotently with their snapshots."""

from appliance.detections.report import DetectionReport, Phase
from appliance.detections.service import Detections, current
from appliance.detections.snapshots import SnapshotRefused

__all__ = ["DetectionReport", "Detections", "Phase", "SnapshotRefused", "current"]
