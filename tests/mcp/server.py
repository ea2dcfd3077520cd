"""A small MCP server (stdio) built on the official Python SDK, for Warden's tests.

Tools: `echo` (answers with the text), `read_text` (reads a file: inside Warden's
sandbox, credential paths and `boundary.deny_read` stay unreadable; annotated as
read-only), `fail` (always reports an error).
"""

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("warden-test")


@server.tool()
def echo(text: str) -> str:
    """Answer with the text."""
    return "echo: " + text


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def read_text(path: str) -> str:
    """Read a text file."""
    with open(path, encoding="utf-8") as f:
        return f.read()


@server.tool()
def fail(why: str) -> str:
    """Always fails, with the reason given."""
    raise RuntimeError(why)


if __name__ == "__main__":
    server.run()
