"""`EmbeddedMoto`: a real moto server on 127.0.0.1, started and stopped by the test."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from safelog._embedded import HOST, EmbeddedMoto


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _s3(moto: EmbeddedMoto):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class TestEmbeddedMoto:
    def test_starts_on_loopback_answers_and_restarts_on_the_same_port(self) -> None:
        """Starts on 127.0.0.1 and answers; stop refuses; restart: same port, empty state."""
        moto = EmbeddedMoto()
        try:
            with moto:
                assert moto.running
                assert moto.endpoint_url == f"http://{HOST}:{moto.port}"
                assert HOST == "127.0.0.1"
                assert _status(moto.endpoint_url + "/moto-api/") == 200
                _s3(moto).create_bucket(Bucket="kept-until-restart")
                port = moto.port
                moto.stop()
                assert not moto.running
                with pytest.raises(OSError):
                    socket.create_connection((HOST, port), timeout=0.5).close()
                moto.start()
                assert moto.port == port
                assert moto.running
                assert _s3(moto).list_buckets()["Buckets"] == []
                moto.restart()
                assert moto.running
                assert moto.port == port
            assert not moto.running
        finally:
            moto.stop()

    def test_start_is_idempotent_and_stop_is_safe_twice(self) -> None:
        """start() on a running server and stop() on a stopped one are harmless."""
        moto = EmbeddedMoto()
        moto.stop()
        try:
            assert moto.start() is moto
            proc = moto._proc
            assert moto.start() is moto
            assert moto._proc is proc
        finally:
            moto.stop()
            moto.stop()
        assert not moto.running
