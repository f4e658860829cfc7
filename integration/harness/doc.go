// Package harness runs the private MTA harnesses integration/mta/postfix/harness.sh and
// integration/mta/sendmail/harness.sh for their own tests: it starts an instance on free loopback
// ports, sends mail to it over SMTP and reads what reached the instance's smtp-sink. What a
// test checks about one MTA stays in that MTA's package; this package holds what the two
// harnesses have in common, as their shell half does in ../mta-harness.sh.
//
// The helpers are built with the tag "integration" only, like the tests that use them.
package harness
