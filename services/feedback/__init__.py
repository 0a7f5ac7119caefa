"""Feedback service (好差评): ratings bound to real service cases, rectification of bad
reviews on working-day deadlines, complaints and needs from collection points, and
satisfaction indices computed from events."""
