// Command vpim-milter is a milter for Postfix and Sendmail that checks and
// rewrites voice mail (VPIM v1 and v2, IVM), transcodes its audio and hands
// voice-bound mail to a telephony bridge. See README.md for the commands.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  vpim-milter [serve] [-c FILE] [--log-format text|json] [--log-level LEVEL]
  vpim-milter check [-c FILE] [--from ADDR] [--rcpt ADDR]... [--json] FILE|-
  vpim-milter rewrite [-c FILE] [--from ADDR] [--rcpt ADDR]... FILE|-
  vpim-milter transcode --to FMT [--from FMT] IN|- OUT|-
  vpim-milter addr [--json] ADDRESS...
  vpim-milter config [-c FILE]
  vpim-milter version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(args, stderr)
	case "check":
		return runCheck(args, stdin, stdout, stderr, false)
	case "rewrite":
		return runCheck(args, stdin, stdout, stderr, true)
	case "transcode":
		return runTranscode(args, stdin, stdout, stderr)
	case "addr":
		return runAddr(args, stdout, stderr)
	case "config":
		return runConfig(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "vpim-milter: unknown command %q\n%s", cmd, usage)
	return 2
}
