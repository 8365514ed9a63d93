"""schemathesis hooks of scripts/fuzz-api: keep the run's own accounts out of the way of the
admin's changes, and the cameras it adds on loopback.

schemathesis learns usernames and token ids from the answers (`GET /api/v1/users`,
`/auth/me`) and sends them back, so the admin's run would lock, revoke or reset the accounts the
run logs in with, its own included, and every later request of the run would get 401. A change
(any method but GET) aimed at one of those (IOCHUB_FUZZ_PROTECTED: usernames and token ids,
comma-separated) is aimed instead at a stand-in made for it (IOCHUB_FUZZ_STAND_INS: the username
and the token id). The request is otherwise the generated one, and every check applies to its
answer.

A camera added or edited (`POST /api/v1/cameras`, `PATCH /api/v1/cameras/{camera}`) with an
rtsp:// URL gets `rtsp://127.0.0.1:9/fuzz` instead (nothing listens there), so that the hub
under fuzzing never connects anywhere but loopback.
"""

import os

import schemathesis

PROTECTED = set(filter(None, os.environ.get("IOCHUB_FUZZ_PROTECTED", "").split(",")))
STAND_IN_USER, STAND_IN_TOKEN = os.environ.get("IOCHUB_FUZZ_STAND_INS", ",").split(",")
STAND_IN = {"username": STAND_IN_USER, "id": STAND_IN_TOKEN}
LOOPBACK_CAMERA = "rtsp://127.0.0.1:9/fuzz"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    cameras_on_loopback(case)
    if case.method.upper() == "GET" or not case.path_parameters:
        return
    for name, stand_in in STAND_IN.items():
        if case.path_parameters.get(name) in PROTECTED and stand_in:
            case.path_parameters[name] = stand_in


def cameras_on_loopback(case):
    if not case.path.startswith("/api/v1/cameras") or not isinstance(case.body, dict):
        return
    for key in ("url", "sub_url"):
        value = case.body.get(key)
        if isinstance(value, str) and value.strip().lower().startswith("rtsp:"):
            case.body[key] = LOOPBACK_CAMERA
