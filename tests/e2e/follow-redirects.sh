#!/bin/sh
# The e2e tests' "system browser" (WARDEN_BROWSER): follows the sign-in page's redirects
# back to Warden's loopback, as a person's browser does once they consent (the test's
# authorization server grants at once).
exec curl -sS -L -o /dev/null "$1"
