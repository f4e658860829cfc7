// Package miltertest holds the tests of the Lua scripts in this directory, which drive a
// running milter with OpenDKIM's miltertest (a libmilter-based MTA simulator, independent of
// the Go milter library vpim-milter uses). The tests serve milter/testengine in process and
// run every script against it over TCP and a unix socket. They need miltertest
// (apt-get install -y miltertest) and the build tag "integration":
//
//	go test -tags integration ./integration/miltertest/
//
// Without miltertest they skip, except under CI=true, where they fail.
package miltertest
