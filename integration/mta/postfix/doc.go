// Package postfix holds the tests of the Postfix integration files in this directory:
// main.cf.snippet and master.cf.snippet (the settings documented for users) and harness.sh
// (the private Postfix instance the integration tests, bench.sh and crash.sh run). The tests
// need Postfix and the build tag "integration":
//
//	go test -tags integration ./contrib/postfix/
//
// Without Postfix they skip, except under CI=true, where they fail.
package postfix
