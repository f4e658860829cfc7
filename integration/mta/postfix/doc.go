// Package postfix holds the tests of the Postfix integration files: contrib/postfix/main.cf.snippet
// and master.cf.snippet (the settings documented for users) and harness.sh in this directory
// (the private Postfix instance the integration tests, crash.sh and tools/bench/mta/bench.sh run). The tests
// need Postfix and the build tag "integration":
//
//	go test -tags integration ./integration/mta/postfix/
//
// Without Postfix they skip, except under CI=true, where they fail.
package postfix
