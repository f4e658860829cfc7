// Package sendmail holds the tests of the Sendmail integration files:
// contrib/sendmail/sendmail.mc.snippet (the INPUT_MAIL_FILTER lines documented for users) and
// harness.sh in this directory (the private Sendmail instance the integration tests run). The tests need the unpacked Sendmail
// (harness.sh install) and the build tag "integration":
//
//	go test -tags integration ./integration/mta/sendmail/
//
// Without Sendmail they skip, except under CI=true, where they fail.
package sendmail
