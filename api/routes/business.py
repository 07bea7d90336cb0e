from fastapi import APIRouter

router = APIRouter(prefix="/api/analytics/business", tags=["business"])
