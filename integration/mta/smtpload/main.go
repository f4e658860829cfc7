// Command smtpload sends numbered test messages over SMTP and checks where they ended up.
// integration/mta/postfix/crash.sh uses it to prove that a milter crash loses and duplicates nothing:
// smtp-source reports no per-message result, smtpload does.
//
//	smtpload send -addr 127.0.0.1:2525 -n 2000 -s 10 -run RUNID -ids accepted.txt
//	    sends n messages over s parallel sessions, each with a unique X-Load-ID and
//	    Message-ID; writes the ID of every message that got a 2xx after DATA to -ids
//	    (one per line, as soon as the reply arrives) and prints one line
//	    "sent=N accepted=A tempfail=T reject=R error=E". Exit 0 when every message
//	    got a definite SMTP answer (error=0), 1 otherwise.
//	smtpload verify -ids accepted.txt -sink DIR
//	    reads every file in DIR (smtp-sink -d writes one per message) and prints
//	    "accepted=A delivered=D once=O duplicated=X missing=M unexpected=U foreign=F".
//	    Exit 0 when every accepted ID was delivered exactly once and nothing else was.
//
// Only the standard library is used (net/textproto), so it builds wherever Go does.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: smtpload send|verify [flags]  (smtpload CMD -h for flags)")
		return 2
	}
	switch args[0] {
	case "send":
		return runSend(args[1:], stdout, stderr)
	case "verify":
		return runVerify(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "smtpload: unknown command %q (want send or verify)\n", args[0])
		return 2
	}
}
