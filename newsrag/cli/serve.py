"""`newsrag serve` (the OpenAI-compatible API) and `newsrag keys` (its API keys).

    $ newsrag keys create laptop            # prints the key once
    $ newsrag keys create ops --admin --rate 600
    $ newsrag serve --host 0.0.0.0 --port 8800 --ui
    $ newsrag keys revoke laptop
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from newsrag.settings import Settings, load_settings
from newsrag.terminal import safe

if TYPE_CHECKING:
    from serve.keys import KeyStore


def _settings(ctx: click.Context) -> Settings:
    root = ctx.find_root().obj
    return load_settings(getattr(root, "config", None))


def _store(ctx: click.Context) -> KeyStore:
    from serve.keys import KeyStore

    return KeyStore.in_data_dir(_settings(ctx).resolved_data_dir())


@click.command(name="serve")
@click.option("--host", default=None, help="Address to bind (default: serve.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port (default: serve.port, 8800).")
@click.option("--ui", "with_ui", is_flag=True,
              help="Also serve the chat UI under /ui on the same port.")
@click.pass_context
def serve_command(ctx: click.Context, host: str | None, port: int | None,
                  with_ui: bool) -> None:
    """Serve an OpenAI-compatible chat endpoint with citations, and a REST API."""
    from serve.keys import KeyStore
    from serve.server import check_bind, serve

    settings = _settings(ctx)
    host = host or settings.serve.host
    port = port or settings.serve.port
    # Refuse an open non-local address before any model loads.
    check_bind(host, KeyStore.in_data_dir(settings.resolved_data_dir()))
    if with_ui:
        from ui.server import auth_users, prepare_gradio

        auth_users(settings.ui.model_copy(update={"host": host}))
        prepare_gradio(settings)
    from rag.services import build_services

    serve(build_services(settings), host, port, with_ui)


@click.group(name="keys", context_settings={"help_option_names": ["-h", "--help"]})
def keys_group() -> None:
    """API keys for `newsrag serve`: stored as scrypt hashes in the data dir."""


@keys_group.command(name="create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="May ingest and delete (default: read-only).")
@click.option("--rate", type=click.IntRange(0, 1_000_000), default=None,
              help="Requests per minute for this key (default: serve.rate_limit_per_minute; "
                   "0 = unlimited).")
@click.pass_context
def create_key(ctx: click.Context, name: str, admin: bool, rate: int | None) -> None:
    """Create a key and print it once (only its hash is kept)."""
    record, key = _store(ctx).create(name, "admin" if admin else "read", rate)
    click.echo(key)
    click.echo(f"created {record.role} key {safe(record.name)} (id {record.id}); it is shown "
               "only now: store it safely", err=True)


@keys_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (without hashes).")
@click.option("--all", "show_all", is_flag=True, help="Include revoked keys.")
@click.pass_context
def list_keys(ctx: click.Context, as_json: bool, show_all: bool) -> None:
    """The keys: id, name, role, rate, created (never the keys themselves)."""
    records = [r for r in _store(ctx).list() if show_all or r.active]
    if as_json:
        rows = [{k: v for k, v in asdict(r).items() if k != "hash"} for r in records]
        click.echo(json.dumps(rows, indent=2))
        return
    for r in records:
        rate = "default" if r.rate_per_minute is None else f"{r.rate_per_minute}/min"
        state = f"  revoked {r.revoked}" if r.revoked else ""
        click.echo(f"{r.id}  {safe(r.name)}  {r.role}  rate {rate}  created {r.created}{state}")
    click.echo(f"{len(records)} keys")


@keys_group.command(name="hash-password")
@click.password_option("--password", prompt="Password", help="Read from a prompt if omitted.")
def hash_password(password: str) -> None:
    """Print a scrypt hash of a password for ui.users ("name:scrypt$..."), which the UI
    mounted by `newsrag serve --ui` accepts instead of the password itself."""
    from serve.keys import hash_secret

    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="--password")
    click.echo(hash_secret(password))


@keys_group.command(name="revoke")
@click.argument("name_or_id")
@click.pass_context
def revoke_key(ctx: click.Context, name_or_id: str) -> None:
    """Revoke a key by name or id (a running server refuses it from the next request)."""
    record = _store(ctx).revoke(name_or_id)
    click.echo(f"revoked {safe(record.name)} (id {record.id})")

