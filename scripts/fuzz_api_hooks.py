"""schemathesis hooks of scripts/fuzz-api: keep the run's own accounts out of the way of the
admin's changes.

schemathesis learns usernames and token ids from the answers (`GET /api/v1/users`,
`/auth/me`) and sends them back, so the admin's run would lock, revoke or reset the accounts the
run logs in with, its own included, and every later request of the run would get 401. A change
(any method but GET) aimed at one of those (IOCHUB_FUZZ_PROTECTED: usernames and token ids,
comma-separated) is aimed instead at a stand-in made for it (IOCHUB_FUZZ_STAND_INS: the username
and the token id). The request is otherwise the generated one, and every check applies to its
answer.
"""

import os

import schemathesis

PROTECTED = set(filter(None, os.environ.get("IOCHUB_FUZZ_PROTECTED", "").split(",")))
STAND_IN_USER, STAND_IN_TOKEN = os.environ.get("IOCHUB_FUZZ_STAND_INS", ",").split(",")
STAND_IN = {"username": STAND_IN_USER, "id": STAND_IN_TOKEN}


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.method.upper() == "GET" or not case.path_parameters:
        return
    for name, stand_in in STAND_IN.items():
        if case.path_parameters.get(name) in PROTECTED and stand_in:
            case.path_parameters[name] = stand_in
