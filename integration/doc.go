// Package integration holds the tests that run vpim-milter against real
// MTAs (a private Postfix and a private Sendmail started by the harness
// scripts in integration/mta/), OpenDKIM's miltertest and the built binary. They
// need the build tag "integration" and the tools .ci/run installs; without
// them they skip, except under CI=true, where a missing tool fails.
package integration
