"""Playback: what a camera recorded (ranges and gaps), a continuous stream from any moment, and clips."""
