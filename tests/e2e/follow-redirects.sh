#!/bin/sh
# The e2e tests' "system browser" (WARDEN_BROWSER): follows the sign-in page's redirects
# back to Warden's loopback, as a person's browser does once they consent (the test's
# authorization server grants at once). When the file $WARDEN_HOME/refuse-next-sign-in
# exists (a test made it), it is removed and the person refuses instead: the browser goes
# back to Warden with `error=access_denied`, as an identity provider sends it.
if [ -n "$WARDEN_HOME" ] && [ -e "$WARDEN_HOME/refuse-next-sign-in" ]; then
  rm -f "$WARDEN_HOME/refuse-next-sign-in"
  back=$(python3 - "$1" <<'PY'
import sys
import urllib.parse as u

query = dict(u.parse_qsl(u.urlsplit(sys.argv[1]).query))
refusal = {"error": "access_denied", "error_description": "the person said no", "state": query["state"]}
print(query["redirect_uri"] + "?" + u.urlencode(refusal))
PY
  )
  exec curl -sS -o /dev/null "$back"
fi
exec curl -sS -L -o /dev/null "$1"
