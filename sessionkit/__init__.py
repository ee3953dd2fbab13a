"""sessionkit: async, typed, no-raise clients for the sessions APIs of five services.

Service clients live in `sessionkit.jupyter`, `sessionkit.orq`, `sessionkit.mix`,
`sessionkit.devin` and `sessionkit.log10`; importing one does not import the others.
"""

from ._core import VERSION as __version__
from ._core import BaseCore
from ._hooks import HookContext, Hooks, PreparedRequest
from ._json import backend as json_backend
from ._operation import Operation
from ._options import RequestOptions, Timeout
from ._retry import RetryConfig
from ._serde import OpenEnum
from .batch import Adaptive, BatchProgress, batch, batch_iter
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectionError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    SessionkitError,
    UnprocessableEntityError,
)
from .result import Err, Ok, ResponseMeta, Result, UnwrapError

__all__ = [
    "__version__",
    "Adaptive",
    "batch",
    "batch_iter",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BaseCore",
    "BatchProgress",
    "ConflictError",
    "ConnectionError",
    "Err",
    "HookContext",
    "Hooks",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "Ok",
    "OpenEnum",
    "Operation",
    "PermissionDeniedError",
    "PreparedRequest",
    "RateLimitError",
    "RequestOptions",
    "RequestTimeoutError",
    "ResponseMeta",
    "ResponseValidationError",
    "Result",
    "RetryConfig",
    "SessionkitError",
    "Timeout",
    "UnprocessableEntityError",
    "UnwrapError",
    "json_backend",
]
