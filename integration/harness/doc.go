// Package harness is what the integration tests share: it starts the private MTA instances
// of the harness scripts integration/mta/postfix/harness.sh and
// integration/mta/sendmail/harness.sh on reserved loopback ports (Harness.Up), submits mail
// to them over SMTP (Submit, Send) and reads what reached the instance's smtp-sink
// (Instance.Delivered, ReadSink); it serves a milter engine in process (ServeMilter) and
// skips, or under CI=true fails, a test whose tools are missing (Need). What a test checks
// about one MTA stays in that MTA's package; the shell half the two harness scripts share is
// integration/mta/mta-harness.sh.
//
// The helpers are built with the tag "integration" only, like the tests that use them.
package harness
