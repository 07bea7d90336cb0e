"""Placeholder (issue 9, in progress)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/analytics/dashboards", tags=["dashboards"])
