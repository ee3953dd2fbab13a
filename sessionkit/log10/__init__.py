"""Log10 sessions: `Log10Core` and `sessions_create`."""

from ._core import Log10Core
from .models import CreateSessionRequest
from .sessions import sessions_create

__all__ = ["Log10Core", "CreateSessionRequest", "sessions_create"]
