"""Where the room can reach this server: the viewer URL per LAN address, and a QR code of a link."""

import io
import ipaddress
import socket

import psutil
import segno

LOOPBACK_HINT = (
    "the server listens on {host} only: phones and other computers cannot reach it. "
    "Restart it with `normscope serve --host 0.0.0.0` (or NORMSCOPE_HOST=0.0.0.0) on the lecture network."
)


def _usable(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def lan_addresses(host: str) -> list[str]:
    """The addresses a viewer on the network can open for a server bound to `host` (none for loopback)."""
    if host in ("0.0.0.0", "::", ""):
        families = (socket.AF_INET,) if host == "0.0.0.0" else (socket.AF_INET, socket.AF_INET6)
        found = [
            a.address
            for addrs in psutil.net_if_addrs().values()
            for a in addrs
            if a.family in families and _usable(a.address)
        ]
        return sorted(set(found), key=lambda a: (":" in a, a))  # IPv4 first: what people type
    try:
        return [host] if _usable(host) else []
    except ValueError:  # a host name: the room resolves it as we do
        return [host]


def base_url(address: str, port: int) -> str:
    return f"http://[{address}]:{port}" if ":" in address else f"http://{address}:{port}"


def viewer_urls(host: str, port: int) -> tuple[list[str], str | None]:
    """(base URLs for the room, a hint when there is none)."""
    urls = [base_url(a, port) for a in lan_addresses(host)]
    if urls:
        return urls, None
    shown = host if host not in ("0.0.0.0", "::", "") else "every address, but this machine has no network"
    return [], LOOPBACK_HINT.format(host=shown)


def qr_svg(text: str) -> bytes:
    """A QR code as SVG, made here (no network): black on white with the standard quiet zone."""
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="svg", scale=10, border=4, xmldecl=False)
    return buf.getvalue()
