"""Colours and class strings of the panel, in one place."""

from __future__ import annotations

PRIMARY = "#1F4E79"  # police-office blue
SECONDARY = "#2E7D32"
ACCENT = "#F9A825"
NEGATIVE = "#C62828"

HEADER = "items-center bg-primary text-white shadow-md"
DRAWER = "bg-grey-1"
PAGE = "w-full max-w-6xl mx-auto p-4 gap-4"
H1 = "text-2xl font-semibold text-grey-9"
H2 = "text-lg font-semibold text-grey-8"
MUTED = "text-sm text-grey-7"
CARD = "w-full"
GRID = "w-full grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-4 gap-4"
STAT_VALUE = "text-3xl font-bold text-primary"
STAT_LABEL = "text-sm text-grey-7"
NAV_ITEM = "w-full"
NAV_ACTIVE = "bg-blue-1 text-primary font-semibold"
AUTH_CARD = "w-full max-w-sm mx-auto mt-10 p-6 gap-3"
FORM_FIELD = "w-full"
ERROR_TEXT = "text-negative text-sm"
LOG_BOX = "w-full font-mono text-xs bg-grey-10 text-grey-2 p-2 rounded overflow-auto max-h-96"
