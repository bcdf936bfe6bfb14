"""The association inspector's text: the A-ASSOCIATE-RQ decoded, the answer per presentation
context, the rejection in words, every DIMSE exchange, and how it ended. No Qt: plain HTML."""

from __future__ import annotations

from html import escape
from typing import Any

from intu_desktop.dicom import names
from intu_desktop.dicom.diagnosis import visible
from intu_desktop.gui.formatting import duration, human_bytes, local_time

MAX_EXCHANGE_ROWS = 300  # a 3,000-image study: the first ones and a count say enough
OK, BAD, MUTED = "#2E7D32", "#C62828", "#757575"

# PS3.7 §D.3.3.7.1: User Identity Type.
USER_IDENTITY = {1: "username", 2: "username and passcode", 3: "Kerberos service ticket",
                 4: "SAML assertion", 5: "JSON Web Token"}


def _row(label: str, value: Any, *, raw: bool = False) -> str:
    shown = str(value) if raw else escape(str(value))
    return f"<tr><td><b>{escape(label)}</b></td><td>{shown}</td></tr>"


def ae_html(ae: str) -> str:
    """An AE title in a fixed font, with its padding visible; case is kept as sent."""
    if not ae:
        return f"<span style='color:{MUTED}'>(none)</span>"
    return f"<code>'{escape(visible(ae))}'</code>"


def request_html(rec: dict[str, Any]) -> str:
    rq = rec.get("request") or {}
    identity = rq.get("user_identity_type")
    rows = ["<h4>A-ASSOCIATE-RQ (PS3.8 §9.3.2)</h4><table cellspacing='2'>",
            _row("Calling AE", ae_html(str(rec.get("calling_ae", ""))), raw=True),
            _row("Called AE", ae_html(str(rec.get("called_ae", ""))), raw=True),
            _row("Peer", f"{rec.get('peer_host', '')}:{rec.get('peer_port', '')}"
                         + ("  (TLS)" if rec.get("tls") else "")),
            _row("Implementation class UID", rq.get("implementation_class_uid") or "(not sent)"),
            _row("Implementation version", rq.get("implementation_version_name") or "(not sent)"),
            _row("Maximum PDU length", f"{int(rq['maximum_pdu_length']):,} bytes"
                 if rq.get("maximum_pdu_length") else "unlimited (0)" if "maximum_pdu_length" in rq
                 else "(not sent)"),
            _row("User identity", USER_IDENTITY.get(int(identity), f"type {identity}")
                 if identity is not None else "none"),
            _row("Requested", local_time(rec.get("requested_at")))]
    rows.append("</table>")
    return "".join(rows)


def rejection_html(rec: dict[str, Any]) -> str:
    if rec.get("reject_result") is None:
        return ""
    result, source, reason = (int(rec.get(k) or 0) for k in ("reject_result", "reject_source", "reject_reason"))
    return ("<h4>A-ASSOCIATE-RJ (PS3.8 §9.3.4)</h4><table cellspacing='2'>"
            + _row("Result", f"{result}: {names.REJECT_RESULT.get(result, '?')}")
            + _row("Source", f"{source}: {names.REJECT_SOURCE.get(source, '?')}")
            + _row("Reason", f"{reason}: {names.reject_reason_text(result, source, reason)}")
            + "</table>")


def contexts_html(contexts: list[dict[str, Any]]) -> str:
    if not contexts:
        return "<p><i>No presentation contexts were proposed or recorded.</i></p>"
    rows = ["<h4>Presentation contexts (PS3.8 §9.3.2.2, §9.3.3.2)</h4>",
            ("<table border='1' cellspacing='0' cellpadding='3'>"
             "<tr><th>ID</th><th>SOP class</th><th>Proposed transfer syntaxes</th><th>Answer</th></tr>")]
    for cx in contexts:
        abstract = str(cx.get("abstract_syntax", ""))
        proposed = "<br>".join(escape(names.transfer_syntax_name(ts)) for ts in cx.get("transfer_syntaxes", []))
        result = cx.get("result")
        accepted = cx.get("accepted_transfer_syntax")
        if result is None:
            answer, colour = "(not answered)", MUTED
        elif int(result) == 0:
            answer, colour = f"accepted: {names.transfer_syntax_name(accepted or '')}", OK
        else:
            answer, colour = f"{result}: {names.CONTEXT_RESULT.get(int(result), '?')}", BAD
        rows.append(f"<tr><td>{escape(str(cx.get('id', '')))}</td>"
                    f"<td>{escape(names.sop_class_name(abstract))}<br>"
                    f"<small style='color:{MUTED}'>{escape(abstract)}</small></td>"
                    f"<td>{proposed}</td><td style='color:{colour}'>{escape(answer)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def exchanges_html(exchanges: list[dict[str, Any]]) -> str:
    if not exchanges:
        return ""
    rows = [f"<h4>DIMSE exchanges ({len(exchanges)})</h4>",
            ("<table border='1' cellspacing='0' cellpadding='3'>"
             "<tr><th>#</th><th>Service</th><th>SOP instance</th><th>Bytes</th><th>Status (PS3.4)</th>"
             "<th>Duration</th></tr>")]
    for n, x in enumerate(exchanges[:MAX_EXCHANGE_ROWS], 1):
        service = str(x.get("service", ""))
        status = int(x.get("status", 0) or 0)
        colour = OK if status == 0 else ("#E65100" if (status & 0xF000) == 0xB000 else BAD)
        comment = f" ({escape(str(x['comment']))})" if x.get("comment") else ""
        size = human_bytes(x["bytes"]) if x.get("bytes") else ""
        rows.append(f"<tr><td>{n}</td><td>{escape(service)}</td>"
                    f"<td><small>{escape(str(x.get('sop_instance_uid') or ''))}</small></td>"
                    f"<td align='right'>{size}</td>"
                    f"<td style='color:{colour}'>{escape(names.format_status(status, service))}{comment}</td>"
                    f"<td align='right'>{float(x.get('ms', 0.0)):.1f} ms</td></tr>")
    rows.append("</table>")
    if len(exchanges) > MAX_EXCHANGE_ROWS:
        rows.append(f"<p><i>… and {len(exchanges) - MAX_EXCHANGE_ROWS} more.</i></p>")
    return "".join(rows)


def ending_html(rec: dict[str, Any]) -> str:
    state = str(rec.get("state", ""))
    reason = str(rec.get("reason", ""))
    if state == "released":
        text, colour = "Released (A-RELEASE, PS3.8 §7.2): the modality ended it normally.", OK
    elif state == "aborted":
        text, colour = f"Aborted: {reason or 'no reason recorded'}", BAD
    elif state == "rejected":
        text, colour = f"Rejected: {reason or names.reject_text(0, 0, 0)}", BAD
    else:
        text, colour = f"Still open ({state or 'requested'}).", MUTED
    took = duration(rec.get("requested_at"), rec.get("ended_at"))
    summary = (f"{int(rec.get('instances') or 0)} stored, {int(rec.get('failures') or 0)} failed, "
               f"{human_bytes(rec.get('bytes') or 0)}" + (f", {took}" if took else ""))
    return (f"<h4>End</h4><p style='color:{colour}'>{escape(text)}</p>"
            f"<p>{escape(summary)} · channel {escape(str(rec.get('channel_id', '')))}</p>")


def inspector_html(rec: dict[str, Any]) -> str:
    title = f"{ae_html(str(rec.get('calling_ae', '')))} → {ae_html(str(rec.get('called_ae', '')))}"
    # Exchanges and the ending before the contexts: storescu alone proposes 100+ contexts.
    return "".join([f"<h3>{title}</h3>", request_html(rec), rejection_html(rec),
                    exchanges_html(list(rec.get("exchanges") or [])), ending_html(rec),
                    contexts_html(list(rec.get("contexts") or []))])
