"""The review app over real SQLite: access control, CSRF, escaping, decisions, history,
queue filters, import idempotency and the audit export round trip."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from crimedetect.contract import Audit
from crimedetect.io import RejectedLines, load_all, write_contract
from crimedetect.review.app import LOGIN_COOKIE, SESSION_COOKIE, ReviewConfig, create_app
from crimedetect.review.auth import SessionPolicy, add_user, hash_password, verify_password
from crimedetect.review.db import DecisionEvent, SessionRow, dispose_engine, make_engine
from crimedetect.review.export import export_audits
from crimedetect.review.highlight import Span, entry_views, segment
from crimedetect.review.store import QueueFilter, ReviewStore, finding_keys

PASSWORD = "correct horse battery"
SCRIPT = "<script>alert('owned')</script>"


def _span(text: str, phrase: str, entry: int) -> dict[str, Any]:
    start = text.index(phrase)
    return {"entry": entry, "start": start, "end": start + len(phrase), "text": phrase}


def write_fixture(folder: Path) -> dict[str, Path]:
    """Five hand-made records, their crimes and flags (evidence offsets computed, not typed)."""
    t1 = [
        "RP states ex-partner Dean MORRIS has sent over 40 texts saying she will regret it.",
        "Attended. IP has red mark to left cheek, says he slapped her. "
        f"Note left on door: {SCRIPT} & <b>x</b>",
    ]
    t2 = ["Caller says her friend told her she was raped at a party on Saturday; friend scared to report."]
    t3 = ["Bike stolen from shed overnight, lock cut. Later: owner says he will not support a prosecution."]
    t4 = ["Noise complaint, music loud. Words of advice."]
    t5 = ["Fight outside pub. Victim punched, nose broken and bleeding, taken to A&E."]
    records = [
        {
            "record_id": "INC-1",
            "kind": "incident",
            "opened_at": "2017-01-04T21:13:00Z",
            "entries": [
                {"at": "2017-01-04T21:13:00Z", "author": "call handler", "text": t1[0]},
                {"at": "2017-01-04T22:40:00Z", "author": "PC 2231", "text": t1[1]},
            ],
        },
        {
            "record_id": "SG-2",
            "kind": "safeguarding",
            "opened_at": "2017-03-10T09:00:00Z",
            "entries": [{"at": "2017-03-10T09:00:00Z", "author": "PPU", "text": t2[0]}],
        },
        {
            "record_id": "INC-3",  # kind defaults to incident
            "opened_at": "2017-06-01T08:00:00Z",
            "entries": [{"at": "2017-06-01T08:00:00Z", "text": t3[0]}],
        },
        {
            "record_id": "INC-4",
            "kind": "incident",
            "opened_at": "2017-06-02T08:00:00Z",
            "entries": [{"at": "2017-06-02T08:00:00Z", "text": t4[0]}],
        },
        {
            "record_id": "INC-5",
            "kind": "incident",
            "opened_at": "2017-09-09T23:30:00Z",
            "entries": [{"at": "2017-09-09T23:30:00Z", "text": t5[0]}],
        },
    ]
    crimes = [
        {
            "crime_id": "CR-1",
            "record_ids": ["INC-1"],
            "category": "violence_without_injury",
            "victim": "Kelly MORRIS",
        },
        {
            "crime_id": "CR-3",
            "record_ids": ["INC-3"],
            "category": "theft",
            "status": "cancelled",
            "cancellation_reason": "victim does not support",
        },
        {"crime_id": "CR-5", "record_ids": ["INC-5"], "offence_code": "105A", "victim": "Sam LEE"},
    ]
    flags = [
        {
            "record_id": "INC-1",
            "disclosed": [
                {
                    "category": "stalking_harassment",
                    "victim": "Kelly MORRIS",
                    "score": 0.91,
                    "by": ["rules", "model"],
                    "evidence": [_span(t1[0], "has sent over 40 texts saying she will regret it", 0)],
                    "rule_ids": ["harassment.repeated_messages"],
                    "cues": ["asserted", "victim"],
                    "model_score": 0.88,
                },
                {
                    "category": "violence_without_injury",
                    "victim": "Kelly MORRIS",
                    "score": 0.8,
                    "by": ["rules"],
                    # the span covers the <script> too: highlighted text must still be escaped
                    "evidence": [_span(t1[1], f"he slapped her. Note left on door: {SCRIPT}", 1)],
                },
            ],
            "crime_ids": ["CR-1"],
            "findings": [
                {
                    "type": "unrecorded",
                    "category": "stalking_harassment",
                    "score": 0.91,
                    "detail": "not recorded",
                }
            ],
            "priority": 0.91,
        },
        {
            "record_id": "SG-2",
            "disclosed": [
                {
                    "category": "rape",
                    "score": 0.97,
                    "by": ["rules"],
                    "evidence": [_span(t2[0], "she was raped", 0)],
                }
            ],
            "findings": [
                {
                    "type": "n100_missing",
                    "category": "rape",
                    "score": 0.97,
                    "detail": "no rape crime, no N100",
                }
            ],
            "priority": 0.97,
        },
        {
            "record_id": "INC-3",
            "disclosed": [
                {"category": "theft", "score": 0.7, "evidence": [_span(t3[0], "Bike stolen from shed", 0)]}
            ],
            "crime_ids": ["CR-3"],
            "findings": [
                {
                    "type": "cancellation_unsupported",
                    "category": "theft",
                    "score": 0.6,
                    "detail": "cancelled without AVI",
                    "crime_id": "CR-3",
                }
            ],
            "priority": 0.6,
        },
        {"record_id": "INC-4", "priority": 0.0},
        {
            "record_id": "INC-5",
            "disclosed": [
                {
                    "category": "violence_with_injury",
                    "score": 0.75,
                    "evidence": [_span(t5[0], "nose broken and bleeding", 0)],
                }
            ],
            "crime_ids": ["CR-5"],
            "findings": [
                {
                    "type": "misclassified",
                    "category": "violence_with_injury",
                    "score": 0.75,
                    "detail": "injury described, recorded as 105A",
                    "crime_id": "CR-5",
                }
            ],
            "priority": 0.75,
        },
    ]
    paths = {
        "records": folder / "records.jsonl",
        "crimes": folder / "crimes.jsonl",
        "flags": folder / "flags.jsonl",
    }
    for kind, items in (("records", records), ("crimes", crimes), ("flags", flags)):
        write_contract(paths[kind], items, kind)
    return paths


@pytest.fixture
def env(tmp_path: Path) -> Any:
    """A loaded database with one user per role, and a configured app."""
    paths = write_fixture(tmp_path)
    url = f"sqlite:///{tmp_path / 'review.db'}"
    store = ReviewStore(make_engine(url))
    with RejectedLines(tmp_path / "rejected.jsonl") as sink:
        store.import_files(
            flags=paths["flags"], records=paths["records"], crimes=paths["crimes"], rejected=sink
        )
    with store.sessions.begin() as db:
        for name, role in (("sam", "supervisor"), ("alex", "auditor"), ("root", "admin")):
            add_user(db, name, role, PASSWORD)
    app = create_app(ReviewConfig(db_url=url))

    class Env:
        pass

    e = Env()
    e.url, e.store, e.app, e.paths, e.dir = url, store, app, paths, tmp_path
    yield e
    dispose_engine(url)


def client(app: Any) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def login(c: TestClient, user: str = "sam", password: str = PASSWORD) -> str:
    """Log in through the real form; returns the session's CSRF token."""
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"username": user, "password": password, "csrf_token": token, "next": "/"})
    assert r.status_code == 303, r.text
    return c.get("/api/me").json()["csrf_token"]


def form_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def decide(c: TestClient, csrf: str, record_id: str, key: str, current: int = 0, **fields: str) -> Any:
    data = {"csrf_token": csrf, "record_id": record_id, "finding_key": key, "current": str(current), **fields}
    return c.post("/decisions", data=data)


# ---------------------------------------------------------------------------- access


def test_password_hashing_is_salted_and_verifies() -> None:
    a, b = hash_password(PASSWORD), hash_password(PASSWORD)
    assert a != b and a.startswith("scrypt$")
    assert verify_password(PASSWORD, a) and not verify_password("wrong password!", a)
    assert not verify_password(PASSWORD, "garbage")


@pytest.mark.parametrize(
    "path", ["/", "/records/INC-1", "/audit-trail", "/export/audits.jsonl", "/?category=rape"]
)
def test_pages_redirect_to_login_without_session(env: Any, path: str) -> None:
    r = client(env.app).get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    assert "INC-1" not in r.text and "slapped" not in r.text


@pytest.mark.parametrize(
    "path", ["/api/queue", "/api/records/INC-1", "/api/audit-trail", "/api/export", "/api/me"]
)
def test_api_refuses_without_session(env: Any, path: str) -> None:
    r = client(env.app).get(path)
    assert r.status_code == 401
    assert "slapped" not in r.text


def test_post_without_session_is_refused_and_stores_nothing(env: Any) -> None:
    c = client(env.app)
    r = c.post("/decisions", data={"record_id": "INC-1", "finding_key": "x", "decision": "no_crime"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = c.post("/api/decisions", json={"record_id": "INC-1", "finding_key": "x", "decision": "no_crime"})
    assert r.status_code == 401
    assert env.store.recent_events()[1] == 0


def test_wrong_password_refused_and_logged_in_user_sees_queue(env: Any) -> None:
    c = client(env.app)
    page = c.get("/login")
    r = c.post(
        "/login", data={"username": "sam", "password": "nope-nope-nope", "csrf_token": form_csrf(page.text)}
    )
    assert r.status_code == 401 and SESSION_COOKIE not in r.cookies
    login(c)
    r = c.get("/")
    assert r.status_code == 200
    assert "SG-2" in r.text and "INC-1" in r.text


def test_login_throttled_after_repeated_failures(env: Any) -> None:
    c = client(env.app)
    for _ in range(5):
        token = form_csrf(c.get("/login").text)
        c.post("/login", data={"username": "sam", "password": "wrong-password", "csrf_token": token})
    token = form_csrf(c.get("/login").text)
    r = c.post("/login", data={"username": "sam", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429


def test_open_redirect_refused_after_login(env: Any) -> None:
    c = client(env.app)
    token = form_csrf(c.get("/login").text)
    r = c.post(
        "/login",
        data={"username": "sam", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_session_expires_when_idle(env: Any) -> None:
    c = client(env.app)
    login(c)
    with env.store.sessions.begin() as db:
        for row in db.query(SessionRow):
            row.last_seen_at -= SessionPolicy().idle + timedelta(seconds=1)
    assert c.get("/").status_code == 303
    assert c.get("/api/me").status_code == 401


def test_dead_sessions_are_swept_at_login(env: Any) -> None:
    for _ in range(3):
        login(client(env.app))
    with env.store.sessions.begin() as db:
        for row in db.query(SessionRow):
            row.expires_at -= SessionPolicy().absolute
    login(client(env.app))
    with env.store.sessions() as db:
        assert db.query(SessionRow).count() == 1


def test_logout_ends_the_session(env: Any) -> None:
    c = client(env.app)
    login(c)
    token = form_csrf(c.get("/").text)
    assert c.post("/logout", data={"csrf_token": token}).status_code == 303
    assert c.get("/api/me").status_code == 401


# ---------------------------------------------------------------------------- CSRF


def test_forged_csrf_token_refused_on_forms_and_api(env: Any) -> None:
    c = client(env.app)
    csrf = login(c)
    key = finding_keys([{"type": "n100_missing", "category": "rape"}])[0]
    for forged in ("", "forged-token", csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
        r = decide(c, forged, "SG-2", key, decision="n100_raised")
        assert r.status_code == 403
    r = c.post(
        "/api/decisions",
        json={"record_id": "SG-2", "finding_key": key, "decision": "n100_raised"},
        headers={"X-CSRF-Token": "forged"},
    )
    assert r.status_code == 403
    # a correct token from another origin is refused too
    r = c.post(
        "/decisions",
        data={"csrf_token": csrf, "record_id": "SG-2", "finding_key": key, "decision": "n100_raised"},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403
    assert env.store.recent_events()[1] == 0


def test_login_form_needs_its_csrf_token(env: Any) -> None:
    c = client(env.app)
    c.get("/login")
    r = c.post("/login", data={"username": "sam", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403 and SESSION_COOKIE not in r.cookies
    # a token minted for another browser's pre-login cookie does not work either
    other = client(env.app)
    stolen = form_csrf(other.get("/login").text)
    c.cookies.set(LOGIN_COOKIE, "attacker-chosen")
    r = c.post("/login", data={"username": "sam", "password": PASSWORD, "csrf_token": stolen})
    assert r.status_code == 403


# ---------------------------------------------------------------------------- escaping and headers


def test_script_in_record_is_escaped_and_evidence_highlighted(env: Any) -> None:
    c = client(env.app)
    login(c)
    r = c.get("/records/INC-1")
    assert r.status_code == 200
    assert SCRIPT not in r.text and "<b>x</b>" not in r.text
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in r.text
    assert "&amp; &lt;b&gt;x&lt;/b&gt;" in r.text
    marks = re.findall(r'<mark class="ev[^"]*" data-category="([^"]+)"[^>]*>(.*?)</mark>', r.text, re.S)
    cats = {cat for cat, _ in marks}
    assert cats == {"stalking_harassment", "violence_without_injury"}
    highlighted = " ".join(body for _, body in marks)
    assert "has sent over 40 texts saying she will regret it" in highlighted
    assert "&lt;script&gt;" in highlighted  # the escaped script is inside the highlighted span
    # rule ids, cues and model score are beside the evidence; the linked crime is listed
    for expected in ("harassment.repeated_messages", "asserted, victim", "0.88", "CR-1"):
        assert expected in r.text
    api = c.get("/api/records/INC-1").json()
    assert SCRIPT in api["record"]["entries"][1]["text"]  # JSON keeps the data as data
    assert c.get("/api/records/INC-1").headers["content-type"].startswith("application/json")


def test_security_headers_on_every_response(env: Any) -> None:
    c = client(env.app)
    for r in (c.get("/login"), c.get("/"), c.get("/api/queue"), c.get("/static/review.css")):
        assert "script-src" not in r.headers["content-security-policy"]
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
        assert "access-control-allow-origin" not in r.headers
    login(c)
    cookie = [h for h in c.get("/login").headers.get_list("set-cookie")]
    assert all("HttpOnly" in h and "SameSite=strict" in h for h in cookie)


def test_unknown_host_header_refused(env: Any) -> None:
    r = TestClient(env.app, base_url="http://attacker.example").get("/login")
    assert r.status_code == 400


# ---------------------------------------------------------------------------- highlighting


def test_segments_split_overlapping_spans_and_keep_all_text() -> None:
    text = "abcdefghij"
    spans = [Span(0, 2, 6, "theft", 0), Span(0, 4, 8, "robbery", 1)]
    segs = segment(text, spans)
    assert "".join(s.text for s in segs) == text
    assert [(s.text, s.categories, s.labels) for s in segs] == [
        ("ab", (), ()),
        ("cd", ("theft",), ("theft",)),
        ("ef", ("theft", "robbery"), ("robbery",)),
        ("gh", ("robbery",), ()),
        ("ij", (), ()),
    ]


def test_evidence_with_stale_offsets_is_found_by_text_or_listed() -> None:
    record = {"entries": [{"at": "t", "text": "xx he hit her yy"}]}
    disclosed = [
        {
            "category": "violence_without_injury",
            "evidence": [{"entry": 0, "start": 0, "end": 4, "text": "he hit her"}],
        },
        {"category": "theft", "evidence": [{"entry": 3, "start": 0, "end": 2, "text": "gone"}]},
    ]
    views, unplaced = entry_views(record, disclosed)
    assert [s.text for s in views[0].segments if s.highlighted] == ["he hit her"]
    assert [s.category for s in unplaced] == ["theft"]


# ---------------------------------------------------------------------------- decisions and history


def test_decision_persisted_with_user_and_shown_in_history(env: Any) -> None:
    c = client(env.app)
    csrf = login(c)
    key = "unrecorded|stalking_harassment|"
    r = decide(
        c, csrf, "INC-1", key, decision="crime_recorded", category="stalking_harassment", crime_ref="CR-9"
    )
    assert r.status_code == 303, r.text
    first = c.get("/api/records/INC-1").json()["findings"][0]["current"]
    assert first["decision"] == "crime_recorded" and first["user"] == "sam" and first["crime_ref"] == "CR-9"
    # a change of mind is a new event that supersedes the first; nothing is overwritten
    r = decide(
        c, csrf, "INC-1", key, current=first["id"], decision="no_crime", rationale="CCTV shows no contact"
    )
    assert r.status_code == 303
    data = c.get("/api/records/INC-1").json()
    assert [e["decision"] for e in data["history"]] == ["no_crime", "crime_recorded"]
    assert data["history"][0]["supersedes"] == first["id"]
    assert data["findings"][0]["current"]["rationale"] == "CCTV shows no contact"
    page = c.get("/records/INC-1").text
    history = page[page.index("<h2>History</h2>") :]
    assert (
        "No crime (AVI)" in history and "Crime recorded now" in history and "CCTV shows no contact" in history
    )
    assert "sam" in history
    # the same events in a fresh connection: persisted, with user and time
    with env.store.sessions() as db:
        rows = db.query(DecisionEvent).order_by(DecisionEvent.id).all()
    assert [(e.username, e.decision) for e in rows] == [("sam", "crime_recorded"), ("sam", "no_crime")]
    assert all(e.created_at is not None for e in rows)


def test_decision_events_are_append_only_in_the_database(env: Any) -> None:
    c = client(env.app)
    csrf = login(c)
    decide(c, csrf, "SG-2", "n100_missing|rape|", decision="n100_raised")
    engine = make_engine(env.url)
    for statement in (
        "UPDATE review_decision_events SET decision='no_crime'",
        "DELETE FROM review_decision_events",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    assert env.store.recent_events()[1] == 1


def test_no_crime_needs_a_rationale_and_nothing_is_stored_without_it(env: Any) -> None:
    c = client(env.app)
    csrf = login(c)
    r = decide(c, csrf, "SG-2", "n100_missing|rape|", decision="no_crime", rationale="  ")
    assert r.status_code == 400 and "rationale is required" in r.text
    r = decide(c, csrf, "SG-2", "n100_missing|rape|", decision="crime_recorded", category="rape")
    assert r.status_code == 400 and "crime reference" in r.text
    assert env.store.recent_events()[1] == 0


def test_stale_page_gets_a_conflict_not_an_overwrite(env: Any) -> None:
    a, b = client(env.app), client(env.app)
    csrf_a, csrf_b = login(a), login(b, "root")
    key = "n100_missing|rape|"
    assert decide(a, csrf_a, "SG-2", key, decision="n100_raised").status_code == 303
    r = decide(b, csrf_b, "SG-2", key, current=0, decision="refer_fcr")
    assert r.status_code == 409
    assert env.store.recent_events()[1] == 1


def test_auditor_can_read_and_export_but_not_decide(env: Any) -> None:
    c = client(env.app)
    csrf = login(c, "alex")
    assert c.get("/records/INC-1").status_code == 200
    assert 'action="/decisions"' not in c.get("/records/INC-1").text
    r = decide(c, csrf, "SG-2", "n100_missing|rape|", decision="n100_raised")
    assert r.status_code == 403
    assert c.get("/api/export").status_code == 200
    s = client(env.app)
    login(s, "sam")
    assert s.get("/api/export").status_code == 403


def test_json_api_decision_and_audit_trail(env: Any) -> None:
    c = client(env.app)
    r = c.post("/api/session", json={"username": "sam", "password": PASSWORD})
    assert r.status_code == 200
    csrf = r.json()["csrf_token"]
    r = c.post(
        "/api/decisions",
        json={
            "record_id": "SG-2",
            "finding_key": "n100_missing|rape|",
            "decision": "n100_raised",
            "current": 0,
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201 and r.json()["user"] == "sam"
    trail = c.get("/api/audit-trail").json()
    assert trail["total"] == 1 and trail["events"][0]["record_id"] == "SG-2"
    assert "SG-2" in c.get("/audit-trail").text


# ---------------------------------------------------------------------------- queue


def test_queue_sorted_by_priority_with_counts_filters_and_paging(env: Any) -> None:
    c = client(env.app)
    csrf = login(c)
    q = c.get("/api/queue").json()
    assert [i["record_id"] for i in q["items"]] == ["SG-2", "INC-1", "INC-5", "INC-3"]  # INC-4 has no finding
    assert (q["open"], q["decided"]) == (4, 0)
    assert [i["record_id"] for i in c.get("/api/queue?category=theft").json()["items"]] == ["INC-3"]
    assert [i["record_id"] for i in c.get("/api/queue?finding_type=misclassified").json()["items"]] == [
        "INC-5"
    ]
    assert [i["record_id"] for i in c.get("/api/queue?kind=safeguarding").json()["items"]] == ["SG-2"]
    incidents = c.get("/api/queue?kind=incident").json()["items"]  # INC-3's kind is the default
    assert [i["record_id"] for i in incidents] == ["INC-1", "INC-5", "INC-3"]
    dated = c.get("/api/queue?date_from=2017-03-01&date_to=2017-06-01").json()["items"]
    assert [i["record_id"] for i in dated] == ["SG-2", "INC-3"]
    page2 = c.get("/api/queue?per_page=2&page=2").json()
    assert page2["pages"] == 2 and [i["record_id"] for i in page2["items"]] == ["INC-5", "INC-3"]
    assert c.get("/api/queue?category=arson").status_code == 400

    decide(
        c,
        csrf,
        "INC-5",
        "misclassified|violence_with_injury|CR-5",
        decision="already_recorded",
        crime_ref="CR-5",
    )
    q = c.get("/api/queue").json()
    assert (q["open"], q["decided"]) == (3, 1)
    decided = c.get("/api/queue?status=decided").json()["items"]
    assert [(i["record_id"], i["last_decision"]) for i in decided] == [("INC-5", "already_recorded")]
    assert [i["record_id"] for i in c.get("/api/queue?status=open").json()["items"]] == [
        "SG-2",
        "INC-1",
        "INC-3",
    ]
    html = c.get("/?status=decided").text
    assert "Already recorded" in html and 'id="count-decided">1<' in html
    # unknown filter values on the page are reported, not a crash
    assert "ignored" in c.get("/?kind=spaceship").text


def test_queue_filter_parsing() -> None:
    f, errors = QueueFilter.from_params(
        {"category": "rape", "page": "x", "date_to": "2017-13-01", "per_page": "999"}
    )
    assert f.category == "rape" and f.page == 1 and f.date_to is None and f.per_page == 200
    assert len(errors) == 2


# ---------------------------------------------------------------------------- import


def test_import_is_idempotent_and_counts_rejected_lines(env: Any) -> None:
    bad = env.dir / "more_flags.jsonl"
    good = env.paths["flags"].read_text()
    bad.write_text(good + '{"record_id": "X-1", "priority": 7}\nnot json\n')
    with RejectedLines(env.dir / "rej2.jsonl") as sink:
        stats, counts = env.store.import_files(flags=bad, rejected=sink)
    assert (stats[0].read, stats[0].accepted, stats[0].rejected) == (7, 5, 2)
    assert (counts[0].inserted, counts[0].replaced, counts[0].unchanged) == (0, 0, 5)
    assert len((env.dir / "rej2.jsonl").read_text().splitlines()) == 2


def test_reimport_of_changed_flag_keeps_decisions_by_finding_key(env: Any) -> None:
    c = client(env.app)
    csrf = login(c)
    decide(c, csrf, "SG-2", "n100_missing|rape|", decision="n100_raised")
    flags = load_all(env.paths["flags"], "flags")
    flags[1].priority = 0.5  # a re-scan changed the priority only
    write_contract(env.dir / "flags2.jsonl", flags, "flags")
    _, counts = env.store.import_files(flags=env.dir / "flags2.jsonl")
    assert (counts[0].replaced, counts[0].unchanged) == (1, 4)
    q = c.get("/api/queue?status=decided").json()["items"]
    assert [(i["record_id"], i["priority"]) for i in q] == [("SG-2", 0.5)]


# ---------------------------------------------------------------------------- export and CLI


def _decide_all(c: TestClient, csrf: str) -> None:
    for record_id, key, fields in (
        (
            "INC-1",
            "unrecorded|stalking_harassment|",
            {"decision": "crime_recorded", "category": "stalking_harassment", "crime_ref": "CR-100"},
        ),
        ("SG-2", "n100_missing|rape|", {"decision": "n100_raised", "crime_ref": "N100-7"}),
        (
            "INC-3",
            "cancellation_unsupported|theft|CR-3",
            {"decision": "no_crime", "rationale": "bike found in garage (photo)"},
        ),
        ("INC-5", "misclassified|violence_with_injury|CR-5", {"decision": "refer_fcr"}),
    ):
        assert decide(c, csrf, record_id, key, **fields).status_code == 303


def test_export_round_trips_through_the_contract(env: Any) -> None:
    c = client(env.app)
    _decide_all(c, login(c))
    out = env.dir / "audits.jsonl"
    stats = export_audits(env.store, out)
    assert (stats.records_decided, stats.exported, stats.skipped) == (4, 3, {"referred_to_fcr": 1})
    audits = {a.record_id: a for a in load_all(out, "audits")}
    assert isinstance(audits["INC-1"], Audit) and set(audits) == {"INC-1", "SG-2", "INC-3"}
    inc1 = audits["INC-1"]
    assert inc1.auditor == "sam" and inc1.audited_at is not None
    assert sorted((x.category, x.crime_id) for x in inc1.crimes) == [
        ("stalking_harassment", "CR-100"),
        ("violence_without_injury", "CR-1"),
    ]
    harassment = next(x for x in inc1.crimes if x.category == "stalking_harassment")
    assert harassment.evidence == "has sent over 40 texts saying she will regret it"
    assert harassment.victim == "Kelly MORRIS"
    assert audits["SG-2"].n100_required is True and audits["SG-2"].crimes == []
    assert audits["INC-3"].crimes == [] and "bike found in garage" in (audits["INC-3"].notes or "")
    # written again from the parsed models, the file is byte-identical: a true round trip
    again = env.dir / "again.jsonl"
    write_contract(again, load_all(out, "audits"), "audits")
    assert again.read_bytes() == out.read_bytes()
    # the web download is the same audits
    a = client(env.app)
    login(a, "alex")
    assert [json.loads(line) for line in a.get("/export/audits.jsonl").text.splitlines()] == [
        json.loads(line) for line in out.read_text().splitlines()
    ]


def test_export_reclassifies_misclassified_crime(env: Any) -> None:
    c = client(env.app)
    csrf = login(c)
    decide(
        c,
        csrf,
        "INC-5",
        "misclassified|violence_with_injury|CR-5",
        decision="crime_recorded",
        category="violence_with_injury",
        crime_ref="CR-5",
    )
    export_audits(env.store, env.dir / "a.jsonl")
    (audit,) = load_all(env.dir / "a.jsonl", "audits")
    assert [(x.category, x.crime_id, x.victim) for x in audit.crimes] == [
        ("violence_with_injury", "CR-5", "Sam LEE")
    ]


def test_cli_users_and_export(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from crimedetect.cli import app as cli_app

    runner = CliRunner()
    secret_file = env.dir / "pw.txt"
    secret_file.write_text("another long password\n")
    r = runner.invoke(
        cli_app,
        [
            "users",
            "add",
            "casey",
            "--role",
            "supervisor",
            "--db",
            env.url,
            "--password-file",
            str(secret_file),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "another long password" not in r.output
    r = runner.invoke(
        cli_app,
        ["users", "add", "casey", "--role", "boss", "--db", env.url, "--password-file", str(secret_file)],
    )
    assert r.exit_code == 2
    monkeypatch.setenv("CRIMEDETECT_PASSWORD", "short")
    r = runner.invoke(cli_app, ["users", "add", "dana", "--role", "admin", "--db", env.url])
    assert r.exit_code == 2 and "at least" in r.output
    monkeypatch.delenv("CRIMEDETECT_PASSWORD")
    typed = "typed at the prompt 42"
    r = runner.invoke(
        cli_app, ["users", "add", "erin", "--role", "auditor", "--db", env.url], input=f"{typed}\n{typed}\n"
    )
    assert r.exit_code == 0, r.output
    assert "Password" in r.output and typed not in r.output  # prompted, never echoed
    r = runner.invoke(cli_app, ["users", "list", "--db", env.url])
    assert "erin\tauditor" in r.output
    assert "casey\tsupervisor" in r.output
    c = client(env.app)
    login(c, "casey", "another long password")
    _decide_all(c, c.get("/api/me").json()["csrf_token"])
    out = env.dir / "cli_audits.jsonl"
    r = runner.invoke(cli_app, ["review", "export", "--db", env.url, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "3 audits written" in r.output
    assert {a.record_id for a in load_all(out, "audits")} == {"INC-1", "SG-2", "INC-3"}


def test_cli_import_reports_rejected_lines(env: Any) -> None:
    from crimedetect.cli import app as cli_app

    bad = env.dir / "bad_flags.jsonl"
    bad.write_text('{"record_id": "Z", "priority": 2}\n')
    r = CliRunner().invoke(
        cli_app,
        [
            "review",
            "import",
            "--flags",
            str(bad),
            "--db",
            env.url,
            "--rejected",
            str(env.dir / "r.jsonl"),
            "--no-progress",
        ],
    )
    assert r.exit_code == 1
    assert "priority" in (env.dir / "r.jsonl").read_text()


def test_flags_loaded_before_their_records_get_kind_and_date(tmp_path: Path) -> None:
    paths = write_fixture(tmp_path)
    url = f"sqlite:///{tmp_path / 'late.db'}"
    store = ReviewStore(make_engine(url))
    store.import_files(flags=paths["flags"])
    assert [i.record_id for i in store.queue(QueueFilter(kind="safeguarding")).items] == []
    store.import_files(records=paths["records"])
    assert [i.record_id for i in store.queue(QueueFilter(kind="safeguarding")).items] == ["SG-2"]
    dispose_engine(url)


PG_URL_ENV = "CRIMEDETECT_TEST_POSTGRES_URL"


@pytest.mark.skipif(
    not __import__("os").environ.get(PG_URL_ENV),
    reason=f"set {PG_URL_ENV}=postgresql+psycopg://user@127.0.0.1:5432/db to test PostgreSQL",
)
def test_postgresql_end_to_end(tmp_path: Path) -> None:
    """The same flow on PostgreSQL: import, queue filters, decision, trigger, export."""
    import os

    from crimedetect.review.db import Base

    url = os.environ[PG_URL_ENV]
    engine = make_engine(url, create=False)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    paths = write_fixture(tmp_path)
    store = ReviewStore(engine)
    store.import_files(flags=paths["flags"], records=paths["records"], crimes=paths["crimes"])
    _, again = store.import_files(flags=paths["flags"], records=paths["records"], crimes=paths["crimes"])
    assert all(c.unchanged == c.total for c in again)
    with store.sessions.begin() as db:
        add_user(db, "sam", "supervisor", PASSWORD)
    c = client(create_app(ReviewConfig(db_url=url)))
    csrf = login(c)
    assert [i["record_id"] for i in c.get("/api/queue?category=theft").json()["items"]] == ["INC-3"]
    dated = c.get("/api/queue?date_from=2017-03-01&date_to=2017-06-01").json()["items"]
    assert [i["record_id"] for i in dated] == ["SG-2", "INC-3"]
    _decide_all(c, csrf)
    assert c.get("/api/queue").json()["decided"] == 4
    with pytest.raises(DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM review_decision_events"))
    stats = export_audits(store, tmp_path / "pg_audits.jsonl")
    assert stats.exported == 3
    assert {a.record_id for a in load_all(tmp_path / "pg_audits.jsonl", "audits")} == {
        "INC-1",
        "SG-2",
        "INC-3",
    }
    Base.metadata.drop_all(engine)
    dispose_engine(url)


def test_serve_refuses_an_empty_database_and_bad_files(tmp_path: Path) -> None:
    from crimedetect.cli import app as cli_app

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    runner = CliRunner()
    r = runner.invoke(cli_app, ["serve", "--db", url])
    assert r.exit_code == 2 and "no flags" in r.output
    r = runner.invoke(cli_app, ["serve", "--db", url, "--flags", str(tmp_path / "missing_flags.jsonl")])
    assert r.exit_code == 2 and "no such file" in r.output
    dispose_engine(url)


def test_exported_audits_label_records_for_training(env: Any) -> None:
    """What `crimedetect train` does with the export: labels, and the entries holding them."""
    data = pytest.importorskip("crimedetect.model.data", reason="model stage not installed")
    c = client(env.app)
    _decide_all(c, login(c))
    export_audits(env.store, env.dir / "train_audits.jsonl")
    records = load_all(env.paths["records"], "records")
    labelled, unaudited = data.label_records(records, load_all(env.dir / "train_audits.jsonl", "audits"))
    by_id = {item.record.record_id: item for item in labelled}
    assert unaudited == 2  # INC-4 (no finding) and INC-5 (referred to the FCR)
    assert by_id["INC-1"].categories == {"stalking_harassment", "violence_without_injury"}
    assert by_id["INC-1"].located == {"stalking_harassment": {0}, "violence_without_injury": {1}}
    assert by_id["SG-2"].categories == set() and by_id["INC-3"].categories == set()
