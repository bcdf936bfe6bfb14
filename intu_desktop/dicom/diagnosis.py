"""Why was it refused? Hints that compare an association with the channel's configuration.

Pure functions over an AssociationRecord and a DicomListenerConfig, so the window, the
command line and tests share one explanation (issue 7).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from intu_desktop.dicom import names


@dataclass(frozen=True)
class Fix:
    """A one-click change to the channel file, staged in the editor before saving."""

    key_path: tuple[str | int, ...]
    value: Any
    description: str
    append: bool = False  # add `value` to the list at key_path instead of replacing


@dataclass(frozen=True)
class Hint:
    title: str
    detail: str
    fix: Fix | None = None


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (AE titles are at most 16 characters: the quadratic cost is nothing)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def near_match(value: str, candidates: Iterable[str]) -> str | None:
    """The configured title the sender probably meant: same text but for case or surrounding
    spaces, or one or two edits away. None when nothing is close, or it is an exact match."""
    best: tuple[int, str] | None = None
    for cand in candidates:
        if cand == value:
            return None
        if cand.strip().upper() == value.strip().upper():
            return cand
        distance = edit_distance(value.strip().upper(), cand.strip().upper())
        if distance <= 2 and (best is None or distance < best[0]):
            best = (distance, cand)
    return best[1] if best else None


def visible(ae: str) -> str:
    """An AE title with its padding made visible ('CT1··' for trailing spaces)."""
    return ae.replace(" ", "·") if ae != ae.strip() else ae


def _calling_hint(rec: Any, cfg: Any) -> Hint:
    allowed = list(cfg.calling_ae_titles)
    guess = near_match(rec.calling_ae, allowed)
    fix = Fix(("listener", "dicom", "calling_ae_titles"), rec.calling_ae.strip(),
              f"allow the calling AE title {rec.calling_ae.strip()}", append=True)
    if guess is not None:
        why = ("differs only in case or spaces" if guess.strip().upper() == rec.calling_ae.strip().upper()
               else "is one or two letters away")
        return Hint(f"Calling AE title {visible(rec.calling_ae)!r} is not allowed: did you mean {guess}?",
                    f"The modality calls itself {visible(rec.calling_ae)!r}, which {why} from {guess!r} in "
                    f"calling_ae_titles. Correct the AE title on the modality, or allow this one.", fix)
    return Hint(f"Calling AE title {visible(rec.calling_ae)!r} is not allowed",
                f"This channel accepts only {', '.join(allowed)}. Add the modality's AE title to "
                f"calling_ae_titles, or leave the list empty to accept any calling AE.", fix)


def _called_hint(rec: Any, cfg: Any) -> Hint:
    guess = near_match(rec.called_ae, [cfg.ae_title])
    lead = f"did you mean {cfg.ae_title}? " if guess else ""
    return Hint(f"The modality called {visible(rec.called_ae)!r}, but this channel is {cfg.ae_title!r}",
                f"{lead}Set the called AE title on the modality to {cfg.ae_title}, or change this channel's "
                f"ae_title.", Fix(("listener", "dicom", "ae_title"), rec.called_ae.strip(),
                                  f"accept the called AE title {rec.called_ae.strip()}"))


def _context_hints(rec: Any) -> list[Hint]:
    refused = [c for c in rec.contexts if c.get("result") not in (None, 0)]
    if not refused or any(c.get("result") == 0 for c in rec.contexts):
        return []  # something was accepted: a partial refusal is not why nothing arrived
    hints = []
    no_ts = [c for c in refused if c.get("result") == 4]
    if no_ts:
        syntaxes = sorted({names.transfer_syntax_name(ts) for c in no_ts for ts in c.get("transfer_syntaxes", [])})
        hints.append(Hint("No acceptable transfer syntax",
                          "The modality proposed only " + ", ".join(syntaxes) +
                          ", which this receiver cannot store. Ask for Explicit VR Little Endian or a standard "
                          "compressed syntax on the modality."))
    no_class = [c for c in refused if c.get("result") == 3]
    if no_class:
        classes = sorted({names.sop_class_name(c.get("abstract_syntax", "")) for c in no_class})
        hints.append(Hint("Service not offered here",
                          "The modality asked for " + ", ".join(classes) +
                          "; this channel is a storage (C-STORE) and verification (C-ECHO) receiver only."))
    return hints


def _tls_hint(reason: str) -> Hint:
    if "plain" in reason and "TLS port" in reason or "never started TLS" in reason:
        return Hint("A plain (non-TLS) connection reached this TLS port",
                    "The channel requires TLS. Turn TLS on at the modality (DICOM TLS, usually port 2762), "
                    "or use a channel without TLS for this modality.")
    if "started a TLS handshake on this plain" in reason:
        return Hint("A TLS connection reached this plain port",
                    "The modality uses TLS but this channel does not. Configure tls on the channel, or turn "
                    "TLS off at the modality.")
    if "older than 1.2" in reason:
        return Hint("The modality's TLS version is too old",
                    "Only TLS 1.2 and 1.3 are accepted. Update the modality's TLS settings.")
    if "no client certificate" in reason:
        return Hint("The modality sent no client certificate",
                    "This channel requires mutual TLS (client_auth: require). Install a client certificate "
                    "signed by the channel's CA on the modality.")
    if "not trusted" in reason or "expired" in reason:
        return Hint("The modality's certificate was not accepted",
                    "Its certificate is not signed by the CA in ca_file, or it has expired. " + reason)
    return Hint("TLS handshake failed", reason)


def explain(rec: Any, cfg: Any) -> list[Hint]:
    """Hints for one association record (AssociationRecord) against its channel's listener config."""
    hints: list[Hint] = []
    if rec.state == "rejected":
        key = (rec.reject_source, rec.reject_reason)
        if key == (1, 3):
            if cfg.calling_ae_hosts.get(rec.calling_ae.strip()):
                hints.append(Hint(f"{rec.calling_ae} may not connect from {rec.peer_host}",
                                  f"calling_ae_hosts binds it to {', '.join(cfg.calling_ae_hosts[rec.calling_ae.strip()])}."))
            else:
                hints.append(_calling_hint(rec, cfg))
        elif key == (1, 7):
            hints.append(_called_hint(rec, cfg))
        elif key == (3, 2):
            hints.append(Hint("Too many associations at once",
                              f"The channel allows {cfg.max_associations} at a time (max_associations); the "
                              "modality was told to retry later. Raise the limit if this happens often."))
        else:
            hints.append(Hint("Association rejected", rec.reason or names.reject_text(
                rec.reject_result or 0, rec.reject_source or 0, rec.reject_reason or 0)))
    elif rec.reason.startswith("TLS") or "TLS" in rec.reason and not rec.calling_ae:
        hints.append(_tls_hint(rec.reason))
    elif "PDU of" in rec.reason:
        hints.append(Hint("The modality sent a PDU larger than agreed",
                          f"{rec.reason}. Check the modality's maximum PDU setting, or raise max_pdu_length."))
    elif rec.reason and not rec.calling_ae:
        hints.append(Hint("Not a DICOM association", rec.reason))
    hints.extend(_context_hints(rec))
    slow = slow_link(store_times(rec.exchanges))
    if slow is not None:
        hints.append(slow)
    return hints


def store_times(exchanges: Sequence[dict[str, Any]]) -> list[float]:
    """Seconds each object spent on the wire: from our answer to one C-STORE to the end of the
    next one's arrival, without our own storing time, so a slow disk does not look like a slow link."""
    stores = [e for e in exchanges if e.get("service") == "C-STORE" and e.get("status") == 0]
    gaps = []
    for prev, cur in zip(stores, stores[1:]):
        started = float(cur["at"]) - float(cur.get("ms", 0.0)) / 1000
        gaps.append(max(0.0, started - float(prev["at"])))
    return gaps


SLOW_LINK_FLOOR, SLOW_LINK_CEILING = 0.030, 0.110  # 40 ms delayed ACK, plus transfer and load


def slow_link(round_trips: Sequence[float], min_objects: int = 5) -> Hint | None:
    """The Nagle/delayed-ACK signature: a floor near 40 ms under most per-object round trips."""
    if len(round_trips) < min_objects:
        return None
    median = statistics.median(round_trips)
    above_floor = [t for t in round_trips if t >= SLOW_LINK_FLOOR]
    if not SLOW_LINK_FLOOR <= median <= SLOW_LINK_CEILING or len(above_floor) < 0.7 * len(round_trips):
        return None
    median_ms = median * 1000
    return Hint(
        f"Slow link: each object waits about {median_ms:.0f} ms",
        "Per-object round trips cluster around 40 ms: the sender's Nagle algorithm is waiting for the "
        "receiver's delayed TCP acknowledgement. Turn TCP_NODELAY on at the sender if it has the option "
        "(DCMTK: environment TCP_NODELAY=1), or keep tcp_tuning on for this channel so the receiver "
        "acknowledges at once. A study of 1,000 images then arrives in seconds instead of a minute.")
