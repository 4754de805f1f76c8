"""The app as an MCP server: one tool, driven by the mcp client over streamable HTTP against the launched app."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from tests.helpers import facts
from tests.ui.conftest import launched

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def mcp_app(tmp_path_factory: pytest.TempPathFactory):
    demo = launched({"AVATAR_DATA_DIR": str(tmp_path_factory.mktemp("mcpdata")), "AVATAR_MCP": "1"})
    yield demo
    demo.close()


def data_uri(path: Path, kind: str) -> str:
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


async def test_one_tool_is_listed_with_its_docstring(mcp_app) -> None:
    async with streamablehttp_client(f"{mcp_app.test_url}/gradio_api/mcp/") as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
    assert [t.name for t in tools] == ["make_avatar_video"]
    tool = tools[0]
    assert tool.description.startswith("Make a talking-avatar video")
    assert {"image", "audio", "prompt", "mode", "provider"} <= set(tool.inputSchema["properties"])
    assert set(tool.inputSchema.get("required", [])) == {"image", "audio"}


async def test_a_call_with_the_local_provider_returns_a_playable_video(mcp_app, media_dir: Path, tmp_path: Path) -> None:
    async with streamablehttp_client(f"{mcp_app.test_url}/gradio_api/mcp/") as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("make_avatar_video", {
            "image": data_uri(media_dir / "portrait.jpg", "image/jpeg"),
            "audio": data_uri(media_dir / "speech.mp3", "audio/mpeg"), "prompt": "a nod", "provider": "local"})
    assert not result.isError, result.content
    text = " ".join(getattr(c, "text", "") or str(getattr(c, "resource", "")) for c in result.content)
    url = re.search(r"https?://\S+?\.mp4", text)
    assert url, text
    video = tmp_path / "tool.mp4"
    video.write_bytes(httpx.get(url.group(0), timeout=30).content)
    assert facts(video).video_codec == "h264" and facts(video).duration_s == pytest.approx(3.0, abs=0.2)


async def test_refusals_come_back_as_the_apps_own_message(mcp_app, media_dir: Path) -> None:
    """Same rules as the web API: a missing key names the variable."""
    async with streamablehttp_client(f"{mcp_app.test_url}/gradio_api/mcp/") as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("make_avatar_video", {
            "image": data_uri(media_dir / "portrait.jpg", "image/jpeg"),
            "audio": data_uri(media_dir / "speech.mp3", "audio/mpeg"), "provider": "kling"})
    assert result.isError
    assert "KLING_API_KEY" in " ".join(getattr(c, "text", "") for c in result.content)


@pytest.fixture(scope="module")
def paid_mcp_app(sim, tmp_path_factory: pytest.TempPathFactory):
    """The MCP server with the simulated gateways and their keys."""
    from tests.conftest import KEYS

    demo = launched({**sim.env(), **KEYS, "AVATAR_DATA_DIR": str(tmp_path_factory.mktemp("mcp-paid")),
                     "AVATAR_MCP": "1"})
    yield demo
    demo.close()


async def test_a_photo_without_a_face_is_held_back_unless_the_caller_allows_it(paid_mcp_app, sim, media_dir: Path) -> None:
    """No face: refused with the way on, nothing sent; allow_no_face=True sends it."""
    arguments = {"image": data_uri(media_dir / "drawing.jpg", "image/jpeg"),
                 "audio": data_uri(media_dir / "speech.mp3", "audio/mpeg"), "provider": "kling"}
    before = sim.state.creates.get("kling", 0)
    async with streamablehttp_client(f"{paid_mcp_app.test_url}/gradio_api/mcp/") as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        held = await session.call_tool("make_avatar_video", arguments)
        assert held.isError
        assert "No face found in" in " ".join(getattr(c, "text", "") for c in held.content)
        assert sim.state.creates.get("kling", 0) == before
        sent = await session.call_tool("make_avatar_video", {**arguments, "allow_no_face": True})
    assert not sent.isError, sent.content
    assert sim.state.creates.get("kling", 0) == before + 1
