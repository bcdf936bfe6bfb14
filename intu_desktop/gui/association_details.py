"""The details pane of an association as HTML: the request, what was proposed, what we answered."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

from intu_desktop.dicom import names
from intu_desktop.gui.formatting import duration, human_bytes, local_time


def _row(label: str, value: Any) -> str:
    return f"<tr><td><b>{escape(label)}</b></td><td>{escape(str(value))}</td></tr>"


def association_html(rec: dict[str, Any]) -> str:
    request = rec.get("request") or {}
    state = str(rec.get("state", ""))
    parts = [
        f"<h3>{escape(str(rec.get('calling_ae', '')))} → {escape(str(rec.get('called_ae', '')))}</h3>",
        "<table cellspacing='2'>",
        _row("State", state),
    ]
    if rec.get("reason"):
        parts.append(_row("Reason", rec["reason"]))
    if rec.get("reject_result") is not None:
        parts.append(
            _row(
                "A-ASSOCIATE-RJ",
                f"result {rec['reject_result']}, source {rec['reject_source']}, "
                f"reason {rec['reject_reason']} (PS3.8 §9.3.4)",
            )
        )
    parts += [
        _row("Peer", f"{rec.get('peer_host', '')}:{rec.get('peer_port', '')}"),
        _row("TLS", "yes" if rec.get("tls") else "no"),
        _row("Channel", rec.get("channel_id", "")),
        _row("Requested", local_time(rec.get("requested_at"))),
        _row("Duration", duration(rec.get("requested_at"), rec.get("ended_at")) or "(open)"),
        _row("Instances", f"{rec.get('instances', 0)} stored, {rec.get('failures', 0)} failed"),
        _row("Bytes", human_bytes(rec.get("bytes") or 0)),
    ]
    if request.get("implementation_class_uid"):
        parts.append(
            _row(
                "Implementation",
                f"{request.get('implementation_class_uid')} "
                f"{request.get('implementation_version_name', '')}".strip(),
            )
        )
    if request.get("maximum_pdu_length") is not None:
        parts.append(_row("Peer max PDU", request.get("maximum_pdu_length")))
    parts.append("</table>")
    parts.append(_contexts_html(rec.get("contexts") or [], rec.get("exchanges") or []))
    parts.append(_exchanges_html(rec.get("exchanges") or []))
    return "".join(parts)


def _contexts_html(contexts: list[dict[str, Any]], exchanges: list[dict[str, Any]]) -> str:
    if not contexts:
        return "<p><i>No presentation contexts recorded.</i></p>"
    used = Counter(
        str(x.get("sop_class_uid", "")) for x in exchanges if x.get("service") == "C-STORE"
    )
    accepted = sum(1 for cx in contexts if cx.get("result") == 0)
    # Senders such as storescu propose every storage class they know: the ones this
    # association actually used come first.
    ordered = sorted(
        contexts, key=lambda cx: (str(cx.get("abstract_syntax", "")) not in used, cx.get("id", 0))
    )
    rows = [
        "<h4>Presentation contexts (PS3.8 §9.3.2.2)</h4>",
        f"<p>{len(contexts)} proposed, {accepted} accepted",
        (
            ", used: "
            + ", ".join(escape(f"{names.sop_class_name(uid)} ({n})") for uid, n in used.items())
        )
        if used
        else "",
        "</p>",
        (
            "<table border='1' cellspacing='0' cellpadding='3'>"
            "<tr><th>ID</th><th>SOP class</th><th>Proposed transfer syntaxes</th><th>Answer</th>"
            "<th>Accepted transfer syntax</th><th>Objects</th></tr>"
        ),
    ]
    for cx in ordered:
        abstract = str(cx.get("abstract_syntax", ""))
        proposed = "<br>".join(
            escape(names.transfer_syntax_name(ts)) for ts in cx.get("transfer_syntaxes", [])
        )
        result = cx.get("result")
        answer = (
            "(not answered)"
            if result is None
            else names.CONTEXT_RESULT.get(int(result), f"result {result}")
        )
        colour = "#2E7D32" if result == 0 else ("#C62828" if result is not None else "#757575")
        accepted_ts = cx.get("accepted_transfer_syntax")
        rows.append(
            f"<tr><td>{escape(str(cx.get('id', '')))}</td>"
            f"<td title='{escape(abstract)}'>{escape(names.sop_class_name(abstract))}</td>"
            f"<td>{proposed}</td><td style='color:{colour}'>{escape(answer)}</td>"
            f"<td>{escape(names.transfer_syntax_name(accepted_ts)) if accepted_ts else ''}</td>"
            f"<td>{used.get(abstract, '') or ''}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _exchanges_html(exchanges: list[dict[str, Any]]) -> str:
    if not exchanges:
        return ""
    counts = Counter((str(x.get("service", "")), int(x.get("status", 0))) for x in exchanges)
    lines = ["<h4>DIMSE exchanges</h4><ul>"]
    for (service, status), n in sorted(counts.items()):
        lines.append(
            f"<li>{n} × {escape(service)}: {escape(names.format_status(status, service))}</li>"
        )
    lines.append("</ul>")
    failed = [x for x in exchanges if int(x.get("status", 0)) not in (0,)][:20]
    if failed:
        lines.append("<p><b>Refused objects</b></p><ul>")
        for x in failed:
            lines.append(
                f"<li>{escape(str(x.get('sop_instance_uid', '')))}: 0x{int(x.get('status', 0)):04X} "
                f"{escape(str(x.get('comment', '')))}</li>"
            )
        lines.append("</ul>")
    return "".join(lines)
