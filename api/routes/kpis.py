from fastapi import APIRouter

router = APIRouter(prefix="/api/analytics/kpis", tags=["business"])
