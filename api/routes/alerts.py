from fastapi import APIRouter

router = APIRouter(prefix="/api/analytics/alerts", tags=["alerts"])
