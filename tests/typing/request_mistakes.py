"""Mistakes a type checker must catch in a request written as a dict literal, and in core options.

Each line marked `# expect:` is an error for pyright; `test_request_params.py` removes the ignore
comments and checks that pyright reports every one of them (and nothing else). The right spellings
at the bottom must type-check as they are.
"""

from __future__ import annotations

from sessionkit import RetryConfig, Timeout
from sessionkit.devin import DevinCore
from sessionkit.devin import sessions_create as devin_create
from sessionkit.jupyter import JupyterCore, sessions_create, sessions_get, sessions_update
from sessionkit.mix import MixCore, sessions_files_delete, sessions_fork, sessions_messages_send
from sessionkit.orq import OrqCore
from sessionkit.orq import sessions_list as orq_list


async def mistakes(jupyter: JupyterCore, mix: MixCore, devin: DevinCore, orq: OrqCore) -> None:
    await sessions_create(jupyter, {"pth": "a.ipynb"})  # pyright: ignore[reportArgumentType]  # expect: unknown key
    await sessions_create(jupyter, {"path": 123})  # pyright: ignore[reportArgumentType]  # expect: wrong type
    await sessions_create(jupyter, {"type": "notebook"})  # pyright: ignore[reportArgumentType]  # expect: missing key
    await sessions_get(jupyter)  # pyright: ignore[reportCallIssue]  # expect: no request
    await sessions_update(jupyter, {"session": "s", "name": "x"})  # pyright: ignore[reportArgumentType]  # expect: beside the model
    await sessions_update(jupyter, {"session": "s", "model": {"nmae": "x"}})  # pyright: ignore[reportArgumentType]  # expect: nested key
    await sessions_fork(mix, {"id": "s1", "messsage_index": 0})  # pyright: ignore[reportArgumentType]  # expect: typo
    await sessions_fork(mix, {"id": "s1", "messageIndex": 0})  # pyright: ignore[reportArgumentType]  # expect: wire name
    await devin_create(devin, {"prompt": "p", "idempotnet": True})  # pyright: ignore[reportArgumentType]  # expect: typo
    await orq_list(orq, {"filters": {"interval": "SESSION_INTERVAL_ALL_TIME", "tag": ["a"]}})  # pyright: ignore[reportArgumentType]  # expect: tag
    await orq_list(orq, {"filters": {"interval": "EVERY_DAY"}})  # pyright: ignore[reportArgumentType]  # expect: enum value
    await sessions_messages_send(mix, {"id": "s1", "txt": "hi"})  # pyright: ignore[reportArgumentType]  # expect: typo
    await sessions_messages_send(mix, {"id": "s1", "thinking_level": "max"})  # pyright: ignore[reportArgumentType]  # expect: enum value
    await sessions_files_delete(mix, {"id": "s1"})  # pyright: ignore[reportArgumentType]  # expect: missing filename
    JupyterCore(timeuot=5.0)  # pyright: ignore[reportCallIssue]  # expect: option typo
    JupyterCore(retries="two")  # pyright: ignore[reportArgumentType]  # expect: option type


async def right(jupyter: JupyterCore, mix: MixCore, devin: DevinCore, orq: OrqCore) -> None:
    await sessions_create(jupyter, {"path": "a.ipynb", "kernel": {"name": "python3"}})
    await sessions_get(jupyter, {"session": "s"})
    await sessions_update(jupyter, {"session": "s", "model": {"name": "x"}})
    await sessions_fork(mix, {"id": "s1", "message_index": 0})
    await sessions_messages_send(mix, {"id": "s1", "text": "hi", "thinking_level": "maximum"})
    await sessions_files_delete(mix, {"id": "s1", "filename": "notes.txt"})
    await devin_create(devin, {"prompt": "p", "idempotent": True})
    await orq_list(orq, {"filters": {"interval": "SESSION_INTERVAL_ALL_TIME", "tags": ["a"]}})
    JupyterCore(timeout=Timeout(attempt=5.0), retries=RetryConfig(max_retries=1))
    JupyterCore(timeout=5.0, retries=2)
